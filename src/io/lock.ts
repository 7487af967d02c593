/**
 * A lock file made with O_EXCL: the first process to create it holds the
 * resource. The file records the holder's pid and host, so a lock left by a
 * process that died (kill -9, a crash, a reboot) is recognised as stale and
 * taken over instead of blocking every later run.
 */
import { link, open, rm, rename } from "node:fs/promises";
import { readRegularText } from "./read.js";
import { hostname } from "node:os";
import { BusyError, InterruptedError } from "../errors.js";
import { tempNameFor } from "./atomic.js";

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  purpose: string;
}

interface LockOptions {
  /** What is locked, for messages ("the output folder /x"). */
  what: string;
  /** Written into the lock file so a person can see who holds it. */
  purpose?: string;
  /** Wait for the holder instead of failing with BusyError. */
  wait?: boolean;
  signal?: AbortSignal;
  pollMs?: number;
  /** Shown as the fix when not waiting. */
  hint?: string;
  /** Called once when a wait starts (to say so). */
  onWait?: (holder: LockHolder | null) => void;
}

export interface Lock {
  path: string;
  release(): Promise<void>;
}

export async function acquireLock(path: string, opts: LockOptions): Promise<Lock> {
  const me: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), purpose: opts.purpose ?? "" };
  let told = false;
  for (;;) {
    if (opts.signal?.aborted) throw new InterruptedError("E_INTERRUPTED", `interrupted while waiting for ${opts.what}`);
    try {
      const fh = await open(path, "wx", 0o644);
      try {
        await fh.writeFile(`${JSON.stringify(me)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      return { path, release: () => releaseLock(path) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = await readHolder(path);
    if (holder && isStale(holder)) {
      await takeOverStale(path, holder);
      continue;
    }
    if (!opts.wait) {
      const who = holder ? `process ${holder.pid} on ${holder.host} since ${holder.startedAt}${holder.purpose ? ` (${holder.purpose})` : ""}` : "another process";
      throw new BusyError("E_BUSY", `expected ${opts.what} to be free, found it locked by ${who}`, opts.hint ?? `wait for it to finish, or re-run with --wait`);
    }
    if (!told) {
      told = true;
      opts.onWait?.(holder);
    }
    await sleep(opts.pollMs ?? 500, opts.signal);
  }
}

async function releaseLock(path: string): Promise<void> {
  const holder = await readHolder(path);
  // Never remove a lock someone else took over after ours went stale.
  if (holder && (holder.pid !== process.pid || holder.host !== hostname())) return;
  await rm(path, { force: true });
}

async function readHolder(path: string): Promise<LockHolder | null> {
  try {
    const parsed = JSON.parse(await readRegularText(path, { maxBytes: 64 * 1024 })) as Partial<LockHolder>;
    if (typeof parsed.pid !== "number" || typeof parsed.host !== "string") return null;
    return { pid: parsed.pid, host: parsed.host, startedAt: String(parsed.startedAt ?? ""), purpose: String(parsed.purpose ?? "") };
  } catch {
    // Being written right now, or garbage: not stale by itself.
    return null;
  }
}

/** A holder on this host whose pid no longer exists. Other hosts are never judged. */
function isStale(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return false;
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/**
 * Move the stale file aside under a unique name, then delete it: if two
 * processes both see the same stale lock, only one rename succeeds on that
 * exact file, and the loser retries `open(wx)` like everyone else.
 */
async function takeOverStale(path: string, holder: LockHolder): Promise<void> {
  const aside = tempNameFor(path);
  try {
    await rename(path, aside);
  } catch {
    return;
  }
  const moved = await readHolder(aside);
  if (moved && (moved.pid !== holder.pid || moved.host !== holder.host)) {
    // We moved a fresh lock someone took in between: put it back.
    // link() fails if yet another lock appeared meanwhile, so nothing is overwritten.
    await link(aside, path).catch(() => undefined);
    await rm(aside, { force: true });
    return;
  }
  await rm(aside, { force: true });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
