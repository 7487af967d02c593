/**
 * The GitLab pipeline run the way GitLab and a shell runner would
 * (test/ci/runner/gitlab.ts), end to end on one fixture release in a consumer
 * repository that starts with no pins: a pipeline run by hand with RELEASES
 * builds 1.16.15 and the node's runc 1.0.0-rc93 (a mixed matrix: each job
 * built with its product's command) in Docker through the generated child
 * pipeline, whose propose job pins both (pins and runcPins) and opens a merge
 * request by push options (and leaves pins.diff); once merged, the push
 * pipeline verifies both against their pins and, with KUBELET_NOKMEM_PACKAGE
 * set and no key variable, the child pipeline's package job makes an
 * unsigned yum and apt repository of the verified kubelet, saying so (the RPM
 * in its artifact verifies against the pin); a pin with one changed byte
 * fails the pipeline. Every configuration, the child
 * pipeline included, passes GitLab's ci.json schema on the way.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { git } from "../fixtures/k8s-tree.js";
import { makeRuncTree } from "../fixtures/runc-tree.js";
import { catalogAt, CI_IMAGE as IMAGE, commitPinDrift, expectPinnedRpm, mergeProposal, startConsumer } from "./runner/consumer.js";
import { runPipeline, type GitlabRun, type GitlabRunOptions } from "./runner/gitlab.js";

const start = startConsumer("kn-ci-gitlab-");
let runs = 0;
/** The runc source a team names with the CI/CD variable RUNC_SOURCE. */
let runcSource: string;
const RUNC_JOB = "runc 1.0.0-rc93 linux/amd64";

beforeAll(async () => {
  runcSource = (await makeRuncTree(join(start.tmp, "runc"), { era: "rc93", git: true })).dir;
});

function run(o: Partial<GitlabRunOptions> & Pick<GitlabRunOptions, "source">): Promise<GitlabRun> {
  runs++;
  return runPipeline({ origin: start.consumer.origin, branch: "main", projectVariables: { ...start.variables, RUNC_SOURCE: runcSource, KUBELET_NOKMEM_PUSH_TOKEN: "glpat-harness", KUBELET_NOKMEM_PACKAGE: "rpm,deb" }, work: join(start.tmp, `pipeline-${runs}`), ...o });
}

const job = (r: GitlabRun, name: string) => r.jobs.find((j) => j.job === name);
const statuses = (r: GitlabRun) => Object.fromEntries(r.jobs.map((j) => [j.job, j.status]));
const logs = (r: GitlabRun) => [...r.errors, ...r.jobs.map((j) => `[${j.job} · ${j.status}]\n${j.log}`)].join("\n");

