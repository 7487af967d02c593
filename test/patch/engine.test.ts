/**
 * The engine against generated trees of every era: apply, re-apply as a
 * no-op, revert byte for byte; and every way a patch must refuse, with the
 * tree left exactly as it was.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyPatch, parsePatch } from "diff";
import { describe, expect, it } from "vitest";
import { ToolError } from "../../src/errors.js";
import { applyStrategy, DEFAULT_VERSION_FILE, PatchDriftError, runPatch } from "../../src/patch/engine.js";
import { ERAS, ERA_FACTS, makeTree, RUNC_FS } from "../fixtures/k8s-tree.js";
import { tempDir } from "../helpers/tmp.js";
import { CHANGES, KMEM_GO, MEMORY_GO, resolution, snapshot } from "./helpers.js";

async function thrown(p: Promise<unknown>): Promise<ToolError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ToolError) return err;
    throw err;
  }
  throw new Error("expected the run to fail");
}

describe.each(["git", "archive", "dir"] as const)("%s trees", (kind) => {
  it.each(ERAS)("era %s: applies, re-applies as a no-op, reverts byte for byte", async (era) => {
    const tree = await makeTree(join(tempDir(), "k"), { era, kind });
    const versionFile = join(tempDir(), "version.env");
    const r = resolution(tree.version);
    const commit = kind === "dir" ? "0123456789abcdef0123456789abcdef01234567" : undefined;
    const original = snapshot(tree.root);

    const first = await runPatch(tree.root, r, { versionFile, commit });
    expect(first.files.filter((f) => f.state === "changed").map((f) => f.path)).toEqual(CHANGES[era]);
    expect(first.applied).toBe(CHANGES[era].length > 0);
    const patched = snapshot(tree.root);
    for (const path of CHANGES[era]) {
      const text = readFileSync(join(tree.root, path), "utf8");
      expect(text).toContain("kernel memory accounting disabled in this runc build");
    }
    expect(readFileSync(versionFile, "utf8")).toContain(`KUBE_GIT_VERSION='v${tree.version}'`);
    expect(readFileSync(versionFile, "utf8")).toContain(`KUBE_GIT_COMMIT='${tree.commit ?? commit}'`);

    const again = await runPatch(tree.root, r, { versionFile, commit });
    expect(again.applied).toBe(false);
    expect(again.alreadyApplied).toBe(CHANGES[era].length > 0);
    expect(again.versionFile?.written).toBe(false);
    expect(snapshot(tree.root)).toEqual(patched);

    const back = await runPatch(tree.root, r, { operation: "revert" });
    expect(back.reverted).toBe(CHANGES[era].length > 0);
    expect(snapshot(tree.root)).toEqual(original);
    const twice = await runPatch(tree.root, r, { operation: "revert" });
    expect(twice.alreadyReverted).toBe(true);
    expect(snapshot(tree.root)).toEqual(original);
  });
});

it("reverts a reference tree patched without a record (e.g. by git apply) from the series itself", async () => {
  const tree = await makeTree(join(tempDir(), "k"), { era: "1.16" });
  const original = readFileSync(join(tree.root, KMEM_GO), "utf8");
  await runPatch(tree.root, resolution(tree.version), { versionFile: join(tempDir(), "v") });
  rmSync(join(tree.root, ".kubelet-nokmem"), { recursive: true });
  await runPatch(tree.root, resolution(tree.version), { operation: "revert" });
  expect(readFileSync(join(tree.root, KMEM_GO), "utf8")).toBe(original);
});

it("--dry-run's diff is exactly what apply writes", async () => {
  for (const era of ["1.13", "1.16"] as const) {
    const tree = await makeTree(join(tempDir(), "k"), { era, memoryGoVariant: 1 });
    const before = snapshot(tree.root);
    const dry = await runPatch(tree.root, resolution(tree.version), { write: false });
    expect(snapshot(tree.root)).toEqual(before);
    const [fileDiff] = parsePatch(dry.diff);
    const path = fileDiff!.newFileName.replace(/^b\//, "");
    const expected = applyPatch(readFileSync(join(tree.root, path), "utf8"), fileDiff!);
    await runPatch(tree.root, resolution(tree.version));
    expect(readFileSync(join(tree.root, path), "utf8")).toBe(expected);
  }
});

it("writes new inodes: a hard-linked copy of the tree keeps the original bytes", async () => {
  const tree = await makeTree(join(tempDir(), "k"), { era: "1.16" });
  const copy = join(tempDir(), "copy");
  execFileSync("cp", ["-al", tree.root, copy]);
  const inode = statSync(join(copy, KMEM_GO)).ino;
  const original = readFileSync(join(tree.root, KMEM_GO), "utf8");
  await runPatch(copy, resolution(tree.version));
  expect(readFileSync(join(tree.root, KMEM_GO), "utf8")).toBe(original);
  expect(statSync(join(copy, KMEM_GO)).ino).not.toBe(inode);
  expect(statSync(join(tree.root, KMEM_GO)).mode).toBe(statSync(join(copy, KMEM_GO)).mode);
});

it("keeps kmem.go's own build constraint when only the +build line exists", async () => {
  const tree = await makeTree(join(tempDir(), "k"), { era: "1.16", kind: "dir" });
  const p = join(tree.root, KMEM_GO);
  writeFileSync(p, readFileSync(p, "utf8").replace(/^\/\/go:build .*\n/, ""));
  await runPatch(tree.root, resolution(tree.version));
  const text = readFileSync(p, "utf8");
  expect(text.startsWith("// +build linux,!nokmem\n\npackage fs\n")).toBe(true);
  expect(text).toContain("kernel memory accounting disabled in this runc build");
});

describe("the version stamp", () => {
  it("defaults to _output/kubelet-nokmem/version.env and reports the tree-relative path", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.20" });
    const rec = await applyStrategy(tree.root, resolution(tree.version));
    expect(rec.versionFile?.treePath).toBe(DEFAULT_VERSION_FILE);
    expect(readFileSync(join(tree.root, DEFAULT_VERSION_FILE), "utf8")).toBe(
      `# Written by kubelet-nokmem: the version stamp of a patched tree (KUBE_GIT_VERSION_FILE).\nKUBE_GIT_VERSION='v1.20.2'\nKUBE_GIT_COMMIT='${tree.commit}'\nKUBE_GIT_TREE_STATE='clean'\nKUBE_GIT_MAJOR='1'\nKUBE_GIT_MINOR='20'\n`,
    );
  });

  it("takes a build-metadata suffix", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16" });
    const rec = await applyStrategy(tree.root, resolution(tree.version), { versionSuffix: "nokmem.1" });
    expect(rec.versionFile?.gitVersion).toBe("v1.16.15+nokmem.1");
    expect(readFileSync(rec.versionFile!.path, "utf8")).toContain("KUBE_GIT_VERSION='v1.16.15+nokmem.1'");
    const err = await thrown(applyStrategy(tree.root, resolution(tree.version), { versionSuffix: "no kmem" }));
    expect(err.code).toBe("E_VERSION_SUFFIX");
  });

  it("--edit-version-sh sets the tree state clean in version.sh, and revert restores it", async () => {
    for (const kind of ["git", "archive"] as const) {
      const tree = await makeTree(join(tempDir(), "k"), { era: "1.16", kind });
      const sh = join(tree.root, "hack/lib/version.sh");
      const original = readFileSync(sh, "utf8");
      const out = await runPatch(tree.root, resolution(tree.version), { editVersionSh: true });
      expect(out.files.map((f) => f.path).sort()).toEqual(["hack/lib/version.sh", KMEM_GO]);
      const edited = readFileSync(sh, "utf8");
      expect(edited).not.toMatch(/KUBE_GIT_TREE_STATE="(dirty|archive)"/);
      expect(edited).toContain('KUBE_GIT_TREE_STATE="clean"');
      await runPatch(tree.root, resolution(tree.version), { operation: "revert" });
      expect(readFileSync(sh, "utf8")).toBe(original);
    }
  });

  it("the record build copies lists patch digests and file digests", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.13" });
    const rec = await applyStrategy(tree.root, resolution(tree.version));
    expect(rec).toMatchObject({ strategy: "vendor-stub", series: "vendor-stub/1.13", version: "1.13.12", alreadyApplied: false });
    // With each patch's text as the series holds it: the build's SBOMs carry it without reading the file again.
    expect(rec.patches).toEqual([
      {
        name: "../common/0001-stub-kmem-functions-in-memory-go.patch",
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        text: expect.stringContaining("memory.go"),
      },
    ]);
    const [p] = rec.patches;
    expect(
      createHash("sha256")
        .update(p?.text ?? "")
        .digest("hex"),
    ).toBe(p?.sha256);
    expect(rec.files).toEqual([{ path: MEMORY_GO, before: expect.stringMatching(/^[0-9a-f]{64}$/), after: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    const again = await applyStrategy(tree.root, resolution(tree.version));
    expect(again.alreadyApplied).toBe(true);
    expect(again.files).toEqual(rec.files);
  });
});

describe("refusals leave the tree unchanged, with one clear line", () => {
  it("drift: every failing hunk, expected against found", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16" });
    const patches = join(tempDir(), "patches");
    mkdirSync(join(patches, "kmem-override/1.16"), { recursive: true });
    writeFileSync(join(patches, "kmem-override/1.16/series"), "0001-a.patch\n");
    const p = join(tree.root, KMEM_GO);
    const text = readFileSync(p, "utf8");
    const lines = text.split("\n");
    // A plain-hunks patch with two hunks, then the tree drifts under both.
    const diff = [
      `--- a/${KMEM_GO}`,
      `+++ b/${KMEM_GO}`,
      "@@ -4,3 +4,4 @@",
      ` ${lines[3]}`,
      ` ${lines[4]}`,
      "+// one",
      ` ${lines[5]}`,
      "@@ -16,2 +17,3 @@",
      ` ${lines[15]}`,
      "+// two",
      ` ${lines[16]}`,
      "",
    ].join("\n");
    writeFileSync(join(patches, "kmem-override/1.16/0001-a.patch"), `Subject: test\n\n${diff}`);
    writeFileSync(p, text.replace("package fs", "package fsx").replace(lines[15]!, "// changed here"));
    const before = snapshot(tree.root);
    const err = await thrown(runPatch(tree.root, resolution(tree.version), { patchesRoot: patches }));
    expect(err).toBeInstanceOf(PatchDriftError);
    const drift = err as PatchDriftError;
    expect(drift.problems.map((p) => p.hunk)).toEqual([1, 2]);
    expect(drift.problems[0]).toMatchObject({
      path: KMEM_GO,
      line: 4,
      expected: ["package fs", lines[4], lines[5]],
      found: ["package fsx", lines[4], lines[5]],
    });
    expect(drift.oneLine()).toMatch(/^expected kmem-override\/1\.16 to apply cleanly, found 2 problems \(2 hunks\) in .*kmem\.go; nothing was changed \(fix: /);
    expect(drift.report().join("\n")).toContain("expected: package fs");
    expect(drift.exitCode).toBe(7);
    expect(snapshot(tree.root)).toEqual(before);
  });

  it("fuzz: off by default, --fuzz 1 lets a hunk with one changed context line apply", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16" });
    const patches = join(tempDir(), "patches");
    mkdirSync(join(patches, "kmem-override/1.16"), { recursive: true });
    writeFileSync(join(patches, "kmem-override/1.16/series"), "0001-a.patch\n");
    const p = join(tree.root, KMEM_GO);
    const lines = readFileSync(p, "utf8").split("\n");
    const diff = [
      `--- a/${KMEM_GO}`,
      `+++ b/${KMEM_GO}`,
      "@@ -4,5 +4,6 @@",
      ...[3, 4, 5].map((i) => ` ${lines[i]}`),
      "+\t// added",
      ...[6, 7].map((i) => ` ${lines[i]}`),
      "",
    ].join("\n");
    writeFileSync(join(patches, "kmem-override/1.16/0001-a.patch"), `Subject: test\n\n${diff}`);
    writeFileSync(p, lines.map((l, i) => (i === 3 ? "package fs // drifted" : l)).join("\n"));
    const err = await thrown(runPatch(tree.root, resolution(tree.version), { patchesRoot: patches }));
    expect(err.code).toBe("E_PATCH_DRIFT");
    const ok = await runPatch(tree.root, resolution(tree.version), { patchesRoot: patches, fuzz: 1 });
    expect(ok.applied).toBe(true);
    expect(readFileSync(p, "utf8")).toContain("\t// added");
  });

  it.each([
    ["an absolute path", "/etc/passwd"],
    ["a path with ..", "../outside.go"],
    ["a path into the tool's own state", ".kubelet-nokmem/journal.json"],
  ])("escape: %s", async (_what, target) => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16" });
    const patches = join(tempDir(), "patches");
    mkdirSync(join(patches, "kmem-override/1.16"), { recursive: true });
    writeFileSync(join(patches, "kmem-override/1.16/series"), "0001-ok.patch\n0002-escape.patch\n");
    writeFileSync(
      join(patches, "kmem-override/1.16/0001-ok.patch"),
      `Subject: ok\n\n--- a/README.md\n+++ b/README.md\n@@ -1,1 +1,2 @@\n${readFileSync(join(tree.root, "README.md"), "utf8")
        .split("\n")
        .slice(0, 1)
        .map((l) => ` ${l}`)
        .join("\n")}\n+added\n`,
    );
    const prefix = target.startsWith("/") ? "" : "a/";
    writeFileSync(
      join(patches, "kmem-override/1.16/0002-escape.patch"),
      `Subject: escape\n\n--- ${prefix}${target}\n+++ ${prefix.replace("a", "b")}${target}\n@@ -0,0 +1,1 @@\n+x\n`,
    );
    const before = snapshot(tree.root);
    const err = await thrown(runPatch(tree.root, resolution(tree.version), { patchesRoot: patches }));
    expect(err.code).toBe("E_PATCH_ESCAPE");
    expect(err.oneLine()).toMatch(/expected a path inside the tree, found .*nothing was changed/);
    expect(snapshot(tree.root)).toEqual(before);
  });

  it("escape: a symlink on the way that leads out of the tree", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16", kind: "dir" });
    const outside = tempDir();
    const outsideFs = join(outside, "fs");
    execFileSync("cp", ["-a", join(tree.root, RUNC_FS), outsideFs]);
    rmSync(join(tree.root, RUNC_FS), { recursive: true });
    symlinkSync(outsideFs, join(tree.root, RUNC_FS));
    const before = snapshot(tree.root);
    const outsideBefore = snapshot(outside);
    const err = await thrown(runPatch(tree.root, resolution(tree.version)));
    expect(err.code).toBe("E_PATCH_ESCAPE");
    expect(err.oneLine()).toContain("through a symlink");
    expect(snapshot(tree.root)).toEqual(before);
    expect(snapshot(outside)).toEqual(outsideBefore);
  });

  it("a symlink that stays inside the tree is followed (vendor/k8s.io → staging)", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16", kind: "dir" });
    const staged = join(tree.root, "staging/runc-fs");
    mkdirSync(join(tree.root, "staging"));
    execFileSync("mv", [join(tree.root, RUNC_FS), staged]);
    symlinkSync("../../../../../../staging/runc-fs", join(tree.root, RUNC_FS));
    await runPatch(tree.root, resolution(tree.version));
    expect(readFileSync(join(staged, "kmem.go"), "utf8")).toContain("disabled in this runc build");
  });

  it("a patch for another line: the 1.16 series on a 1.13 tree", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.13", kind: "dir" });
    const before = snapshot(tree.root);
    const err = await thrown(runPatch(tree.root, resolution("1.16.15")));
    expect(err.code).toBe("E_TREE_LAYOUT");
    expect(err.oneLine()).toMatch(
      /^expected a tree with the split-rc7\+ or split-rc6 kmem layout for v1\.16\.15 \(strategy kmem-override\), found the pre-split layout; nothing was changed/,
    );
    expect(snapshot(tree.root)).toEqual(before);
  });

  it("a missing target file", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16", kind: "dir" });
    rmSync(join(tree.root, `${RUNC_FS}/kmem_disabled.go`));
    const before = snapshot(tree.root);
    const err = await thrown(runPatch(tree.root, resolution(tree.version)));
    expect(err.code).toBe("E_PATCH_DRIFT");
    expect((err as PatchDriftError).problems[0]?.message).toBe(`expected ${RUNC_FS}/kmem_disabled.go (the replacement's source) to exist, found no such file`);
    expect(snapshot(tree.root)).toEqual(before);
  });

  it("an unreadable file: kmem_disabled.go, which the override reads, is a directory", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16", kind: "dir" });
    const p = join(tree.root, `${RUNC_FS}/kmem_disabled.go`);
    rmSync(p);
    mkdirSync(p);
    const before = snapshot(tree.root);
    const err = await thrown(runPatch(tree.root, resolution("1.16.15")));
    expect(err.code).toBe("E_PATCH_UNREADABLE");
    expect(err.oneLine()).toBe(
      `expected a regular file at ${RUNC_FS}/kmem_disabled.go, found a directory; nothing was changed (fix: restore ${RUNC_FS}/kmem_disabled.go from the release's source)`,
    );
    expect(snapshot(tree.root)).toEqual(before);
  });

  it("an immutable target file (chattr +i)", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16", kind: "dir" });
    const p = join(tree.root, KMEM_GO);
    try {
      execFileSync("chattr", ["+i", p], { stdio: "pipe" });
    } catch {
      return; // the file system has no immutable flag; the read-only tree test covers refusal
    }
    try {
      const before = snapshot(tree.root);
      const err = await thrown(runPatch(tree.root, resolution(tree.version), { versionFile: join(tempDir(), "v") }));
      expect(err.code).toBe("E_PATCH_READONLY");
      expect(err.oneLine()).toContain("immutable");
      expect(snapshot(tree.root)).toEqual(before);
    } finally {
      execFileSync("chattr", ["-i", p]);
    }
  });

  it("a read-only tree (a tmpfs remounted read-only)", async () => {
    const mnt = tempDir("kn-ro-");
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", mnt], { stdio: "pipe" });
    } catch {
      // Without the privilege to mount, imitate with a folder without write permission (not for root).
      if (process.getuid?.() === 0) throw new Error("root but cannot mount a tmpfs");
      return;
    }
    try {
      const tree = await makeTree(join(mnt, "k"), { era: "1.13", kind: "dir" });
      execFileSync("mount", ["-o", "remount,ro", mnt]);
      const before = snapshot(tree.root);
      const err = await thrown(runPatch(tree.root, resolution(tree.version)));
      expect(err.code).toBe("E_PATCH_READONLY");
      expect(err.oneLine()).toBe(
        `expected to be able to write ${MEMORY_GO}, found a read-only file system; nothing was changed (fix: copy the tree somewhere writable (or remount it read-write) and run the patch there)`,
      );
      expect(snapshot(tree.root)).toEqual(before);
      // Checking and showing still work on a read-only tree.
      expect((await runPatch(tree.root, resolution(tree.version), { write: false })).diff).toContain("+\treturn errors.New(");
    } finally {
      execFileSync("umount", [mnt]);
    }
  });
});

it("a plain folder without --version or a commit: the stamp says so, the patch still applies", async () => {
  const tree = await makeTree(join(tempDir(), "k"), { era: "1.16", kind: "dir" });
  const notes: string[] = [];
  const out = await runPatch(tree.root, resolution(tree.version), { progress: (l) => notes.push(l) });
  expect(out.versionFile?.commit).toBeNull();
  expect(notes.join("\n")).toContain("pass --commit");
  expect(existsSync(join(tree.root, DEFAULT_VERSION_FILE))).toBe(true);
});

it("era facts and the catalog agree on each fixture's strategy", () => {
  for (const era of ERAS) {
    const r = resolution(ERA_FACTS[era].version);
    expect(r.kmemLayout).toBe(ERA_FACTS[era].layout);
  }
});

it("a kmem.go whose constraint lost !nokmem is refused as an unknown layout before any change", async () => {
  const tree = await makeTree(join(tempDir(), "k"), { era: "1.16", kind: "dir" });
  const p = join(tree.root, KMEM_GO);
  writeFileSync(p, readFileSync(p, "utf8").replace(/^\/\/go:build.*\n\/\/ \+build.*\n/, "// +build linux\n"));
  const before = snapshot(tree.root);
  const err = await thrown(runPatch(tree.root, resolution(tree.version)));
  expect(err.code).toBe("E_TREE_KMEM_LAYOUT");
  expect(snapshot(tree.root)).toEqual(before);
});

it.each([
  ["1.13", 0],
  ["1.13", 1],
  ["1.16", 0],
] as const)("tree inspection sees era %s (variant %i) as patched after the patch, and unpatched after revert", async (era, variant) => {
  const { readTreeFacts } = await import("../../src/tree/inspect.js");
  const treeLayout = async (root: string) => (await readTreeFacts(root, { status: false })).kmem;
  const tree = await makeTree(join(tempDir(), "k"), { era, memoryGoVariant: variant });
  expect((await treeLayout(tree.root)).patched).toBe(false);
  await runPatch(tree.root, resolution(tree.version), { versionFile: join(tempDir(), "v") });
  const after = await treeLayout(tree.root);
  expect(after.layout).toBe(ERA_FACTS[era].layout);
  expect(after.patched).toBe(true);
  await runPatch(tree.root, resolution(tree.version), { operation: "revert" });
  expect((await treeLayout(tree.root)).patched).toBe(false);
});
