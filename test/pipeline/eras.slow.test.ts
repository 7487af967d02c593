/**
 * One build per release era of the shared fixture generator, in Docker with
 * the offline toolchain image, from the three kinds of source: each kubelet
 * runs, prints the clean version and is verified by the audit's detectors.
 * The patch engine and the audit are the build's real steps here.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { digestTree } from "../../src/source/index.js";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTarball, makeTree, type Era } from "../fixtures/k8s-tree.js";

const CLI = resolve("dist/cli.js");
const IMAGE = process.env.KUBELET_NOKMEM_TEST_IMAGE ?? "kubelet-nokmem-toolchain:go1.19";
let tmp: string;

beforeAll(() => {
  execFileSync("npm", ["run", "build"], { stdio: "ignore" });
  tmp = mkdtempSync(join(tmpdir(), "kn-eras-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function build(version: string, source: string, out: string, extra: string[] = []) {
  const r = spawnSync(
    process.execPath,
    [CLI, "build", "--version", version, "--image", IMAGE, "--cache-dir", join(tmp, "cache"), "--source", source, "--out", out, "--json", ...extra],
    { encoding: "utf8" },
  );
  return { code: r.status, stderr: r.stderr, json: r.status === 0 ? JSON.parse(r.stdout) : null };
}

describe.each([
  // [era, kind, verdict]
  ["1.8", "git", "not-affected"],
  ["1.15", "archive", "patched"],
  ["1.16", "git", "patched"],
  ["1.18", "tarball", "patched"],
  ["1.20", "dir", "patched"],
  ["1.22", "git", "not-affected"],
] as [Era, "git" | "dir" | "archive" | "tarball", string][])("era %s from a %s source", (era, kind, verdict) => {
  it(`builds a kubelet that runs, says its clean version and is ${verdict}`, async () => {
    const dir = join(tmp, `${era}-${kind}`);
    const tree = await makeTree(dir, { era, kind: kind === "tarball" ? "git" : kind });
    const source = kind === "tarball" ? await makeTarball(tree, join(tmp, `${era}.tar.gz`)) : tree.root;
    const out = join(tmp, `out-${era}`);
    const r = build(tree.version, source, out, ["--source-date-epoch", "1600000000"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ version: `v${tree.version}`, verdict });
    expect(execFileSync(r.json.kubelet, ["--version"], { encoding: "utf8" }).trim()).toBe(`Kubernetes v${tree.version}`);
    expect(execFileSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: out, encoding: "utf8" })).toBe("linux/amd64/kubelet: OK\n");
  });
});

describe("the BUILDTAGS trap", () => {
  it("a 1.20 tree whose harness drops the tag fails verification (exit 4) and publishes nothing", async () => {
    const tree = await makeTree(join(tmp, "trap"), { era: "1.20", dropsTag: true });
    const out = join(tmp, "out-trap");
    const r = build(tree.version, tree.root, out);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/unpatched \(kmem-enabled/);
    expect(spawnSync("ls", [out]).status).not.toBe(0);
  });
});

describe("source patches reach the binary", () => {
  it.each([
    ["1.13", "vendor-stub"],
    ["1.16", "kmem-override"],
  ] as [Era, string][])("era %s (%s): patched, nokmem, the patches recorded in the manifest", async (era, strategy) => {
    const tree = await makeTree(join(tmp, `patched-${era}`), { era });
    const out = join(tmp, `out-patched-${era}`);
    const r = build(tree.version, tree.root, out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ strategy, verdict: "patched" });
    const m = JSON.parse(readFileSync(r.json.manifest, "utf8"));
    const patches = m.predicate.buildDefinition.resolvedDependencies.filter((d: { name: string }) => d.name.startsWith("patch:"));
    expect(patches.length).toBeGreaterThan(0);
    for (const p of patches) expect(p.digest.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("patching and building a hard-linked staging of a directory leaves the user's directory unchanged", async () => {
    const tree = await makeTree(join(tmp, "user-1.16"), { era: "1.16", kind: "dir" });
    const before = await digestTree(tree.root);
    const r = build(tree.version, tree.root, join(tmp, "out-user-1.16"), ["--stage", "link", "--source-date-epoch", "1600000000"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.verdict).toBe("patched");
    expect((await digestTree(tree.root)).digest).toBe(before.digest);
    expect(readdirSync(tree.root)).not.toContain("_output");
  });

  it("a 1.16 tree whose harness drops the tag is nokmem all the same: kmem.go itself is overridden", async () => {
    const tree = await makeTree(join(tmp, "trap-1.16"), { era: "1.16", dropsTag: true });
    const r = build(tree.version, tree.root, join(tmp, "out-trap-1.16"));
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.verdict).toBe("patched");
  });
});

describe("image check", () => {
  it("reports the toolchain image and its Go", () => {
    const r = spawnSync(process.execPath, [CLI, "image", "check", IMAGE, "--json"], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ image: IMAGE, exists: true, id: expect.stringMatching(/^sha256:/), go: expect.stringMatching(/^1\.19/) });
  });
});
