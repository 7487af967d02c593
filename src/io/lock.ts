/**
 * A lock file: the first process to create it holds the resource. It is
 * created whole — the holder's record is written to a temporary file that is
 * then hard-linked to the lock's name (link fails when the name exists) — so
 * a lock file is never seen empty or half-written while its holder lives.
 * That makes the rules simple: a lock is stale, and taken over, when it is
 * empty or unparsable (ENOSPC while an older version wrote it, a crash, a
 * hand edit), or when its holder is a process on this host that no longer
 * runs (kill -9, a crash, a reboot; a reused pid is told apart by its start
 * time). A holder on another host is never judged.
 *
 * Waits are bounded (`waitMs`, then BusyError naming the holder, exit 9) and
 * end at once when the abort signal fires (SIGINT/SIGTERM: InterruptedError).
 */
import { readFileSync } from "node:fs";
import { link, rm, rename, writeFile } from "node:fs/promises";
import { readRegularText } from "./read.js";
import { hostname } from "node:os";
import { BusyError, InterruptedError } from "../errors.js";
import { pidAlive, tempNameFor, writeNewFile } from "./atomic.js";

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  purpose: string;
  /** The holder's start time in clock ticks after boot (/proc/PID/stat), to tell a reused pid apart. */
  pidStart?: number;
}

interface LockOptions {
  /** What is locked, for messages ("the output folder /x"). */
  what: string;
  /** Written into the lock file so a person can see who holds it. */
  purpose?: string;
  /** Wait for the holder instead of failing with BusyError at once. */
  wait?: boolean;
  /** How long to wait at most (default 10 minutes); then BusyError. */
  waitMs?: number;
  signal?: AbortSignal;
  pollMs?: number;
  /** Shown as the fix. */
  hint?: string;
  /** Called once when a wait starts (to say so). */
  onWait?: (holder: LockHolder | null) => void;
}

export interface Lock {
  path: string;
  release(): Promise<void>;
}

const DEFAULT_WAIT_MS = 10 * 60_000;

/** What a lock file says, read without changing anything. */
type LockState = { state: "free"; holder: null } | { state: "held"; holder: LockHolder } | { state: "stale"; holder: LockHolder | null };

export async function lockState(path: string): Promise<LockState> {
  const read = await readHolder(path);
  if (read === "missing") return { state: "free", holder: null };
  if (read === "garbage") return { state: "stale", holder: null };
  return isStale(read) ? { state: "stale", holder: read } : { state: "held", holder: read };
}

export async function acquireLock(path: string, opts: LockOptions): Promise<Lock> {
  const me: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), purpose: opts.purpose ?? "", ...pidStartOf(process.pid) };
  const record = `${JSON.stringify(me)}\n`;
  const limit = opts.waitMs ?? DEFAULT_WAIT_MS;
  const started = Date.now();
  let told = false;
  for (;;) {
    checkAborted(opts);
    if (await create(path, record)) return { path, release: () => releaseLock(path) };
    const read = await readHolder(path);
    if (read === "missing") continue; // released just now
    if (read === "garbage" || isStale(read)) {
      await takeOverStale(path, read);
      continue;
    }
    const who = `process ${read.pid} on ${read.host} since ${read.startedAt}${read.purpose ? ` (${read.purpose})` : ""}`;
    if (!opts.wait) {
      throw new BusyError("E_BUSY", `expected ${opts.what} to be free, found it locked by ${who}`, opts.hint ?? `wait for it to finish, or re-run with --wait`);
    }
    if (Date.now() - started >= limit) {
      throw new BusyError(
        "E_BUSY",
        `expected ${opts.what} to become free within ${Math.round(limit / 1000)} s, found it still locked by ${who}`,
        opts.hint ?? `wait for that process to finish (or end it), then re-run`,
      );
    }
    if (!told) {
      told = true;
      opts.onWait?.(read);
    }
    await sleep(Math.min(opts.pollMs ?? 500, Math.max(1, limit - (Date.now() - started))), opts.signal);
  }
}

function checkAborted(opts: LockOptions): void {
  if (opts.signal?.aborted) throw new InterruptedError("E_INTERRUPTED", `interrupted while waiting for ${opts.what}`);
}

/** Create the lock file with its whole content, or false when it exists. */
async function create(path: string, record: string): Promise<boolean> {
  const tmp = tempNameFor(path);
  try {
    await writeFile(tmp, record, { flag: "wx", mode: 0o644 });
    try {
      await link(tmp, path);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") return false;
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP") throw err;
    }
  } finally {
    await rm(tmp, { force: true }).catch(() => undefined);
  }
  // A file system without hard links: O_EXCL, and the record written right after.
  try {
    await writeNewFile(path, record);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

async function releaseLock(path: string): Promise<void> {
  const holder = await readHolder(path);
  // Never remove a lock someone else took over after ours went stale.
  if (typeof holder === "object" && (holder.pid !== process.pid || holder.host !== hostname())) return;
  await rm(path, { force: true });
}

async function readHolder(path: string): Promise<LockHolder | "missing" | "garbage"> {
  let text: string;
  try {
    text = await readRegularText(path, { maxBytes: 64 * 1024 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    return "garbage"; // a folder, a FIFO, a symlink loop: not a lock this tool made
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder>;
    if (!Number.isInteger(parsed.pid) || (parsed.pid as number) <= 0 || typeof parsed.host !== "string") return "garbage";
    return {
      pid: parsed.pid!,
      host: parsed.host,
      startedAt: String(parsed.startedAt ?? ""),
      purpose: String(parsed.purpose ?? ""),
      ...(typeof parsed.pidStart === "number" ? { pidStart: parsed.pidStart } : {}),
    };
  } catch {
    return "garbage";
  }
}

/** A process's start time (field 22 of /proc/PID/stat), where Linux tells it. */
function pidStartOf(pid: number): { pidStart?: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const start = Number(fields[19]);
    return Number.isFinite(start) ? { pidStart: start } : {};
  } catch {
    return {};
  }
}

/** A holder on this host whose pid no longer runs, or runs as another process than the one that locked. Other hosts are never judged. */
function isStale(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return false;
  if (!pidAlive(holder.pid) && holder.pid !== process.pid) return true;
  if (holder.pidStart !== undefined) {
    const now = pidStartOf(holder.pid).pidStart;
    if (now !== undefined && now !== holder.pidStart) return true;
  }
  return false;
}

/**
 * Move the stale file aside under a unique name, then delete it: if two
 * processes both see the same stale lock, only one rename succeeds on that
 * exact file, and the loser retries like everyone else.
 */
async function takeOverStale(path: string, seen: LockHolder | "garbage"): Promise<void> {
  const aside = tempNameFor(path);
  try {
    await rename(path, aside);
  } catch {
    return;
  }
  const moved = await readHolder(aside);
  const same =
    seen === "garbage"
      ? moved === "garbage"
      : typeof moved === "object" && moved.pid === seen.pid && moved.host === seen.host && moved.startedAt === seen.startedAt;
  if (!same) {
    // We moved a fresh lock someone took in between: put it back.
    // link() fails if yet another lock appeared meanwhile, so nothing is overwritten.
    await link(aside, path).catch(() => undefined);
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