describe("GitLab pipeline, run as GitLab and a shell runner would", () => {
  it("a push that does not touch versions.json creates no pipeline", async () => {
    const r = await run({ source: "push", changed: ["README.md"] });
    expect(r.created).toBe(false);
    expect(r.errors.join()).toMatch(/rules configuration prevented any jobs/);
  });

  it("bootstrap of a kubelet and a runc → build in Docker → merge request with the pins → verified rollout; a changed byte fails it", async () => {
    // 1. Run pipeline (web) with the releases to start from: a kubelet and the node's runc.
    const boot = await run({ source: "web", pipelineVariables: { RELEASES: "1.16.15,runc@1.0.0-rc93" } });
    expect(boot.created, logs(boot)).toBe(true);
    expect(boot.status, logs(boot)).toBe("success");
    expect(statuses(boot)).toEqual({ plan: "success", "kubelet 1.16.15 linux/amd64": "success", [RUNC_JOB]: "success", "propose pins": "success", build: "success" });
    expect(job(boot, RUNC_JOB)!.variables).toMatchObject({ KUBE_PRODUCT: "runc", KUBE_IMAGE: "kubelet-nokmem-toolchain:go1.19-runc", KUBE_SLUG: "runc-1.0.0-rc93-linux-amd64" });
    expect(job(boot, RUNC_JOB)!.log).toMatch(/"product": "runc"/);
    expect(job(boot, "kubelet 1.16.15 linux/amd64")!.log).toMatch(/has no pin yet: the propose job pins this build/);
    expect(job(boot, "kubelet 1.16.15 linux/amd64")!.variables).toMatchObject({ KUBE_IMAGE: IMAGE, KUBE_SHA256: "", KUBE_SLUG: "1.16.15-linux-amd64" });

    // The proposal: a branch with the pin, a merge request asked for by push options, and the diff as an artifact.
    const branch = git(start.consumer.origin, ["for-each-ref", "--format=%(refname:short)", "refs/heads/kubelet-nokmem/"]);
    expect(branch).toMatch(/^kubelet-nokmem\/pins-\d+$/);
    expect(readFileSync(start.consumer.pushOptionsLog, "utf8").split("\n")).toEqual(expect.arrayContaining(["merge_request.create", "merge_request.target=main", "merge_request.title=Pin nokmem kubelets"]));
    const pin = catalogAt(start.consumer, branch).pins["1.16.15"]!;
    expect(pin.sha256["linux/amd64"]).toMatch(/^[0-9a-f]{64}$/);
    expect(pin.image).toBe(IMAGE);
    const runcPin = catalogAt(start.consumer, branch).runcPins?.["1.0.0-rc93"];
    expect(runcPin?.sha256["linux/amd64"]).toMatch(/^[0-9a-f]{64}$/);
    expect(existsSync(join(boot.artifacts[RUNC_JOB]!, "out", "runc-1.0.0-rc93-linux-amd64", "manifest.json"))).toBe(true);
    const diff = readFileSync(join(boot.artifacts["propose pins"]!, "pins.diff"), "utf8");
    expect(diff).toContain(`+        "linux/amd64": "${pin.sha256["linux/amd64"]}"`);
    expect(existsSync(join(boot.artifacts["kubelet 1.16.15 linux/amd64"]!, "out", "1.16.15-linux-amd64", "linux", "amd64", "kubelet"))).toBe(true);
    expect(catalogAt(start.consumer, "main").pins).toEqual({});

    // 2. The merge request is merged; the push pipeline rebuilds and verifies against the pin.
    mergeProposal(start.consumer, branch);
    const verified = await run({ source: "push", changed: ["versions.json"] });
    expect(verified.status, logs(verified)).toBe("success");
    expect(statuses(verified)).toEqual({ plan: "success", "kubelet 1.16.15 linux/amd64": "success", [RUNC_JOB]: "success", "package repository": "success", build: "success" });
    expect(job(verified, "kubelet 1.16.15 linux/amd64")!.log).toMatch(/"outcome": "match"/);
    expect(job(verified, RUNC_JOB)!.log).toMatch(/"outcome": "match"/);

    // The package job (KUBELET_NOKMEM_PACKAGE set, no key): the pinned kubelet, not the runc, in an unsigned yum and apt repository.
    const packaging = job(verified, "package repository")!;
    expect(packaging.variables).toMatchObject({ KUBE_PINNED: "1.16.15-linux-amd64" });
    expect(packaging.log).toMatch(/KUBELET_NOKMEM_GPG_KEY is not set: the packages and the repository metadata are NOT signed/);
    const repo = join(verified.artifacts["package repository"]!, "repository");
    const RPM = "kubelet-1.16.15-1.nokmem.x86_64.rpm";
    expect(readdirSync(join(repo, "yum")).sort()).toEqual([RPM, "repodata"]);
    expect(existsSync(join(repo, "yum", "repodata", "repomd.xml"))).toBe(true);
    expect(existsSync(join(repo, "yum", "repodata", "repomd.xml.asc"))).toBe(false);
    expect(readdirSync(join(repo, "apt", "dists", "stable")).sort()).toEqual(["Release", "main"]);
    expect(readFileSync(join(repo, "apt", "dists", "stable", "main", "binary-amd64", "Packages"), "utf8")).toMatch(/^Version: 1\.16\.15-01\+nokmem1$/m);
    expect(readdirSync(repo).sort()).toEqual(["apt", "yum"]);
    const rpm = join(repo, "yum", RPM);
    expectPinnedRpm(start, rpm);

    // 3. One changed byte in the pinned checksum: the scheduled pipeline fails on verify.
    commitPinDrift(start.consumer, "1.16.15", "linux/amd64");
    const drifted = await run({ source: "schedule" });
    expect(drifted.status).toBe("failed");
    // (The harness's shell runner stops the child pipeline at the first failed job; the runc job's own outcome is not the point here.)
    expect(statuses(drifted)).toMatchObject({ plan: "success", "kubelet 1.16.15 linux/amd64": "failed", "package repository": "skipped", build: "failed" });
    expect(job(drifted, "kubelet 1.16.15 linux/amd64")!.log).toMatch(/"outcome": "mismatch"/);
  });

  it("GitLab refuses a child pipeline artifact that is not named .yml", async () => {
    // The template as it was: the plan job writing child-pipeline.json.
    const clone = start.consumer.clone;
    git(clone, ["pull", "--quiet", "--ff-only", "origin", "main"]);
    const file = join(clone, ".gitlab-ci.yml");
    const text = readFileSync(file, "utf8").replaceAll("child-pipeline.yml", "child-pipeline.json");
    writeFileSync(file, text);
    git(clone, ["-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "--quiet", "-am", "json child"]);
    git(clone, ["push", "--quiet", "origin", "main"]);
    const r = await run({ source: "schedule" });
    expect(r.created).toBe(false);
    expect(r.errors.join("\n")).toMatch(/child-pipeline\.json` does not have YAML extension/);
  });
});
