/**
 * The GitHub workflow run the way a runner runs it (test/ci/runner/github.ts),
 * end to end on one fixture release in a consumer repository that starts with
 * no pins: a dispatched bootstrap run builds 1.16.15 and, beside it, the
 * node's runc 1.0.0-rc93 (a mixed matrix: each entry built with its
 * product's command) in Docker and proposes their pins as a pull request;
 * once merged, the push run rebuilds and verifies both against their pins
 * and, with KUBELET_NOKMEM_PACKAGE set and a key secret, its package job
 * makes a signed yum and apt repository of the verified kubelet (the RPM in
 * the uploaded artifact verifies against the pin); a pin with one changed
 * byte fails the run and packages nothing.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { git } from "../fixtures/k8s-tree.js";
import { makeRuncTree } from "../fixtures/runc-tree.js";
import { catalogAt, CI_IMAGE as IMAGE, commitPinDrift, expectPinnedRpm, fakeGh, mergeProposal, startConsumer } from "./runner/consumer.js";
import { runWorkflow, type GithubRun, type GithubRunOptions } from "./runner/github.js";

const WORKFLOW = ".github/workflows/nokmem-kubelets.yml";

const start = startConsumer("kn-ci-github-");
let gh: { bin: string; record: string };
let runs = 0;
/** The runc source a team names with the repository variable RUNC_SOURCE. */
let runcSource: string;
const RUNC_IMAGE = "kubelet-nokmem-toolchain:go1.19-runc";
/** The repository signing key a team keeps as the secret KUBELET_NOKMEM_GPG_KEY, and its public half as a keyring. */
const gpgKey = { secret: "", keyring: "" };

