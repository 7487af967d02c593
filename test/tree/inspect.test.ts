/**
 * `inspect` on generated Kubernetes-shaped trees of every era, as git
 * checkouts, plain directories and `git archive` exports; trees built to
 * disagree with the catalog; trees after a patch; and every way a path can
 * fail to be a readable Kubernetes tree.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCatalog } from "../../src/catalog/load.js";
import { resolve } from "../../src/catalog/resolve.js";
import { TreeError } from "../../src/errors.js";
import { inspectTree } from "../../src/tree/inspect.js";
import { ERA_FACTS, ERAS, git, makeTarball, makeTree, RUNC_FS, type Era } from "../fixtures/k8s-tree.js";
import { cli, oneLineError } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { kmemOverridePatched, vendorStubPatched } from "./patched-runc.js";

const catalog = loadCatalog();

async function inspectError(root: string, version?: string): Promise<TreeError> {
  try {
    await inspectTree(root, { catalog, version });
  } catch (err) {
    if (err instanceof TreeError) return err;
    throw err;
  }
  throw new Error(`inspect of ${root} did not fail`);
}

describe("inspect: every fixture era and tree kind", () => {
  const cases = ERAS.flatMap((era) => (["git", "archive", "dir"] as const).map((kind) => [era, kind] as [Era, "git" | "archive" | "dir"]));

  it.each(cases)("era %s as %s: layout, runc, version, kind and strategy come from the tree", async (era, kind) => {
    const tree = await makeTree(join(tempDir(), "k"), { era, kind });
    const facts = ERA_FACTS[era];
    // A plain directory does not record its release: the user names it.
    const r = await inspectTree(tree.root, { catalog, version: kind === "dir" ? tree.version : undefined });
    expect(r).toMatchObject({
      version: tree.version,
      versionSource: kind === "dir" ? "flag" : kind,
      treeKind: kind === "git" ? "git-clean" : kind,
      kmemLayout: facts.layout,
      runc: facts.runc,
      runcSource: facts.deps === "godeps" ? "Godeps/Godeps.json" : "vendor/modules.txt",
      goVersion: facts.cross.replace(/^v(\d+\.\d+\.\d+).*$/, "$1"),
      strategy: resolve(catalog, tree.version).strategy,
      catalogStrategy: resolve(catalog, tree.version).strategy,
      agrees: true,
      patched: false,
    });
    expect(r.commit).toBe(kind === "dir" ? null : tree.commit);
  });

  it("a plain directory without --version: layout and strategy from the tree, release unknown", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.13", kind: "dir" });
    const r = await inspectTree(tree.root, { catalog });
    expect(r).toMatchObject({ version: null, treeKind: "dir", kmemLayout: "pre-split", strategy: "vendor-stub", catalogStrategy: null, agrees: null });
    expect(r.notes.join()).toMatch(/pass --version/);
  });

  it("an extracted source tarball (top folder, no .git) is a plain directory", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.18" });
    const tgz = await makeTarball(tree, join(tempDir(), "kubernetes.tar.gz"));
    const out = tempDir();
    execFileSync("tar", ["-xzf", tgz, "-C", out]);
    const r = await inspectTree(join(out, `kubernetes-${tree.version}`), { catalog, version: tree.version });
    expect(r).toMatchObject({ treeKind: "dir", kmemLayout: "split-rc7+", strategy: "build-tag", agrees: true });
  });
});

describe("inspect: the tree against the catalog", () => {
  it("a 1.21.5 tree that still vendors kmem code: the tree wins and the disagreement is reported", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.22", version: "1.21.5", layout: "split-rc7+" });
    const r = await inspectTree(tree.root, { catalog });
    expect(r).toMatchObject({
      version: "1.21.5",
      kmemLayout: "split-rc7+",
      catalogStrategy: "none",
      catalogLayout: "absent",
      strategy: "build-tag",
      agrees: false,
    });
    expect(r.notes.join("\n")).toMatch(/catalog gives none for 1\.21\.5 .* the tree has the split-rc7\+ layout: using build-tag, the tree wins/);
  });

  it("the CLI says so too: --json agrees false, readable output DISAGREES", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16", version: "1.16.2", layout: "pre-split" });
    const json = cli(["inspect", tree.root, "--json"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      version: "1.16.2",
      kmemLayout: "pre-split",
      strategy: "vendor-stub",
      catalogStrategy: "kmem-override",
      agrees: false,
    });
    const text = cli(["inspect", tree.root]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/strategy:\s+vendor-stub: DISAGREES with the catalog, which says kmem-override/);
  });

  it("--version that disagrees with the tree's tag is used and reported", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.20" });
    const r = await inspectTree(tree.root, { catalog, version: "v1.19.4" });
    expect(r).toMatchObject({ version: "1.19.4", versionSource: "flag", treeVersion: "1.20.2", versionAgrees: false });
    expect(r.notes.join()).toMatch(/--version 1\.19\.4 disagrees with the tree, which says v1\.20\.2/);
  });

  it("a checkout with commits past its tag and no release tag at all", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.18" });
    writeFileSync(join(tree.root, "NOTES"), "x\n");
    git(tree.root, ["add", "NOTES"]);
    git(tree.root, ["commit", "-q", "-m", "after the tag"]);
    const past = await inspectTree(tree.root, { catalog });
    expect(past).toMatchObject({ version: "1.18.20", commitsSinceTag: 1, treeKind: "git-clean" });
    git(tree.root, ["tag", "-d", "v1.18.20"]);
    const untagged = await inspectTree(tree.root, { catalog });
    expect(untagged).toMatchObject({ version: null, agrees: null, strategy: "build-tag" });
    expect(untagged.notes.join()).toMatch(/no release tag/);
  });
});

describe("inspect: checkouts that changed, trees after a patch", () => {
  it("a changed checkout is git-dirty and lists what changed; build output does not count", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16" });
    // Tracked build output (as if committed by mistake): changes under _output/ never make a tree dirty.
    mkdirSync(join(tree.root, "_output"));
    writeFileSync(join(tree.root, "_output/stamp"), "1\n");
    git(tree.root, ["add", "-f", "_output/stamp"]);
    git(tree.root, ["commit", "-q", "-m", "stamp"]);
    writeFileSync(join(tree.root, "_output/stamp"), "2\n");
    expect((await inspectTree(tree.root, { catalog })).treeKind).toBe("git-clean");
    writeFileSync(join(tree.root, "cmd/kubelet/extra.go"), "package main\n");
    const r = await inspectTree(tree.root, { catalog });
    expect(r).toMatchObject({ treeKind: "git-dirty", changed: ["cmd/kubelet/extra.go"] });
  });

  it("a 1.13 tree after the vendor-stub patch: patched, still pre-split, strategy agrees", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.13", memoryGoVariant: 1 });
    const memoryGo = join(tree.root, RUNC_FS, "memory.go");
    writeFileSync(memoryGo, vendorStubPatched(readFileSync(memoryGo, "utf8")));
    const r = await inspectTree(tree.root, { catalog });
    expect(r).toMatchObject({
      treeKind: "git-dirty",
      changed: [`${RUNC_FS}/memory.go`],
      kmemLayout: "pre-split",
      patched: true,
      strategy: "vendor-stub",
      agrees: true,
    });
  });

  it("a 1.16 tree after the kmem-override patch: patched, still split-rc7+, strategy agrees", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16", kind: "archive" });
    const dir = join(tree.root, RUNC_FS);
    const names = ["memory.go", "kmem.go", "kmem_disabled.go"];
    const patched = kmemOverridePatched(Object.fromEntries(names.map((n) => [n, readFileSync(join(dir, n), "utf8")])));
    writeFileSync(join(dir, "kmem.go"), patched["kmem.go"]!);
    const r = await inspectTree(tree.root, { catalog });
    expect(r).toMatchObject({ treeKind: "archive", kmemLayout: "split-rc7+", patched: true, strategy: "kmem-override", agrees: true });
    const text = cli(["inspect", tree.root]);
    expect(text.stdout).toMatch(/kmem:\s+split-rc7\+ \(already patched\)/);
  });
});

describe("inspect: paths that are not readable Kubernetes trees (exit 6, one line)", () => {
  it("an empty directory is not a Kubernetes tree", async () => {
    const dir = tempDir();
    const err = await inspectError(dir);
    expect(err.code).toBe("E_TREE_NOT_KUBERNETES");
    const r = cli(["inspect", dir]);
    expect(r.code).toBe(6);
    expect(oneLineError(r)).toMatch(/expected a Kubernetes source tree at .* \(with hack\/lib\/version\.sh and cmd\/kubelet\/\), found neither/);
  });

  it("a directory with only some of the markers says which it found", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "hack/lib"), { recursive: true });
    writeFileSync(join(dir, "hack/lib/version.sh"), "#!/bin/bash\n");
    expect((await inspectError(dir)).message).toMatch(/found only hack\/lib\/version\.sh/);
  });

  it("the folder a tarball was extracted into: the hint names the tree inside", async () => {
    const parent = tempDir();
    await makeTree(join(parent, "kubernetes"), { era: "1.15", kind: "dir" });
    const err = await inspectError(parent);
    expect(err.code).toBe("E_TREE_NOT_KUBERNETES");
    expect(err.hint).toBe(`did you mean ${join(parent, "kubernetes")}?`);
  });

  it("a missing path", async () => {
    const missing = join(tempDir(), "nope");
    expect((await inspectError(missing)).code).toBe("E_TREE_MISSING");
    const r = cli(["inspect", missing]);
    expect(r.code).toBe(6);
    expect(oneLineError(r)).toMatch(/expected a Kubernetes source tree at .*nope, found nothing there/);
  });

  it("a file (a tarball not yet extracted)", async () => {
    const file = join(tempDir(), "kubernetes.tar.gz");
    writeFileSync(file, "");
    const err = await inspectError(file);
    expect(err.code).toBe("E_TREE_NOT_DIR");
    expect(err.hint).toMatch(/extract it first/);
    expect(cli(["inspect", file]).code).toBe(6);
  });

  it("an unreadable path (a symlink loop)", async () => {
    const dir = tempDir();
    symlinkSync("loop", join(dir, "loop"));
    expect((await inspectError(join(dir, "loop"))).code).toBe("E_TREE_UNREADABLE");
    const r = cli(["inspect", join(dir, "loop")]);
    expect(r.code).toBe(6);
    expect(oneLineError(r)).toMatch(/expected a Kubernetes source tree directory at .*loop, found a symbolic link loop \(ELOOP\)/);
  });

  it.skipIf(process.getuid?.() === 0)("an unreadable path (no permission)", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16", kind: "dir" });
    execFileSync("chmod", ["000", tree.root]);
    try {
      expect((await inspectError(tree.root)).code).toBe("E_TREE_UNREADABLE");
    } finally {
      execFileSync("chmod", ["755", tree.root]);
    }
  });

  it("an unreadable file inside the tree names the file", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16", kind: "dir" });
    rmSync(join(tree.root, "go.mod"));
    mkdirSync(join(tree.root, "go.mod"));
    const err = await inspectError(tree.root);
    expect(err.code).toBe("E_TREE_UNREADABLE");
    expect(err.message).toBe("expected a regular file at go.mod, found a directory; nothing was changed");
  });

  it("a special file where a source file should be is reported, never opened (a FIFO would block)", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16", kind: "dir" });
    execFileSync("mkfifo", [join(tree.root, RUNC_FS, "stray.go")]);
    const err = await inspectError(tree.root);
    expect(err.code).toBe("E_TREE_UNREADABLE");
    expect(err.message).toBe(`expected a regular file at ${RUNC_FS}/stray.go, found a FIFO; nothing was changed`);
  });

  it("a tree without vendored runc", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.18", kind: "dir" });
    rmSync(join(tree.root, "vendor/github.com/opencontainers"), { recursive: true });
    const err = await inspectError(tree.root);
    expect(err.code).toBe("E_TREE_NO_RUNC");
    expect(err.message).toMatch(
      /expected the vendored runc package vendor\/github\.com\/opencontainers\/runc\/libcontainer\/cgroups\/fs\/ in .*, found no such directory/,
    );
  });

  it("a vendored runc that matches no known layout", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.13", kind: "dir" });
    const memoryGo = readFileSync(join(tree.root, RUNC_FS, "memory.go"), "utf8");
    writeFileSync(join(tree.root, RUNC_FS, "memory_copy.go"), memoryGo);
    const err = await inspectError(tree.root);
    expect(err.code).toBe("E_TREE_KMEM_LAYOUT");
    expect(err.oneLine()).not.toContain("\n");
  });

  it("a tree extracted inside another git repository is not taken for a checkout of it", async () => {
    const outer = tempDir();
    git(outer, ["init", "-q"]);
    const tree = await makeTree(join(outer, "src", "kubernetes"), { era: "1.20", kind: "dir" });
    expect((await inspectTree(tree.root, { catalog })).treeKind).toBe("dir");
  });

  it("files the inspection does not need are never opened (a FIFO elsewhere in the tree)", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16", kind: "dir" });
    mkdirSync(join(tree.root, "pkg/kubelet"), { recursive: true });
    execFileSync("mkfifo", [join(tree.root, "pkg/kubelet/pipe")]);
    expect((await inspectTree(tree.root, { catalog, version: "1.16.15" })).agrees).toBe(true);
  });
});

describe("the inspect command", () => {
  it("--json prints the documented fields", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.15" });
    const r = cli(["inspect", tree.root, "--json"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const json = JSON.parse(r.stdout);
    for (const key of ["version", "treeKind", "runc", "kmemLayout", "strategy", "catalogStrategy", "agrees", "goVersion", "patched", "evidence", "notes"]) {
      expect(json, key).toHaveProperty(key);
    }
    expect(json).toMatchObject({
      version: "1.15.12",
      treeKind: "git-clean",
      kmemLayout: "split-rc6",
      strategy: "build-tag",
      agrees: true,
      goVersion: "1.12.17",
    });
  });

  it("--version on a plain directory", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16", kind: "dir" });
    const r = cli(["inspect", tree.root, "--version", "1.16.15", "--json"]);
    expect(JSON.parse(r.stdout)).toMatchObject({ version: "1.16.15", versionSource: "flag", strategy: "kmem-override", agrees: true });
  });

  it("a bad --version is a usage error (exit 2), before the tree is read", () => {
    const r = cli(["inspect", tempDir(), "--version", "1.16; rm -rf /"]);
    expect(r.code).toBe(2);
    expect(oneLineError(r)).toMatch(/found "1\.16; rm -rf \/"/);
  });

  it("--help shows examples", () => {
    const r = cli(["inspect", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Examples:\n\s+\$ kubelet-nokmem inspect/);
    expect(r.stdout).toContain("--version <release>");
  });

  it("the tool's own --version still prints the tool version", () => {
    const r = cli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("the caller's git environment (GIT_DIR from a hook, EDITOR) does not redirect or break git", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.18" });
    const r = cli(["inspect", tree.root, "--json"], { GIT_DIR: join(tempDir(), "elsewhere"), GIT_WORK_TREE: tempDir(), EDITOR: "vi" });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ treeKind: "git-clean", version: "1.18.20", commit: tree.commit });
  });

  it("global options are accepted after the command", () => {
    const r = cli(["resolve", "1.16.15", "--catalog", join(tempDir(), "missing.json")]);
    expect(r.code).toBe(5);
  });
});
