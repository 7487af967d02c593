/**
 * The GitHub workflow run the way a runner runs it (test/ci/runner/github.ts),
 * end to end on one fixture release in a consumer repository that starts with
 * no pins: a dispatched bootstrap run builds 1.16.15 and, beside it, the
 * node's runc 1.0.0-rc93 (a mixed matrix: each entry built with its
 * product's command) in Docker and proposes their pins as a pull request;
 * once merged, the push run rebuilds and verifies both against their pins; a
 * pin with one changed byte fails the run.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { git } from "../fixtures/k8s-tree.js";
import { makeRuncTree } from "../fixtures/runc-tree.js";
import { catalogAt, CI_IMAGE as IMAGE, commitPinDrift, fakeGh, mergeProposal, startConsumer } from "./runner/consumer.js";
import { runWorkflow, type GithubRun, type GithubRunOptions } from "./runner/github.js";

const WORKFLOW = ".github/workflows/nokmem-kubelets.yml";

const start = startConsumer("kn-ci-github-");
let gh: { bin: string; record: string };
let runs = 0;
/** The runc source a team names with the repository variable RUNC_SOURCE. */
let runcSource: string;
const RUNC_IMAGE = "kubelet-nokmem-toolchain:go1.19-runc";

beforeAll(async () => {
  gh = fakeGh(start.tmp);
  runcSource = (await makeRuncTree(join(start.tmp, "runc"), { era: "rc93", git: true })).dir;
});

function run(o: Partial<GithubRunOptions> & Pick<GithubRunOptions, "event">): Promise<GithubRun> {
  runs++;
  return runWorkflow({ workflow: WORKFLOW, origin: start.consumer.origin, branch: "main", vars: { ...start.variables, RUNC_SOURCE: runcSource }, work: join(start.tmp, `run-${runs}`), machinePath: [gh.bin], runId: 4000 + runs, ...o });
}

const step = (r: GithubRun, job: string, name: RegExp) => r.jobs.find((j) => j.job === job)!.steps.find((s) => name.test(s.name))!;
const logs = (r: GithubRun) => r.jobs.flatMap((j) => j.steps.map((s) => `[${j.job} · ${s.name} · ${s.outcome}]\n${s.log}`)).join("\n");

