import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { BinaryReport } from "../../src/audit/report.js";
import { loadCatalog } from "../../src/catalog/load.js";
import { resolveRunc } from "../../src/catalog/runc-release.js";
import { VerificationError } from "../../src/errors.js";
import { debootstrapArgs, defaultTag } from "../../src/pipeline/image.js";
import { checkBuiltRunc, planRuncBuild, runcDockerArgs, runcGopathVolume, runcPhases } from "../../src/pipeline/runc-build.js";
import { cli } from "../helpers/cli.js";

const lines = loadCatalog().runcLines ?? [];
const opts = { out: "/o", cacheDir: "/c", pull: "missing" as const, keepWork: false };

describe("the runc build plan", () => {
  it("names the product and every step, and the tags it adds to the Makefile's", () => {
    const p = planRuncBuild(resolveRunc(lines, "1.0.0-rc93"), { spec: { kind: "git", url: "https://x/runc.git", display: "https://x/runc.git" } }, opts);
    expect({ product: p.product, version: p.version, strategy: p.strategy, ref: p.source.ref, phases: runcPhases(p) }).toEqual({
      product: "runc",
      version: "1.0.0-rc93",
      strategy: "runc-build-tag",
      ref: "v1.0.0-rc93",
      phases: ["preflight", "stage", "inspect", "patch", "image", "make", "verify", "publish"],
    });
    expect(p.steps.find((s) => s.step === "make")).toMatchObject({ tags: { add: ["nokmem"] } });
    expect(p.steps.find((s) => s.step === "verify")).toMatchObject({ expect: "patched", version: "1.0.0-rc93" });
    expect(p.steps.find((s) => s.step === "image")).toMatchObject({ ref: "kubelet-nokmem-toolchain:go1.19-runc" });
  });

  it.each([
    ["1.0.0-rc4", "runc-stub/pre-split", "patched"],
    ["1.0.0-rc94", null, "not-affected"],
  ])("%s: series %s, expects %s", (version, series, verdict) => {
    const p = planRuncBuild(resolveRunc(lines, version), { spec: { kind: "directory", path: "/t" } }, { ...opts, image: "my/runc-image:1" });
    expect(p.steps.find((s) => s.step === "patch")).toMatchObject({ series });
    expect(p.steps.find((s) => s.step === "verify")).toMatchObject({ expect: verdict });
    expect(p.steps.find((s) => s.step === "image")).toMatchObject({ ref: "my/runc-image:1" });
    expect(p.source.ref).toBeNull();
  });
});

describe("docker run for make runc", () => {
  const base = {
    containerName: "c1",
    uid: 1000,
    gid: 1000,
    gopathVolume: runcGopathVolume("sha256:4f5cd7d79730cc4ff6b0"),
    tree: "/w/tree",
    image: { ref: "img:1", id: "sha256:abc" },
  };

  it("a GOPATH tree (rc90 and earlier): GO111MODULE=off, the tree inside GOPATH, tags and commit on make's command line", () => {
    expect(runcDockerArgs({ ...base, goMod: false, buildTags: ["seccomp", "nokmem"], commit: "a".repeat(40) })).toEqual([
      "run",
      "--rm",
      "--name",
      "c1",
      "--network",
      "none",
      "--user",
      "1000:1000",
      "-v",
      "kubelet-nokmem-runc-gopath-4f5cd7d79730:/go",
      "-v",
      "/w/tree:/go/src/github.com/opencontainers/runc",
      "-w",
      "/go/src/github.com/opencontainers/runc",
      "-e",
      "HOME=/tmp",
      "-e",
      "GOPATH=/go",
      "-e",
      "GOCACHE=/go/cache",
      "-e",
      "GO111MODULE=off",
      "sha256:abc",
      "make",
      "runc",
      "BUILDTAGS=seccomp nokmem",
      `COMMIT=${"a".repeat(40)}`,
    ]);
  });

  it("a module tree (rc91+): vendored modules, no VCS stamping, no COMMIT when the source has none", () => {
    const args = runcDockerArgs({ ...base, goMod: true, buildTags: ["seccomp", "selinux", "apparmor", "nokmem"], commit: null });
    expect(args.slice(args.indexOf("GO111MODULE=on") - 1)).toEqual([
      "-e",
      "GO111MODULE=on",
      "-e",
      "GOFLAGS=-mod=vendor -buildvcs=false",
      "sha256:abc",
      "make",
      "runc",
      "BUILDTAGS=seccomp selinux apparmor nokmem",
    ]);
  });
});

