/**
 * A minimal look at a tree before patching it: is it a Kubernetes tree, and
 * which vendored-runc kmem layout does it have? The strategy the catalog
 * picked must fit that layout; a disagreement is reported, never resolved
 * silently (DOMAIN.md). `layoutOf` is pure over the files' content.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { KmemLayout } from "../catalog/types.js";
import { TreeError } from "../errors.js";

export const RUNC_FS = "vendor/github.com/opencontainers/runc/libcontainer/cgroups/fs";

export interface RuncFsContent {
  memoryGo: string | null;
  kmemGo: string | null;
  kmemDisabledGo: string | null;
}

export function layoutOf(fs: RuncFsContent): KmemLayout | null {
  if (fs.kmemGo !== null) return fs.kmemDisabledGo?.includes("kernel memory accounting disabled in this runc build") ? "split-rc7+" : "split-rc6";
  if (fs.memoryGo === null) return null;
  if (/^func\s+EnableKernelMemoryAccounting\s*\(/m.test(fs.memoryGo)) return "pre-split";
  return fs.memoryGo.includes("memory.kmem.limit_in_bytes") ? "legacy" : "absent";
}

const read = (p: string) => readFile(p, "utf8").catch(() => null);

/** Read the few files that tell the layout. TreeError when the tree is not Kubernetes-shaped. */
export async function treeLayout(root: string): Promise<KmemLayout> {
  const kube = await read(join(root, "hack/lib/version.sh"));
  const fs: RuncFsContent = {
    memoryGo: await read(join(root, RUNC_FS, "memory.go")),
    kmemGo: await read(join(root, RUNC_FS, "kmem.go")),
    kmemDisabledGo: await read(join(root, RUNC_FS, "kmem_disabled.go")),
  };
  const layout = layoutOf(fs);
  if (kube === null || layout === null) {
    throw new TreeError(
      "E_TREE_NOT_KUBERNETES",
      `expected a Kubernetes source tree with hack/lib/version.sh and ${RUNC_FS}/memory.go at ${root}, found ${kube === null ? "no hack/lib/version.sh" : "no vendored runc cgroups/fs"}`,
      "pass the top folder of a Kubernetes source tree (the one holding hack/ and vendor/)",
    );
  }
  return layout;
}
