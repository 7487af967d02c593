/** Walking a source tree in a stable order, and running file work a few at a time. */
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

export interface Entry {
  /** Relative, with `/` separators. */
  rel: string;
  type: "file" | "dir" | "symlink";
  mode: number;
  size: number;
  mtimeMs: number;
}

/** Top-level entries that are never part of a source tree: git's own data and build output. */
const NOT_SOURCE = new Set([".git", "_output"]);

/** Every entry under root, parents before children, siblings in byte order. */
export async function walk(root: string, skipTop: ReadonlySet<string> = NOT_SOURCE): Promise<Entry[]> {
  const out: Entry[] = [];
  async function visit(relDir: string): Promise<void> {
    const names = (await readdir(join(root, relDir))).sort(byteOrder);
    const stats = await Promise.all(names.map((n) => lstat(join(root, relDir, n))));
    const subdirs: string[] = [];
    names.forEach((name, i) => {
      if (!relDir && skipTop.has(name)) return;
      const st = stats[i]!;
      const rel = relDir ? `${relDir}/${name}` : name;
      const type = st.isSymbolicLink() ? "symlink" : st.isDirectory() ? "dir" : st.isFile() ? "file" : null;
      if (!type) return; // sockets, fifos, devices: not source
      out.push({ rel, type, mode: st.mode & 0o7777, size: st.size, mtimeMs: st.mtimeMs });
      if (type === "dir") subdirs.push(rel);
    });
    for (const d of subdirs) await visit(d);
  }
  await visit("");
  return out;
}

export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Run `fn` over items with at most `limit` in flight; results in input order. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      signal?.throwIfAborted();
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
