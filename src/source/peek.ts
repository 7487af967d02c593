/**
 * A few files of a source read before it is staged, so a plan can be decided
 * (and printed by --dry-run) without copying, extracting or fetching anything.
 * Directories are read in place, local git repositories at the ref; for other
 * sources (remote git, tarballs) the files are read once the tree is staged.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { readFilesAtRef } from "./git.js";
import type { SourceSpec } from "./types.js";

/** path → content (null when absent); null as a whole when the source cannot be read before staging. */
export async function peekSource(spec: SourceSpec, ref: string, paths: readonly string[]): Promise<Record<string, string | null> | null> {
  switch (spec.kind) {
    case "directory":
      return readFiles(spec.path, paths);
    case "git":
      return readFilesAtRef(spec.url, ref, paths);
    case "archive":
      return null;
  }
}

/** Files of a tree on disk: path → content, null when absent or not a regular file. */
async function readFiles(root: string, paths: readonly string[]): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  for (const p of paths) {
    const st = await stat(join(root, p)).catch(() => null);
    // Never open a FIFO or device: reading one could block.
    out[p] = st?.isFile() ? await readFile(join(root, p), "utf8").catch(() => null) : null;
  }
  return out;
}
