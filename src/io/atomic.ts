/**
 * Files that others read (patched sources, binaries, manifests, the catalog)
 * are written to a temporary name in the same folder, fsynced, then renamed:
 * a reader sees the old file or the new one, never half of one.
 */
import { open, rename, rm, stat, chmod } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";

export function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
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
  const tmp = tempNameFor(path);
  const fh = await open(tmp, "wx", mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw withPath(err, path);
  }
  await fh.close();
  try {
    await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(path));
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
