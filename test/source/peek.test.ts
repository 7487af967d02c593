/** peekSource on a directory: the build-image files are read through the tree's confinement, before anything is staged. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { peekSource } from "../../src/source/peek.js";

const COMMON = "build/common.sh";
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function treeWith(plant: (tree: string, outside: string) => void): string {
  const top = mkdtempSync(join(tmpdir(), "kn-peek-"));
  dirs.push(top);
  const tree = join(top, "tree");
  const outside = join(top, "outside");
  mkdirSync(join(tree, "build"), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, "secret"), 'KUBE_BASE_IMAGE_REGISTRY="evil.example"\n');
  plant(tree, outside);
  return tree;
}

const peek = (tree: string) => peekSource({ kind: "directory", path: tree }, "v1.20.2", [COMMON]);

describe("peekSource on a directory", () => {
  it("reads a regular file of the tree", async () => {
    const tree = treeWith((t) => writeFileSync(join(t, COMMON), 'KUBE_BASE_IMAGE_REGISTRY="k8s.gcr.io"\n'));
    expect(await peek(tree)).toEqual({ [COMMON]: 'KUBE_BASE_IMAGE_REGISTRY="k8s.gcr.io"\n' });
  });

  it("does not follow a link out of the tree: the file counts as absent", async () => {
    const tree = treeWith((t, o) => symlinkSync(join(o, "secret"), join(t, COMMON)));
    expect(await peek(tree)).toEqual({ [COMMON]: null });
  });

  it("never opens a FIFO (the call returns; the file counts as absent)", async () => {
    const tree = treeWith((t) => execFileSync("mkfifo", [join(t, COMMON)]));
    expect(await peek(tree)).toEqual({ [COMMON]: null });
  });

  it("names a missing file as absent", async () => {
    const tree = treeWith(() => undefined);
    expect(await peek(tree)).toEqual({ [COMMON]: null });
  });
});
