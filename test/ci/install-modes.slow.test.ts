/**
 * The install step in the two modes the end-to-end runs do not use (they
 * install the released tarball): in this repository, built from the checkout
 * (KUBELET_NOKMEM empty: npm ci && npm run build, then the bin; GitHub
 * workflow), and in a consumer repository from a git ref of this project
 * (git+file://…#<commit>, without the npm registry having the package; GitLab
 * pipeline, whose child pipeline is then empty). Each run goes through the
 * plan job to a real `matrix` call; with no pins nothing is built. Each mode
 * costs an `npm ci` and a build, so each runs on one engine: the install
 * scripts of the two engines are the same shell (test/ci/templates.test.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.js";
import { makeConsumer, type Consumer } from "./runner/consumer.js";
import { runWorkflow } from "./runner/github.js";
import { runPipeline } from "./runner/gitlab.js";
import { git } from "../fixtures/k8s-tree.js";

let tmp: string;
let self: string;
let head: string;
let consumer: Consumer;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "kn-ci-install-"));
  // This repository as its own CI sees it: the committed HEAD on main.
  self = join(tmp, "kubelet-nokmem.git");
  head = git(ROOT, ["rev-parse", "HEAD"]);
  git(tmp, ["clone", "--quiet", "--bare", ROOT, self]);
  git(self, ["update-ref", "refs/heads/main", head]);
  git(self, ["symbolic-ref", "HEAD", "refs/heads/main"]);
  consumer = makeConsumer(join(tmp, "consumer"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("install step, GitHub workflow", () => {
  it("in this repository: builds the checkout and runs its bin", async () => {
    const r = await runWorkflow({ workflow: "ci/github/nokmem-kubelets.yml", origin: self, branch: "main", event: "schedule", work: join(tmp, "gh-self"), only: ["plan"] });
    const install = r.jobs[0]!.steps.find((s) => s.name === "Install kubelet-nokmem")!;
    expect(install.outcome, install.log).toBe("success");
    expect(install.log).toMatch(/^0\.\d+\.\d+$/m);
    expect(r.jobs[0]!.outputs).toMatchObject({ matrix: '{"include":[]}', empty: "true" });
  });

  it("in a consumer repository without KUBELET_NOKMEM: fails with the fix", async () => {
    const r = await runWorkflow({ workflow: ".github/workflows/nokmem-kubelets.yml", origin: consumer.origin, branch: "main", event: "schedule", work: join(tmp, "gh-none"), only: ["plan"] });
    const install = r.jobs[0]!.steps.find((s) => s.name === "Install kubelet-nokmem")!;
    expect(install.outcome).toBe("failure");
    expect(install.log).toMatch(/set the variable KUBELET_NOKMEM to a release tarball URL or git ref/);
  });
});

describe("install step, GitLab pipeline", () => {
  it("in a consumer repository: installs a git ref of this project; the empty child pipeline still runs", async () => {
    const r = await runPipeline({ origin: consumer.origin, branch: "main", source: "schedule", projectVariables: { KUBELET_NOKMEM: `git+file://${self}#${head}` }, work: join(tmp, "gl-git") });
    expect(r.jobs.find((j) => j.job === "plan")!.status, r.jobs.map((j) => j.log).join("\n")).toBe("success");
    expect(r.status).toBe("success");
    expect(Object.fromEntries(r.jobs.map((j) => [j.job, j.status]))).toEqual({ plan: "success", "nothing to build": "success", build: "success" });
  });
});
