/**
 * `build runc` for real: `make runc` in the runc toolchain image (Go,
 * libseccomp-dev; `image build --runc`), offline, for a tree of each runc
 * era, then the audit on the published binary. The same source built the
 * way a distribution builds it (the Makefile's default tags, no patch) must
 * be found `unpatched`, so the verdicts prove the fix, not the fixture.
 *
 * The fixture trees (test/fixtures/runc-tree.ts) run everywhere. With
 * KUBELET_NOKMEM_RUNC_GIT set to a clone of runc's public repository (its
 * tags v1.0.0-rc4 … rc95 carry vendor/ and build offline), the same checks
 * run on real releases of each era.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditFile } from "../../src/audit/index.js";
import { loadCatalog } from "../../src/catalog/load.js";
import { ExitCode } from "../../src/errors.js";
import { ensureCacheVolume, findImage } from "../../src/pipeline/docker.js";
import { runcDockerArgs, runcGopathVolume } from "../../src/pipeline/runc-make.js";
import { cliAsync } from "../helpers/cli.js";
import { makeRuncTree, RUNC_ERAS, type RuncEra } from "../fixtures/runc-tree.js";

const IMAGE = "kubelet-nokmem-toolchain:go1.19-runc";
const catalog = loadCatalog();
let work: string;
let cache: string;
let imageId: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "kn-runc-"));
  cache = join(work, "cache");
  const img = await findImage(IMAGE);
  if (!img) throw new Error(`expected the runc toolchain image ${IMAGE} (made by \`kubelet-nokmem image build --runc\`, as .ci/run does), found none`);
  imageId = img.id;
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

interface RuncJson {
  product: string;
  version: string;
  strategy: string;
  verdict: string;
  runc: string;
  sha256: string;
  stamp: { version: string; commit: string | null };
  buildTags: string[];
  makefileTags: string[];
  kmemLayout: string;
  disagreements: string[];
  seconds: number;
  plan: unknown;
}

const buildArgs = (version: string, source: string, name: string) => [
  "build",
  "runc",
  "--version",
  version,
  "--source",
  source,
  "--out",
  join(work, `out-${name}`),
  "--cache-dir",
  cache,
  "--json",
];

async function buildRunc(
  version: string,
  source: string,
  name: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; json: RuncJson | null; err: string }> {
  const r = await cliAsync(buildArgs(version, source, name), env);
  return {
    code: r.code ?? -1,
    json: r.code === 0 ? (JSON.parse(r.stdout) as RuncJson) : null,
    err: r.code === 0 ? "" : `${r.stdout}${r.stderr.split("\n").slice(-3).join("\n")}`,
  };
}

/** `make runc` as a distribution runs it: the Makefile's default tags, the tree as released. */
async function buildNormally(tree: string, makefileTags: string[], goMod: boolean): Promise<string> {
  const copy = mkdtempSync(join(work, "normal-"));
  cpSync(tree, copy, { recursive: true });
  const volume = runcGopathVolume(imageId);
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  await ensureCacheVolume(volume, imageId, uid, gid);
  const args = runcDockerArgs({
    containerName: `kn-runc-normal-${Date.now()}`,
    uid,
    gid,
    gopathVolume: volume,
    tree: copy,
    image: { ref: IMAGE, id: imageId },
    goMod,
    buildTags: makefileTags,
    commit: null,
  });
  execFileSync("docker", args, { stdio: ["ignore", "pipe", "pipe"] });
  return join(copy, "runc");
}

const EXPECTED: { era: RuncEra; strategy: string; verdict: string; tags: string[] }[] = [
  { era: "rc4", strategy: "runc-stub", verdict: "patched", tags: ["seccomp"] },
  { era: "rc6", strategy: "runc-build-tag", verdict: "patched", tags: ["seccomp", "nokmem"] },
  { era: "rc91", strategy: "runc-build-tag", verdict: "patched", tags: ["seccomp", "selinux", "apparmor", "nokmem"] },
  { era: "rc93", strategy: "runc-build-tag", verdict: "patched", tags: ["seccomp", "nokmem"] },
  { era: "rc94", strategy: "runc-none", verdict: "not-affected", tags: ["seccomp"] },
];

