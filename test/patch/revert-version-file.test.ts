/**
 * `patch --revert` undoes everything apply did, the version stamp included:
 * the file it wrote (default `_output/kubelet-nokmem/version.env`) is removed
 * or restored, and the folders apply created for it are removed, so the tree
 * is byte for byte (and folder for folder) what it was.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_VERSION_FILE, runPatch } from "../../src/patch/engine.js";
import { makeTree } from "../fixtures/k8s-tree.js";
import { tempDir } from "../helpers/tmp.js";
import { resolution, snapshot } from "./helpers.js";

/** Every folder under root (but .git/), so a folder left behind shows. */
function folders(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory() || (dir === root && e.name === ".git")) continue;
      out.push(relative(root, join(dir, e.name)));
      walk(join(dir, e.name));
    }
  };
  walk(root);
  return out.sort();
}

describe("revert removes what apply created", () => {
  it.each(["1.16", "1.18", "1.13"] as const)("era %s: the default version file and its folders are gone after --revert", async (era) => {
    const tree = await makeTree(join(tempDir(), "k"), { era, kind: "git" });
    const before = { files: snapshot(tree.root), dirs: folders(tree.root) };
    const applied = await runPatch(tree.root, resolution(tree.version));
    expect(applied.versionFile?.treePath).toBe(DEFAULT_VERSION_FILE);
    expect(existsSync(join(tree.root, DEFAULT_VERSION_FILE))).toBe(true);

    await runPatch(tree.root, resolution(tree.version), { operation: "revert" });
    expect(snapshot(tree.root)).toEqual(before.files);
    expect(folders(tree.root)).toEqual(before.dirs);
  });

  it("a version file that was there before apply gets its own bytes back, and a folder that existed stays", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.18", kind: "git" });
    mkdirSync(join(tree.root, "_output/kubelet-nokmem"), { recursive: true });
    writeFileSync(join(tree.root, DEFAULT_VERSION_FILE), "KUBE_GIT_VERSION='v0.0.0-mine'\n");
    const before = { files: snapshot(tree.root), dirs: folders(tree.root) };
    await runPatch(tree.root, resolution(tree.version));
    expect(readFileSync(join(tree.root, DEFAULT_VERSION_FILE), "utf8")).toContain(`v${tree.version}`);

    await runPatch(tree.root, resolution(tree.version), { operation: "revert" });
    expect(snapshot(tree.root)).toEqual(before.files);
    expect(folders(tree.root)).toEqual(before.dirs);
  });

  it("a version file changed after apply is left alone (it is no longer what apply wrote)", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.18", kind: "git" });
    await runPatch(tree.root, resolution(tree.version));
    writeFileSync(join(tree.root, DEFAULT_VERSION_FILE), "edited by hand\n");
    await runPatch(tree.root, resolution(tree.version), { operation: "revert" });
    expect(readFileSync(join(tree.root, DEFAULT_VERSION_FILE), "utf8")).toBe("edited by hand\n");
  });
});
