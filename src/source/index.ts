/**
 * Sources for `--source`: each becomes a staged working copy that belongs to
 * the build alone, plus the facts the plan and the manifest need (commit, its
 * time, a content digest, what kind of source it was).
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { extractArchive, readArchiveHeader } from "./archive.js";
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
        const header = await readArchiveHeader(spec.path);
        const tree = await extractArchive(spec.path, opts.into, opts.signal);
        const digest = await digestTree(tree, opts.signal);
        const time = header.mtime ?? digest.newestMtime;
        return {
          kind: "archive",
          origin: spec.path,
          tree,
          ref: null,
          commit: header.commit,
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
