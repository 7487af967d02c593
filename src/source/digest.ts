/**
 * A content digest of a source tree, the same for every kind of source: a git
 * checkout, an extracted tarball and a directory with the same files get the
 * same digest. It covers each path, its type, the executable bit (the only
 * mode git keeps) and the content; not owners or times.
 */
import { createHash } from "node:crypto";
import { readlink } from "node:fs/promises";
import { streamRegularFile } from "../io/read.js";
import { join } from "node:path";
import type { TreeDigest } from "./types.js";
import { pool, walk } from "./walk.js";

export async function digestTree(root: string, signal?: AbortSignal): Promise<TreeDigest> {
  const entries = (await walk(root)).filter((e) => e.type !== "dir");
  const lines = await pool(
    entries,
    16,
    async (e) => {
      if (e.type === "symlink") return `l 120000 ${sha256(await readlink(join(root, e.rel)))} ${e.rel}\n`;
      const exec = e.mode & 0o111 ? "100755" : "100644";
      const h = createHash("sha256");
      await streamRegularFile(join(root, e.rel), (c) => h.update(c), { signal });
      return `f ${exec} ${h.digest("hex")} ${e.rel}\n`;
    },
    signal,
  );
  const h = createHash("sha256");
  for (const l of lines) h.update(l);
  let bytes = 0;
  let newest = 0;
  for (const e of entries) {
    bytes += e.size;
    newest = Math.max(newest, e.mtimeMs);
  }
  return { digest: `sha256:${h.digest("hex")}`, files: entries.length, bytes, newestMtime: Math.floor(newest / 1000) };
}

function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}
