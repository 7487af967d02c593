/**
 * Making a folder and its missing parents. Not `mkdir(path, { recursive:
 * true })`: under procfs Node's recursive mkdir loops forever at 100% CPU
 * (`mkdir /proc/nope/x` fails with ENOENT for ever, and Node retries the
 * parent), so `patch --version-file /proc/nope/x` never returned. Here each
 * level is made once, from the nearest existing ancestor down, and any
 * failure is thrown with the path it happened at.
 */
import { mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { fileKind } from "./read.js";

/** A path whose nearest existing ancestor is not a folder. */
class NotADirectoryError extends Error {
  readonly code = "ENOTDIR";
  constructor(
    readonly path: string,
    readonly found: string,
  ) {
    super(`expected a folder at ${path}, found ${found}`);
    this.name = "NotADirectoryError";
  }
}

export async function ensureDirectory(path: string): Promise<void> {
  const missing: string[] = [];
  let at = path;
  for (;;) {
    try {
      const st = await stat(at);
      if (!st.isDirectory()) throw new NotADirectoryError(at, st.isFile() ? "a file" : fileKind(st));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      const up = dirname(at);
      if (up === at) throw err;
      missing.unshift(at);
      at = up;
    }
  }
  for (const dir of missing) {
    try {
      await mkdir(dir);
    } catch (err) {
      // Made meanwhile by someone else: fine, if it is a folder.
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || !(await stat(dir)).isDirectory()) throw err;
    }
  }
}
