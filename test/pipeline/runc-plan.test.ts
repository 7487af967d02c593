import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCatalog } from "../../src/catalog/load.js";
import { VerificationError } from "../../src/errors.js";
import { buildPhases, PLAN_VERSION, stepOf } from "../../src/pipeline/build-plan.js";
import { decideRuncBuild } from "../../src/pipeline/decide.js";
import { argvOf } from "../../src/pipeline/describe.js";
import { debootstrapArgs, defaultTag } from "../../src/pipeline/image.js";
import { checkBuiltRunc, runcDockerArgs, runcGopathVolume } from "../../src/pipeline/runc-make.js";
import type { VerifyOutcome } from "../../src/pipeline/steps.js";
import { cli } from "../helpers/cli.js";

const catalog = loadCatalog();
const opts = {
  runner: "docker" as const,
  platforms: [],
  out: "/o",
  cacheDir: "/c",
  uid: 1000,
  gid: 1000,
  pull: "missing" as const,
  strictToolchain: false,
  linkMode: "auto" as const,
  keepWork: false,
  signKeyId: null,
};
const RUNC_STEPS = ["stage", "inspect", "patch", "image", "make", "verify", "checksum", "attest", "publish"];

describe("the runc build plan: the one plan, with the product in it", () => {
  it("names the product and every step, and the tags it adds to the Makefile's", () => {
    const p = decideRuncBuild(catalog, { ...opts, version: "1.0.0-rc93", source: "https://x/runc.git" });
    expect({ planVersion: p.planVersion, product: p.product, version: p.version, strategy: p.strategy, ref: p.source.ref, phases: buildPhases(p) }).toEqual({
      planVersion: PLAN_VERSION,
      product: "runc",
      version: "1.0.0-rc93",
      strategy: "runc-build-tag",
      ref: "v1.0.0-rc93",
      phases: ["preflight", ...RUNC_STEPS.filter((s) => s !== "attest")],
    });
    expect(stepOf(p, "make")).toMatchObject({ product: "runc", tags: { add: ["nokmem"], buildTags: { pending: "buildTags" } }, command: ["make", "runc"] });
    expect(stepOf(p, "verify")).toMatchObject({
      product: "runc",
      expect: "patched",
      version: "1.0.0-rc93",
      outputs: [{ platform: "linux/amd64", path: "runc" }],
    });
    expect(stepOf(p, "image")).toMatchObject({ choice: { rule: "catalog", ref: "kubelet-nokmem-toolchain:go1.19-runc", expectedGo: "1.15" } });
    expect(stepOf(p, "publish")).toMatchObject({ files: ["linux/amd64/runc", "build.log"], last: "SHA256SUMS" });
    expect(stepOf(p, "attest").change).toEqual({ kind: "build-setting", env: [["BUILDTAGS", "<the Makefile's default> nokmem"]] });
    expect(p.pending).toMatchObject({ buildTags: "inspect", goModules: "inspect", tree: "stage", commit: "stage", goCacheVolume: "image" });
  });

  it.each([
    ["1.0.0-rc4", "runc-stub/pre-split", "patched"],
    ["1.0.0-rc94", null, "not-affected"],
  ])("%s: series %s, expects %s", (version, series, verdict) => {
    const p = decideRuncBuild(catalog, { ...opts, version, source: "dir:/", image: "my/runc-image:1" });
    expect(stepOf(p, "patch")).toMatchObject({ series });
    expect(stepOf(p, "verify")).toMatchObject({ expect: verdict });
    expect(stepOf(p, "image")).toMatchObject({ choice: { rule: "flag", ref: "my/runc-image:1" } });
    expect(p.source.ref).toBeNull();
  });

  it("the dry run's command shows the facts only the staged tree gives as pending", () => {
    const argv = argvOf(decideRuncBuild(catalog, { ...opts, version: "1.0.0-rc93", source: "https://x/runc.git" }));
    expect(argv).toContain("GO111MODULE=<goModules>");
    expect(argv.slice(-3)).toEqual(["runc", "BUILDTAGS=<buildTags>", "COMMIT=<commit>"]);
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
  const report = (over: Partial<VerifyOutcome>): VerifyOutcome => ({
    sha256: "0".repeat(64),
    program: "runc",
    runcVersion: { version: "1.0.0-rc93", commit: "c".repeat(40), source: "symbols" },
    verdict: "patched",
    evidence: [],
    ...over,
  });
  const step = { verdict: "patched" as const, version: "1.0.0-rc93" };

  it("passes a nokmem runc stamped with the version and commit", () => {
    expect(() => checkBuiltRunc(report({}), step, "c".repeat(40))).not.toThrow();
  });

  it.each<[string, Partial<VerifyOutcome>, string | null, string, RegExp]>([
    [
      "an unpatched runc",
      { verdict: "unpatched", evidence: [{ check: "reason", found: true, detail: "enabled-only kmem code" }] },
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
  it("--dry-run --json prints the runc plan: product, strategy, the steps of the one pipeline", () => {
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
      steps: RUNC_STEPS,
    });
  });

  it.each<[string[], number, string]>([
    [["build", "runc", "--version", "1.0.0-rc93", "--strict-toolchain", "--dry-run", "--json"], 2, "E_FLAGS"],
    [["build", "runc", "--version", "1.0.0-rc93", "--package", "rpm", "--dry-run", "--json"], 2, "E_FLAGS"],
    [["build", "runc", "--version", "1.0.0-rc93", "--gpg-key", "env:KN_GPG", "--dry-run", "--json"], 2, "E_FLAGS"],
    [["build", "runc", "--version", "1.0.0-rc93", "--runner", "local", "--dry-run", "--json"], 2, "E_RUNNER"],
    [["build", "runc", "--version", "1.0.0-rc1", "--dry-run", "--json"], 2, "E_RUNC_NOT_COVERED"],
    [["build", "runc", "--version", "0.1.1", "--dry-run", "--json"], 2, "E_RUNC_NOT_COVERED"],
    [["build", "runc", "--version", "rc93", "--dry-run", "--json"], 2, "E_RUNC_VERSION"],
    [["build", "containerd", "--version", "1.0.0", "--dry-run", "--json"], 2, "E_USAGE"],
  ])("%j: exit %i, %s", (args, code, errorCode) => {
    const r = cli(args);
    expect({ code: r.code, error: (JSON.parse(r.stdout) as { error: { code: string } }).error.code }).toEqual({ code, error: errorCode });
  });

  it("--sign-key is taken: the key is read before anything is staged, and the attest step names its keyid", () => {
    const dir = mkdtempSync(join(tmpdir(), "kn-runc-key-"));
    try {
      execFileSync("openssl", ["genpkey", "-algorithm", "ed25519", "-out", join(dir, "k.pem")], { stdio: "pipe" });
      const r = cli(["build", "runc", "--version", "1.0.0-rc93", "--sign-key", join(dir, "k.pem"), "--dry-run", "--json"]);
      expect(r.code, r.stderr).toBe(0);
      const attest = (JSON.parse(r.stdout) as { plan: { steps: { step: string; keyid?: string | null }[] } }).plan.steps.find((s) => s.step === "attest")!;
      expect(attest.keyid).toMatch(/^SHA256:/);
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