describe("checkBuiltRunc: the binary must be what was asked for", () => {
  const report = (over: Partial<BinaryReport>): BinaryReport => ({
    path: "/t/runc",
    size: 1,
    sha256: "0".repeat(64),
    elf: null,
    go: true,
    goBuildInfo: null,
    program: "runc",
    kubernetesVersion: null,
    runcVersion: { version: "1.0.0-rc93", commit: "c".repeat(40), source: "symbols" },
    release: null,
    verdict: "patched",
    reasons: [],
    fix: null,
    evidence: [],
    pin: { status: "unpinned", checks: [] },
    errors: [],
    ...over,
  });
  const step = { step: "verify" as const, output: "runc", expect: "patched" as const, version: "1.0.0-rc93" };

  it("passes a nokmem runc stamped with the version and commit", () => {
    expect(() => checkBuiltRunc(report({}), step, "c".repeat(40))).not.toThrow();
  });

  it.each<[string, Partial<BinaryReport>, string | null, string, RegExp]>([
    [
      "an unpatched runc",
      { verdict: "unpatched", reasons: ["enabled-only kmem code"] },
      null,
      "E_NOT_NOKMEM",
      /expected the audit to find patched, found unpatched/,
    ],
    [
      "another version",
      { runcVersion: { version: "1.0.0-rc92", commit: null, source: "symbols" } },
      null,
      "E_RUNC_STAMP",
      /expected runc --version to say 1\.0\.0-rc93, found 1\.0\.0-rc92/,
    ],
    ["another commit", {}, "d".repeat(40), "E_RUNC_STAMP", /expected the commit stamp d+, found c+/],
    ["a guessed version", { runcVersion: { version: "1.0.0-rc93", commit: null, source: "heuristic" } }, null, "E_RUNC_STAMP", /only a guess/],
    ["not runc at all", { program: "other", runcVersion: null }, null, "E_NOT_NOKMEM", /expected the binary to be runc/],
  ])("refuses %s", (_n, over, commit, code, message) => {
    let err: unknown;
    try {
      checkBuiltRunc(report(over), step, commit);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VerificationError);
    expect({ code: (err as VerificationError).code }).toEqual({ code });
    expect((err as Error).message).toMatch(message);
  });
});

describe("build runc on the command line", () => {
  it("--dry-run --json prints the runc plan: product, strategy, the steps", () => {
    const r = cli([
      "build",
      "runc",
      "--version",
      "v1.0.0-rc93",
      "--source",
      "https://example.invalid/runc.git",
      "--out",
      "/tmp/kn-runc-dry",
      "--dry-run",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { dryRun: boolean; plan: { product: string; version: string; strategy: string; steps: { step: string }[] } };
    expect({ dryRun: j.dryRun, product: j.plan.product, version: j.plan.version, strategy: j.plan.strategy, steps: j.plan.steps.map((s) => s.step) }).toEqual({
      dryRun: true,
      product: "runc",
      version: "1.0.0-rc93",
      strategy: "runc-build-tag",
      steps: ["stage", "inspect", "patch", "image", "make", "verify", "publish"],
    });
  });

  it.each<[string[], number, string]>([
    [["build", "runc", "--version", "1.0.0-rc93", "--strict-toolchain", "--dry-run", "--json"], 2, "E_FLAGS"],
    [["build", "runc", "--version", "1.0.0-rc93", "--runner", "local", "--dry-run", "--json"], 2, "E_RUNNER"],
    [["build", "runc", "--version", "1.0.0-rc1", "--dry-run", "--json"], 2, "E_RUNC_NOT_COVERED"],
    [["build", "runc", "--version", "0.1.1", "--dry-run", "--json"], 2, "E_RUNC_NOT_COVERED"],
    [["build", "runc", "--version", "rc93", "--dry-run", "--json"], 2, "E_RUNC_VERSION"],
    [["build", "containerd", "--version", "1.0.0", "--dry-run", "--json"], 2, "E_USAGE"],
  ])("%j: exit %i, %s", (args, code, errorCode) => {
    const r = cli(args);
    expect({ code: r.code, error: (JSON.parse(r.stdout) as { error: { code: string } }).error.code }).toEqual({ code, error: errorCode });
  });

  it("--sign-key is taken: the key is read before anything is staged, and the publish step names its keyid and the envelopes", () => {
    const dir = mkdtempSync(join(tmpdir(), "kn-runc-key-"));
    try {
      execFileSync("openssl", ["genpkey", "-algorithm", "ed25519", "-out", join(dir, "k.pem")], { stdio: "pipe" });
      const r = cli(["build", "runc", "--version", "1.0.0-rc93", "--sign-key", join(dir, "k.pem"), "--dry-run", "--json"]);
      expect(r.code, r.stderr).toBe(0);
      const publish = (JSON.parse(r.stdout) as { plan: { steps: { step: string; attest?: { keyid: string | null; files: string[] } }[] } }).plan.steps.find(
        (s) => s.step === "publish",
      )!;
      expect(publish.attest!.keyid).toMatch(/^SHA256:/);
      expect(publish.attest!.files).toEqual(["linux/amd64/sbom.cdx.json", "verdict.json", "verdict.dsse.json", "manifest.json", "manifest.dsse.json"]);
      const missing = cli(["build", "runc", "--version", "1.0.0-rc93", "--sign-key", "env:KN_NO_SUCH_KEY", "--dry-run", "--json"]);
      expect(missing.code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("build --version without a product still plans a kubelet", () => {
    const r = cli(["build", "--version", "1.20.2", "--dry-run", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.stringify(JSON.parse(r.stdout))).toContain('"WHAT=cmd/kubelet"');
  });
});

describe("image build --runc", () => {
  it("adds libseccomp-dev and pkg-config to the toolchain's packages, and names the image for runc", () => {
    const include = (runc: boolean) => debootstrapArgs({ suite: "bookworm", mirror: "http://m", go: "1.19", runc }, "/d")[1]!;
    expect(include(true)).toBe(`${include(false)},libseccomp-dev,pkg-config`);
    expect(defaultTag("1.19", "runc")).toBe("kubelet-nokmem-toolchain:go1.19-runc");
    expect(defaultTag("1.19")).toBe("kubelet-nokmem-toolchain:go1.19");
  });
});
