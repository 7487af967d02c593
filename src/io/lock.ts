/**
 * An advisory lock file beside a resource: created with O_EXCL, holding the
 * owner's pid. A lock whose owner is gone is stale and taken over, so a
 * killed process never blocks the next one for good.
 */
import { open, readFile, rm } from "node:fs/promises";
import { BusyError } from "../errors.js";

export interface LockOptions {
  /** How long to wait for another holder; 0 fails at once. */
  waitMs?: number;
  /** What the lock protects, for messages. */
  what?: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function tryAcquire(lockPath: string): Promise<boolean> {
  try {
    const fh = await open(lockPath, "wx");
    await fh.writeFile(`${process.pid}\n`);
    await fh.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const owner = Number.parseInt(await readFile(lockPath, "utf8").catch(() => ""), 10);
    if (Number.isFinite(owner) && owner > 0 && !alive(owner)) {
      await rm(lockPath, { force: true });
      return tryAcquire(lockPath);
    }
    return false;
  }
}

export async function withLock<T>(lockPath: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.waitMs ?? 30_000);
  let delay = 20;
  while (!(await tryAcquire(lockPath))) {
    if (Date.now() >= deadline) {
      const owner = (await readFile(lockPath, "utf8").catch(() => "?")).trim();
      throw new BusyError("E_LOCKED", `expected ${opts.what ?? lockPath} to be free, found it locked by process ${owner} (${lockPath})`, `wait for that process, or remove ${lockPath} if it is gone`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 500);
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}
