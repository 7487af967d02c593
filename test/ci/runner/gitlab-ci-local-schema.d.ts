// gitlab-ci-local ships GitLab's ci.json schema as an ES module without types.
declare module "gitlab-ci-local/src/schema/schema.js" {
  export const schema: Record<string, unknown>;
}
