/**
 * Sources for `--source`: each becomes a staged working copy that belongs to
 * the build alone, plus the facts the plan and the manifest need (commit, its
 * time, a content digest, what kind of source it was).
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { archiveSha256, extractArchive, readArchiveHeader } from "./archive.js";
import { TreeError } from "../errors.js";
import { digestTree } from "./digest.js";
import { addWorktree, fetchRef } from "./git.js";
import { stageDirectory } from "./stage.js";
import type { SourceSpec, StagedSource, StageOptions } from "./types.js";

export { parseSource } from "./parse.js";
export { breakLink } from "./stage.js";
export { digestTree } from "./digest.js";
export * from "./types.js";

export async function stageSource(spec: SourceSpec, opts: StageOptions): Promise<StagedSource> {
  switch (spec.kind) {
    case "git": {
      const f = await fetchRef(opts.cacheDir, spec.url, opts.ref, { signal: opts.signal, onProgress: opts.onProgress });
      const cleanup = await addWorktree(f.mirror, opts.into, f.commit, opts.signal);
      try {
        const digest = await digestTree(opts.into, opts.signal);
        return {
          kind: "git",
          origin: spec.display,
          tree: opts.into,
          ref: opts.ref,
          commit: f.commit,
          archiveSha256: null,
          time: f.time,
          timeFrom: "commit",
          gitTree: f.gitTree,
          digest,
          staging: { method: "worktree", linked: 0, copied: digest.files },
          cleanup,
        };
      } catch (err) {
        await cleanup();
        throw err;
      }
    }
    case "archive": {
      const cleanup = once(() => rm(opts.into, { recursive: true, force: true }));
      try {
        // Hashed before and after extracting: the digest the manifest records must be of the bytes that were built.
        const before = await archiveSha256(spec.path, opts.signal);
        const header = await readArchiveHeader(spec.path);
        const tree = await extractArchive(spec.path, opts.into, opts.signal);
        const sha256 = await archiveSha256(spec.path, opts.signal);
        if (sha256 !== before) {
          throw new TreeError(
            "E_ARCHIVE",
            `expected ${spec.path} to stay the same while it was extracted, found its sha256 changed (${before.slice(0, 12)}… → ${sha256.slice(0, 12)}…)`,
            "build from a copy nothing else writes to",
          );
        }
        const digest = await digestTree(tree, opts.signal);
        const time = header.mtime ?? digest.newestMtime;
        return {
          kind: "archive",
          origin: spec.path,
          tree,
          ref: null,
          commit: header.commit,
          archiveSha256: sha256,
          time,
          timeFrom: header.mtime !== null ? "archive" : "newest-file",
          gitTree: null,
          digest,
          staging: { method: "extract", linked: 0, copied: digest.files },
          cleanup,
        };
      } catch (err) {
        await cleanup();
        throw err;
      }
    }
    case "directory": {
      const cleanup = once(() => rm(opts.into, { recursive: true, force: true }));
      try {
        const tree = join(opts.into);
        const staged = await stageDirectory(spec.path, tree, { mode: opts.linkMode ?? "auto", willModify: opts.willModify, signal: opts.signal });
        const digest = await digestTree(tree, opts.signal);
        return {
          kind: "directory",
          origin: spec.path,
          tree,
          ref: null,
          commit: null,
          archiveSha256: null,
          time: digest.newestMtime,
          timeFrom: "newest-file",
          gitTree: null,
          digest,
          staging: { method: staged.linked ? "link" : "copy", ...staged },
          cleanup,
        };
      } catch (err) {
        await cleanup();
        throw err;
      }
    }
  }
}

function once(fn: () => Promise<unknown>): () => Promise<void> {
  let p: Promise<unknown> | undefined;
  return async () => {
    await (p ??= fn());
  };
}
