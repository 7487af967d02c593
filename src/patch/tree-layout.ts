/**
 * The tree's vendored-runc kmem layout, read before patching: the catalog's
 * strategy must fit it, and a disagreement is reported, never resolved
 * silently (DOMAIN.md). Only the runc fs package is read (not the whole
 * tree, and not `git status`); the classification is tree inspection's own
 * detector, so `inspect` and `patch` never disagree.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { TreeError } from "../errors.js";
import { detectKmemLayout, RUNC_FS_DIR, type KmemDetection } from "../tree/kmem-layout.js";

export async function treeLayout(root: string): Promise<KmemDetection> {
  const versionSh = await readFile(join(root, "hack/lib/version.sh"), "utf8").catch(() => null);
  const names = await readdir(join(root, RUNC_FS_DIR)).catch(() => null);
  if (versionSh === null || names === null) {
    throw new TreeError(
      "E_TREE_NOT_KUBERNETES",
      `expected a Kubernetes source tree with hack/lib/version.sh and ${RUNC_FS_DIR}/ at ${root}, found ${versionSh === null ? "no hack/lib/version.sh" : "no vendored runc cgroups/fs"}; nothing was changed`,
      "pass the top folder of a Kubernetes source tree (the one holding hack/ and vendor/)",
    );
  }
  const files: Record<string, string> = {};
  for (const name of names.filter((n) => n.endsWith(".go") && !n.endsWith("_test.go"))) {
    const text = await readFile(join(root, RUNC_FS_DIR, name), "utf8").catch(() => null);
    if (text !== null) files[name] = text;
  }
  return detectKmemLayout(files);
}