/** A throw-away OpenPGP signing key: the armoured secret key's text and a binary keyring with its public key. */
function makeGpgKey(dir: string): { secret: string; keyring: string } {
  const home = mkdtempSync(join(dir, "gnupg-"));
  const gpg = (...args: string[]) => {
    const r = spawnSync("gpg", ["--homedir", home, "--batch", ...args], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`gpg ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  gpg("--passphrase", "", "--quick-gen-key", "CI repository <ci@example.invalid>", "rsa2048", "sign", "never");
  const keyring = join(dir, "repository-keyring.gpg");
  gpg("--yes", "--output", keyring, "--export");
  const secret = gpg("--armor", "--export-secret-keys");
  spawnSync("gpgconf", ["--homedir", home, "--kill", "all"]);
  rmSync(home, { recursive: true, force: true });
  return { secret, keyring };
}

beforeAll(async () => {
  gh = fakeGh(start.tmp);
  runcSource = (await makeRuncTree(join(start.tmp, "runc"), { era: "rc93", git: true })).dir;
  Object.assign(gpgKey, makeGpgKey(start.tmp));
});

/** Every run has the package job turned on and the key secret set: it runs only when some kubelet is pinned and every build verified. */
function run(o: Partial<GithubRunOptions> & Pick<GithubRunOptions, "event">): Promise<GithubRun> {
  runs++;
  return runWorkflow({
    workflow: WORKFLOW,
    origin: start.consumer.origin,
    branch: "main",
    vars: { ...start.variables, RUNC_SOURCE: runcSource, KUBELET_NOKMEM_PACKAGE: "rpm,deb" },
    secrets: { KUBELET_NOKMEM_GPG_KEY: gpgKey.secret },
    work: join(start.tmp, `run-${runs}`),
    machinePath: [gh.bin],
    runId: 4000 + runs,
    ...o,
  });
}

const step = (r: GithubRun, job: string, name: RegExp) => r.jobs.find((j) => j.job === job)!.steps.find((s) => name.test(s.name))!;
const logs = (r: GithubRun) => r.jobs.flatMap((j) => j.steps.map((s) => `[${j.job} · ${s.name} · ${s.outcome}]\n${s.log}`)).join("\n");

describe("GitHub workflow, run as a runner would", () => {
  it("a scheduled run with no pins builds nothing and proposes nothing", async () => {
    const r = await run({ event: "schedule" });
    expect(r.conclusion, logs(r)).toBe("success");
    expect(r.results).toEqual({ plan: "success", toolchain: "skipped", build: "skipped", package: "skipped", propose: "skipped" });
    expect(r.jobs[0]!.outputs).toMatchObject({ matrix: '{"include":[]}', empty: "true", unpinned: "false", pinned: "" });
  });

  it("bootstrap of a kubelet and a runc → build in Docker → pin proposal → verified rollout; a changed byte fails it", async () => {
    // 1. Bootstrap: dispatched with the releases to start from, a kubelet and the node's runc.
    const boot = await run({ event: "workflow_dispatch", inputs: { releases: "1.16.15,runc@1.0.0-rc93" } });
    expect(boot.conclusion, logs(boot)).toBe("success");
    // Nothing is pinned yet: nothing to package.
    expect(boot.results).toEqual({ plan: "success", toolchain: "skipped", build: "success", package: "skipped", propose: "success" });
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
    expect(verified.results).toEqual({ plan: "success", toolchain: "skipped", build: "success", package: "success", propose: "skipped" });
    const verifies = verified.jobs.filter((j) => j.job === "build").map((j) => j.steps.find((s) => /Verify/.test(s.name))!);
    expect(verifies.map((v) => v.outcome)).toEqual(["success", "success"]);
    for (const v of verifies) expect(v.log).toMatch(/"outcome": "match"/);
    expect(verified.summary).toContain("### kubelet 1.16.15-linux-amd64");
    expect(verified.summary).toContain("### runc runc-1.0.0-rc93-linux-amd64");

    // The package job: the pinned kubelet (not the runc) as an RPM and a DEB in a signed yum and apt repository, uploaded.
    expect(verified.jobs.find((j) => j.job === "plan")!.outputs.pinned).toBe("1.16.15-linux-amd64");
    const packaging = step(verified, "package", /^Package/);
    expect(packaging.outcome, packaging.log).toBe("success");
    expect(packaging.log).not.toMatch(/NOT signed/);
    const repo = join(verified.artifacts, "repository");
    const RPM = "kubelet-1.16.15-1.nokmem.x86_64.rpm";
    expect(readdirSync(join(repo, "yum")).sort()).toEqual([RPM, "repodata"]);
    expect(existsSync(join(repo, "yum", "repodata", "repomd.xml.asc"))).toBe(true);
    expect(readdirSync(join(repo, "apt", "pool", "main", "k", "kubelet"))).toEqual(["kubelet_1.16.15-01+nokmem1_amd64.deb"]);
    expect(readdirSync(join(repo, "apt", "dists", "stable")).sort()).toEqual(["InRelease", "Release", "Release.gpg", "main"]);
    expect(verified.summary).toContain("### Repository");
    // Signed with the secret's key: gpgv accepts apt's InRelease and yum's repomd.xml with its public key.
    expect(spawnSync("gpgv", ["--keyring", gpgKey.keyring, join(repo, "apt", "dists", "stable", "InRelease")]).status).toBe(0);
    expect(spawnSync("gpgv", ["--keyring", gpgKey.keyring, join(repo, "yum", "repodata", "repomd.xml.asc"), join(repo, "yum", "repodata", "repomd.xml")]).status).toBe(0);
    // The RPM as rpm reads it, and the kubelet inside matches the merged pin (verify of a package file).
    const rpm = join(repo, "yum", RPM);
    expectPinnedRpm(start, rpm);
    // rpm -K with the repository's public key (yum's gpgkey=, the artifact holds it) in an empty database: the package's own signature.
    const db = join(start.tmp, "rpmdb");
    mkdirSync(db, { recursive: true });
    expect(spawnSync("rpm", ["--dbpath", db, "--import", join(repo, "RPM-GPG-KEY-kubelet-nokmem")]).status).toBe(0);
    const k = spawnSync("rpm", ["--dbpath", db, "-K", rpm], { encoding: "utf8" });
    expect(k.status, k.stdout + k.stderr).toBe(0);

    // 3. One changed byte in the pinned checksum: the scheduled rebuild no longer matches and the run fails.
    commitPinDrift(start.consumer, "1.16.15", "linux/amd64");
    const drifted = await run({ event: "schedule" });
    expect(drifted.conclusion).toBe("failure");
    expect(drifted.results.build).toBe("failure");
    // A build that no longer matches its pin is never packaged.
    expect(drifted.results.package).toBe("skipped");
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
