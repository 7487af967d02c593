/**
 * A few files of a source read before it is staged, so a plan can be decided
 * (and printed by --dry-run) without copying, extracting or fetching anything.
 * Directories are read in place, local git repositories at the ref; for other
 * sources (remote git, tarballs) the files are read once the tree is staged.
 */
import { confinedRoot, readConfined } from "../io/confine.js";
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

/**
 * Files of a tree on disk: path → content, null when absent or not a regular
 * file. Read through the same confinement as every tree read: a link out of
 * the tree, a FIFO or a device is never opened (it counts as absent here; the
 * staged tree's inspection reports it).
 */
async function readFiles(root: string, paths: readonly string[]): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  const tree = await confinedRoot(root).catch(() => null);
  for (const p of paths) {
    const bytes = tree ? await readConfined(tree, p, { maxBytes: PEEK_MAX_BYTES }).catch(() => null) : null;
    out[p] = bytes === null ? null : bytes.toString("utf8");
  }
  return out;
}

/** A build-image file is a few kB; a larger one is not read. */
const PEEK_MAX_BYTES = 1024 * 1024;
