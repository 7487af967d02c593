/**
 * The tree's vendored-runc kmem layout, read before patching: the catalog's
 * strategy must fit it, and a disagreement is reported, never resolved
 * silently (DOMAIN.md). Only the runc fs package is read (not the whole
 * tree, and not `git status`); the classification is tree inspection's own
 * detector, so `inspect` and `patch` never disagree.
 */
import { readdir } from "node:fs/promises";
import { readText } from "./tree-io.js";
import { join } from "node:path";
import { TreeError } from "../errors.js";
import { detectKmemLayout, RUNC_FS_DIR, UnknownLayoutError, type KmemDetection } from "../tree/kmem-layout.js";

export async function treeLayout(root: string): Promise<KmemDetection> {
  const versionSh = await readText(join(root, "hack/lib/version.sh"), "hack/lib/version.sh");
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
    const text = await readText(join(root, RUNC_FS_DIR, name), `${RUNC_FS_DIR}/${name}`);
    if (text !== null) files[name] = text;
  }
  try {
    return detectKmemLayout(files);
  } catch (err) {
    if (!(err instanceof UnknownLayoutError)) throw err;
    throw new TreeError("E_TREE_KMEM_LAYOUT", `expected a known kmem layout in ${RUNC_FS_DIR}, found: ${err.message}; nothing was changed`, "restore the folder with `git checkout -- vendor/` (or from the release tarball) and run the patch again");
  }
}