describe("GitHub workflow, run as a runner would", () => {
  it("a scheduled run with no pins builds nothing and proposes nothing", async () => {
    const r = await run({ event: "schedule" });
    expect(r.conclusion, logs(r)).toBe("success");
    expect(r.results).toEqual({ plan: "success", toolchain: "skipped", build: "skipped", propose: "skipped" });
    expect(r.jobs[0]!.outputs).toMatchObject({ matrix: '{"include":[]}', empty: "true", unpinned: "false" });
  });

  it("bootstrap of a kubelet and a runc → build in Docker → pin proposal → verified rollout; a changed byte fails it", async () => {
    // 1. Bootstrap: dispatched with the releases to start from, a kubelet and the node's runc.
    const boot = await run({ event: "workflow_dispatch", inputs: { releases: "1.16.15,runc@1.0.0-rc93" } });
    expect(boot.conclusion, logs(boot)).toBe("success");
    expect(boot.results).toEqual({ plan: "success", toolchain: "skipped", build: "success", propose: "success" });
    const legs = boot.jobs.filter((j) => j.job === "build");
    expect(legs.map((l) => l.matrix)).toEqual([
      { product: "kubelet", version: "1.16.15", line: "1.16", strategy: "kmem-override", platform: "linux/amd64", image: IMAGE, sha256: "", slug: "1.16.15-linux-amd64" },
      { product: "runc", version: "1.0.0-rc93", line: "1.0.0-rc93", strategy: "runc-build-tag", platform: "linux/amd64", image: RUNC_IMAGE, sha256: "", slug: "runc-1.0.0-rc93-linux-amd64" },
    ]);
    // Each leg ran its product's command.
    expect(legs.map((l) => l.steps.find((s) => /^Build/.test(s.name))!.log)).toEqual([expect.stringMatching(/"verdict": "patched"/), expect.stringMatching(/"product": "runc"/)]);
    expect(step(boot, "build", /Verify/).outcome).toBe("skipped");
    // The uploaded artifact holds what the build published.
    const sums = readFileSync(join(boot.artifacts, "kubelet-1.16.15-linux-amd64", "SHA256SUMS"), "utf8");
    const built = { sha256: /^([0-9a-f]{64}) \*?linux\/amd64\/kubelet$/m.exec(sums)![1]! };
    expect(existsSync(join(boot.artifacts, "kubelet-1.16.15-linux-amd64", "linux", "amd64", "kubelet"))).toBe(true);
    expect(existsSync(join(boot.artifacts, "kubelet-1.16.15-linux-amd64", "manifest.json"))).toBe(true);
    expect(boot.summary).toContain("### Proposed pins");

    // The proposal: a branch on the origin with the pin, and a pull request against main.
    const branch = `kubelet-nokmem/pins-${4000 + runs}`;
    expect(readFileSync(gh.record, "utf8")).toContain(`pr create --base main --head ${branch} --title Pin nokmem kubelets --body-file pr-body.md`);
    const proposed = catalogAt(start.consumer, branch).pins["1.16.15"]!;
    expect(proposed.sha256).toEqual({ "linux/amd64": built.sha256 });
    expect(proposed.image).toBe(IMAGE);
    // The runc build is pinned under runcPins, by its manifest's product.
    const runcSums = readFileSync(join(boot.artifacts, "kubelet-runc-1.0.0-rc93-linux-amd64", "SHA256SUMS"), "utf8");
    const runcSha = /^([0-9a-f]{64}) \*?linux\/amd64\/runc$/m.exec(runcSums)![1]!;
    expect(catalogAt(start.consumer, branch).runcPins?.["1.0.0-rc93"]).toMatchObject({ image: RUNC_IMAGE, strategy: "runc-build-tag", sha256: { "linux/amd64": runcSha } });
    expect(catalogAt(start.consumer, "main").pins).toEqual({});
    expect(git(start.consumer.origin, ["diff", "--stat", "main", branch])).toMatch(/versions\.json \| \d+ \+/);

    // 2. A person merges it; the push of versions.json rebuilds and verifies against the pin.
    mergeProposal(start.consumer, branch);
    const verified = await run({ event: "push", changed: ["versions.json"] });
    expect(verified.conclusion, logs(verified)).toBe("success");
    expect(verified.results).toEqual({ plan: "success", toolchain: "skipped", build: "success", propose: "skipped" });
    const verifies = verified.jobs.filter((j) => j.job === "build").map((j) => j.steps.find((s) => /Verify/.test(s.name))!);
    expect(verifies.map((v) => v.outcome)).toEqual(["success", "success"]);
    for (const v of verifies) expect(v.log).toMatch(/"outcome": "match"/);
    expect(verified.summary).toContain("### kubelet 1.16.15-linux-amd64");
    expect(verified.summary).toContain("### runc runc-1.0.0-rc93-linux-amd64");

    // 3. One changed byte in the pinned checksum: the scheduled rebuild no longer matches and the run fails.
    commitPinDrift(start.consumer, "1.16.15", "linux/amd64");
    const drifted = await run({ event: "schedule" });
    expect(drifted.conclusion).toBe("failure");
    expect(drifted.results.build).toBe("failure");
    const verify = step(drifted, "build", /Verify/);
    expect(verify.outcome).toBe("failure");
    expect(verify.log).toMatch(/"outcome": "mismatch"/);
    // The build output is still uploaded for inspection.
    expect(step(drifted, "build", /Upload/).outcome).toBe("success");
  });

  it("a push that does not touch versions.json does not run the workflow", async () => {
    const r = await run({ event: "push", changed: ["README.md"] });
    expect(r.triggered).toBe(false);
  });
});