describe("build runc: a fixture tree of each era, built for real in Docker", () => {
  it.each(EXPECTED)("$era: $strategy, BUILDTAGS $tags, audited $verdict, stamped with the version and commit", async ({ era, strategy, verdict, tags }) => {
    const tree = await makeRuncTree(join(work, `tree-${era}`), { era, git: true });
    const dry = await cliAsync([...buildArgs(tree.version, tree.dir, era), "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    const r = await buildRunc(tree.version, tree.dir, era);
    expect(r.err).toBe("");
    const j = r.json!;
    // The build walked the very plan --dry-run printed: one plan, one executor, for runc as for kubelet.
    expect(j.plan).toEqual((JSON.parse(dry.stdout) as { plan: unknown }).plan);
    expect({ product: j.product, strategy: j.strategy, verdict: j.verdict, buildTags: j.buildTags, stamp: j.stamp, disagreements: j.disagreements }).toEqual({
      product: "runc",
      strategy,
      verdict,
      buildTags: tags,
      stamp: { version: tree.version, commit: tree.commit },
      disagreements: [],
    });
    const audit = await auditFile(j.runc, { catalog });
    expect(audit.verdict).toBe(verdict);
    expect(audit.sha256).toBe(j.sha256);
    // The Makefile's default seccomp tag reached the compiler beside nokmem.
    expect(readFileSync(j.runc).includes("fixture-feature:seccomp")).toBe(true);
    const sums = readFileSync(join(work, `out-${era}`, "SHA256SUMS"), "utf8");
    expect(sums).toContain(`${j.sha256} *linux/amd64/runc`);
    const stmt = JSON.parse(readFileSync(join(work, `out-${era}`, "verdict.json"), "utf8")) as {
      predicate: { product: string; release: string; strategy: string };
    };
    expect(stmt.predicate).toMatchObject({ product: "runc", release: tree.version, strategy });
  });

  it.each(["rc4", "rc6", "rc93"] as const)("%s built the way a distribution builds it is unpatched, with the build command as the fix", async (era) => {
    const tree = await makeRuncTree(join(work, `plain-${era}`), { era });
    const binary = await buildNormally(tree.dir, RUNC_ERAS[era].buildtags.split(/\s+/).slice(2), RUNC_ERAS[era].goMod);
    const audit = await auditFile(binary, { catalog });
    expect({ verdict: audit.verdict, fix: audit.fix }).toEqual({
      verdict: "unpatched",
      fix: `kubelet-nokmem build runc --version ${RUNC_ERAS[era].version} --source https://github.com/opencontainers/runc.git`,
    });
  });
});

describe("build runc: the tree is the final word", () => {
  it("a tree whose layout the catalog does not expect is built by its own strategy, verified, and the disagreement reported", async () => {
    // VERSION says rc93 (catalog: runc-build-tag), memory.go is rc4's pre-split layout.
    const tree = await makeRuncTree(join(work, "tree-disagree"), { era: "rc4", versionFile: "1.0.0-rc93" });
    const r = await buildRunc("1.0.0-rc93", tree.dir, "disagree");
    expect(r.err).toBe("");
    expect({ strategy: r.json!.strategy, verdict: r.json!.verdict, stamp: r.json!.stamp.version }).toEqual({
      strategy: "runc-stub",
      verdict: "patched",
      stamp: "1.0.0-rc93",
    });
    expect(r.json!.disagreements).toEqual([
      "the catalog says 1.0.0-rc93 is runc-build-tag (layout split-rc7+); the tree's libcontainer/cgroups/fs is pre-split, so the build uses runc-stub",
      "the catalog names Go 1.15 for 1.0.0-rc93; the tree's Dockerfile names Go 1.8.0",
    ]);
  });
});

describe("build runc: a hostile tree or environment is refused, never built into a normal runc", () => {
  it.each<[string, Parameters<typeof makeRuncTree>[1], NodeJS.ProcessEnv, number, string, RegExp]>([
    [
      "a VERSION file of another release",
      { era: "rc93", versionFile: "1.0.0-rc92" },
      {},
      ExitCode.tree,
      "E_RUNC_VERSION_FILE",
      /expected the tree's VERSION file to say 1\.0\.0-rc93 .*found "1\.0\.0-rc92"/,
    ],
    ["no VERSION file", { era: "rc93", versionFile: null }, {}, ExitCode.tree, "E_RUNC_VERSION_FILE", /found none/],
    ["no Makefile", { era: "rc93", noMakefile: true }, {}, ExitCode.tree, "E_RUNC_MAKEFILE", /expected runc's Makefile/],
    [
      "a Makefile that overrides BUILDTAGS",
      { era: "rc93", buildtagsLine: "override BUILDTAGS := seccomp" },
      {},
      ExitCode.tree,
      "E_RUNC_MAKEFILE",
      /override BUILDTAGS/,
    ],
    ["BUILDTAGS in the environment", { era: "rc93" }, { BUILDTAGS: "seccomp" }, ExitCode.usage, "E_RUNC_BUILDTAGS_ENV", /found BUILDTAGS="seccomp"/],
    ["BUILDTAGS in MAKEFLAGS", { era: "rc6" }, { MAKEFLAGS: "BUILDTAGS=seccomp" }, ExitCode.usage, "E_RUNC_BUILDTAGS_ENV", /MAKEFLAGS/],
  ])("%s", async (name, opts, env, code, errorCode, message) => {
    const slug = name.replace(/\W+/g, "-");
    const dir = join(work, `hostile-${slug}`);
    await makeRuncTree(dir, opts);
    const r = await cliAsync(
      ["build", "runc", "--version", RUNC_ERAS[opts.era].version, "--source", dir, "--out", join(work, `hostile-out-${slug}`), "--cache-dir", cache, "--json"],
      env,
    );
    const error = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
    expect({ status: r.code, code: error.code }).toEqual({ status: code, code: errorCode });
    expect(error.message).toMatch(message);
  });
});

const REAL_RUNC_GIT = process.env.KUBELET_NOKMEM_RUNC_GIT;

// Present only when a clone of runc's public history is at hand (docs/runc.md).
if (REAL_RUNC_GIT) {
  describe(`build runc: real releases from ${REAL_RUNC_GIT}`, () => {
    it.each([
      { version: "1.0.0-rc4", strategy: "runc-stub", verdict: "patched", tags: ["seccomp"] },
      { version: "1.0.0-rc5", strategy: "runc-stub", verdict: "patched", tags: ["seccomp"] },
      { version: "1.0.0-rc6", strategy: "runc-build-tag", verdict: "patched", tags: ["seccomp", "nokmem"] },
      { version: "1.0.0-rc92", strategy: "runc-build-tag", verdict: "patched", tags: ["seccomp", "selinux", "apparmor", "nokmem"] },
      { version: "1.0.0-rc93", strategy: "runc-build-tag", verdict: "patched", tags: ["seccomp", "nokmem"] },
      { version: "1.0.0-rc94", strategy: "runc-none", verdict: "not-affected", tags: ["seccomp"] },
    ])("$version: $strategy, audited $verdict", async ({ version, strategy, verdict, tags }) => {
      const r = await buildRunc(version, REAL_RUNC_GIT, `real-${version}`);
      expect(r.err).toBe("");
      const commit = execFileSync("git", ["--git-dir", gitDir(REAL_RUNC_GIT), "rev-parse", `v${version}^{commit}`], { encoding: "utf8" }).trim();
      expect({ strategy: r.json!.strategy, verdict: r.json!.verdict, buildTags: r.json!.buildTags, stamp: r.json!.stamp }).toEqual({
        strategy,
        verdict,
        buildTags: tags,
        stamp: { version, commit },
      });
      expect((await auditFile(r.json!.runc, { catalog })).verdict).toBe(verdict);
      writeFileSync(join(work, `seconds-${version}`), String(r.json!.seconds));
    });

    it.each([
      { version: "1.0.0-rc4", tags: ["seccomp"], goMod: false },
      { version: "1.0.0-rc6", tags: ["seccomp"], goMod: false },
      { version: "1.0.0-rc93", tags: ["seccomp"], goMod: true },
    ])("$version built without the fix is unpatched", async ({ version, tags, goMod }) => {
      const tree = join(work, `real-plain-${version}`);
      execFileSync("git", ["clone", "-q", "--no-checkout", REAL_RUNC_GIT, tree]);
      execFileSync("git", ["-C", tree, "-c", "advice.detachedHead=false", "checkout", "-q", `v${version}`]);
      const audit = await auditFile(await buildNormally(tree, tags, goMod), { catalog });
      expect({ verdict: audit.verdict, version: audit.runcVersion?.version }).toEqual({ verdict: "unpatched", version });
    });
  });
}

function gitDir(repo: string): string {
  return execFileSync("git", ["-C", repo, "rev-parse", "--absolute-git-dir"], { encoding: "utf8" }).trim();
}
