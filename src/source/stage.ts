/**
 * Staging a plain directory: the build gets its own tree, the user's files are
 * never written. Copying 280 MB for every build is slow, so files the build
 * only reads are hard-linked. A hard link shares the file with the user's
 * tree, so a write through it would change the user's file: only parts no
 * build step writes are linked (vendor/ in `auto` mode), the files the patch
 * step rewrites are always copied, and `breakLink` lets any later writer turn
 * a linked file into a private copy first. Copies use reflinks where the
 * filesystem has them (btrfs, xfs): COPYFILE_FICLONE falls back to a copy.
 */
import { constants } from "node:fs";
import { copyFile, link, lstat, mkdir, readlink, rename, symlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import { tempNameFor } from "../io/atomic.js";
import type { LinkMode } from "./types.js";
import { pool, walk, type Entry } from "./walk.js";

/** In `auto` mode, the parts of a Kubernetes tree no build step writes. */
const READ_ONLY_PREFIXES = ["vendor/"];

export function shouldLink(rel: string, mode: LinkMode, willModify: ReadonlySet<string>): boolean {
  if (willModify.has(rel)) return false;
  switch (mode) {
    case "copy":
      return false;
    case "link":
      return true;
    case "auto":
      return READ_ONLY_PREFIXES.some((p) => rel.startsWith(p));
  }
}

interface StageDirResult {
  linked: number;
  copied: number;
}

export async function stageDirectory(
  src: string,
  dst: string,
  opts: { mode: LinkMode; willModify: readonly string[]; signal?: AbortSignal },
): Promise<StageDirResult> {
  const entries = await walk(src);
  const willModify = new Set(opts.willModify);
  await mkdir(dst, { recursive: false });
  for (const e of entries) if (e.type === "dir") await mkdir(join(dst, e.rel), { mode: e.mode | 0o700 });
  let linking = opts.mode !== "copy";
  let linked = 0;
  let copied = 0;
  await pool(
    entries.filter((e) => e.type !== "dir"),
    32,
    async (e: Entry) => {
      const from = join(src, e.rel);
      const to = join(dst, e.rel);
      if (e.type === "symlink") return symlink(await readlink(from), to);
      if (linking && shouldLink(e.rel, opts.mode, willModify)) {
        try {
          await link(from, to);
          linked++;
          return;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          // Another filesystem, or protected_hardlinks refusing a file we do not own: copy instead.
          if (code === "EXDEV") linking = false;
          else if (code !== "EPERM" && code !== "EACCES" && code !== "EMLINK") throw err;
        }
      }
      await copyPreserving(from, to, e);
      copied++;
    },
    opts.signal,
  );
  return { linked, copied };
}

async function copyPreserving(from: string, to: string, e: Pick<Entry, "mode" | "mtimeMs">): Promise<void> {
  // copyFile keeps the permission bits (libuv copies the source's mode).
  await copyFile(from, to, constants.COPYFILE_FICLONE);
  // Keep times: make decides what to regenerate by comparing them.
  await utimes(to, e.mtimeMs / 1000, e.mtimeMs / 1000);
}

/**
 * Make `path` a file of its own before writing to it: if it is hard-linked
 * (shared with the user's tree), replace it with a private copy, atomically.
 * Returns true if a link was broken. The patch step calls this before every write.
 */
export async function breakLink(path: string): Promise<boolean> {
  const st = await lstat(path);
  if (!st.isFile() || st.nlink <= 1) return false;
  const tmp = tempNameFor(path);
  await copyPreserving(path, tmp, { mode: st.mode & 0o7777, mtimeMs: st.mtimeMs });
  await rename(tmp, path);
  return true;
}
