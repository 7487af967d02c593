/**
 * A content digest of a source tree, the same for every kind of source: a git
 * checkout, an extracted tarball and a directory with the same files get the
 * same digest. It covers each path, its type, the executable bit (the only
 * mode git keeps) and the content; not owners or times.
 *
 * The same pass also yields the in-toto DigestSet `dirHash` (Go's dirhash
 * Hash1 in hex: sha256 over `sha256sum` lines of the regular files, sorted
 * by path in byte order; symlinks are not files to `find -type f` and are
 * left out), the form a third party can recompute with coreutils alone.
 */
import { createHash } from "node:crypto";
import { readlink } from "node:fs/promises";
import { streamRegularFile } from "../io/read.js";
import { join } from "node:path";
import type { TreeDigest } from "./types.js";
import { byteOrder, pool, walk } from "./walk.js";

export async function digestTree(root: string, signal?: AbortSignal): Promise<TreeDigest> {
  const entries = (await walk(root)).filter((e) => e.type !== "dir");
  const hashed = await pool(
    entries,
    16,
    async (e) => {
      if (e.type === "symlink") return { line: `l 120000 ${sha256(await readlink(join(root, e.rel)))} ${e.rel}\n`, file: null };
      const exec = e.mode & 0o111 ? "100755" : "100644";
      const h = createHash("sha256");
      await streamRegularFile(join(root, e.rel), (c) => h.update(c), { signal });
      const sum = h.digest("hex");
      return { line: `f ${exec} ${sum} ${e.rel}\n`, file: `${sum}  ${e.rel}\n` };
    },
    signal,
  );
  const h = createHash("sha256");
  for (const x of hashed) h.update(x.line);
  const dir = createHash("sha256");
  const files = entries.map((e, i) => ({ rel: e.rel, line: hashed[i]!.file })).filter((f): f is { rel: string; line: string } => f.line !== null);
  for (const f of files.sort((a, b) => byteOrder(a.rel, b.rel))) dir.update(f.line);
  let bytes = 0;
  let newest = 0;
  for (const e of entries) {
    bytes += e.size;
    newest = Math.max(newest, e.mtimeMs);
  }
  return { digest: `sha256:${h.digest("hex")}`, dirHash: dir.digest("hex"), files: entries.length, bytes, newestMtime: Math.floor(newest / 1000) };
}

function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}
