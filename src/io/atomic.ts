/**
 * Files that others read (patched sources, binaries, manifests, the catalog)
 * are written to a temporary name in the same folder, fsynced, then renamed:
 * a reader sees the old file or the new one, never half of one.
 */
import { open, readdir, rename, rm, stat, chmod } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";

/** `.<name>.<pid>.<8 hex>.tmp` beside the file: the pid says whose it is, so a dead writer's leftovers can be recognised. */
export function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

const TEMP_NAME = /^\.(.+)\.([1-9]\d{0,9})\.[0-9a-f]{8}\.tmp$/;

/** Whether a process with this pid runs on this machine (EPERM: it does, as someone else). */
export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/**
 * Remove temporary files of our own naming that a writer killed mid-write
 * left in `dir` (a 32 MB source file's copy would otherwise stay forever):
 * those for `name` only, or with `anyName` every one, and only when the pid
 * in the name no longer runs. Best effort: a folder that cannot be read or
 * written is left as it is.
 */
export async function removeStaleTemps(dir: string, which: { name?: string; anyName?: boolean }): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = TEMP_NAME.exec(n);
    if (!m || (!which.anyName && m[1] !== which.name)) continue;
    if (pidAlive(Number(m[2]))) continue;
    try {
      await rm(join(dir, n), { force: true });
      removed.push(n);
    } catch {
      /* best effort */
    }
  }
  return removed;
}

interface AtomicWriteOptions {
  /** File mode; by default the existing file's mode, else 0o644. */
  mode?: number;
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  let mode = opts.mode;
  if (mode === undefined) {
    try {
      mode = (await stat(path)).mode & 0o7777;
    } catch {
      mode = 0o644;
    }
  }
  await removeStaleTemps(dirname(path), { name: basename(path) });
  const tmp = tempNameFor(path);
  try {
    await writeNewFile(tmp, data, mode);
  } catch (err) {
    await rm(tmp, { force: true });
    throw withPath(err, path);
  }
  try {
    await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(path));
}

/** Create `path` (EEXIST when something is there: never over another file), write `data`, and sync it before closing. */
export async function writeNewFile(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const fh = await open(path, "wx", mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A write error (ENOSPC, EIO) carries no path by itself: name the file, for the message a person reads. */
function withPath(err: unknown, path: string): unknown {
  if (err instanceof Error && (err as NodeJS.ErrnoException).code && !(err as NodeJS.ErrnoException).path) Object.assign(err, { path });
  return err;
}

/** Make a rename durable. Some filesystems refuse to open a directory: ignore. */
export async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* best effort */
  }
}
