/**
 * Shared pieces of the hostile-input tests for non-regular files, signals,
 * arguments and errno failures: the real CLI as a child process with a
 * generous timeout (a hang fails the test instead of stalling it), folder
 * snapshots that never open a FIFO or device, the one-line error check, and
 * the process tree of a running CLI.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { CLI } from "../support/built-cli.js";

export { CLI, ensureBuilt } from "../support/built-cli.js";

/** Far above any healthy run; a run that is still going then is a hang. */
export const HANG_TIMEOUT_MS = 20_000;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the run had to be killed at HANG_TIMEOUT_MS. */
  hung: boolean;
}

export function cli(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    timeout: HANG_TIMEOUT_MS,
    killSignal: "SIGKILL",
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, hung: r.signal === "SIGKILL" };
}

/** The run ended by itself with `code`, and its error is exactly one line matching `message`. */
export function expectOneLineError(r: CliResult, code: number, message: RegExp): void {
  expect(r.hung, `the run hung: ${r.stderr}`).toBe(false);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("kubelet-nokmem: "));
  expect(errors, r.stderr).toHaveLength(1);
  expect(errors[0]).toMatch(message);
  expect(errors[0]).not.toMatch(/internal error/);
  expect(r.code, r.stderr).toBe(code);
}

/**
 * Every entry under `root` → its type, mode and (regular files only) the
 * sha256 of its bytes. FIFOs, sockets and devices are recorded, never opened.
 */
export function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(root)) return out;
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(abs);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[r] = `link ${readlinkSync(abs)}`;
      else if (st.isDirectory()) {
        out[r] = `dir ${mode}`;
        walk(abs, r);
      } else if (st.isFile()) out[r] = `file ${mode} ${createHash("sha256").update(readFileSync(abs)).digest("hex")}`;
      else out[r] = `special ${mode} ${st.isFIFO() ? "fifo" : st.isSocket() ? "socket" : "device"}`;
    }
  };
  walk(root, "");
  return out;
}

/** A running CLI, for signal tests. */
export interface Running {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function start(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Running {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  let out = "";
  child.stderr.on("data", (d) => (err += String(d)));
  child.stdout.on("data", (d) => (out += String(d)));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return { child, stderr: () => err, stdout: () => out, ended };
}

/** Wait until stderr matches (the run reached the point under test); fails if the run ends first. */
export async function waitFor(r: Running, pattern: RegExp, timeoutMs = HANG_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (pattern.test(r.stderr())) return;
    if (r.child.exitCode !== null || r.child.signalCode !== null) throw new Error(`the run ended before ${pattern}: ${r.stderr()}`);
    if (Date.now() > deadline) throw new Error(`no ${pattern} after ${timeoutMs} ms: ${r.stderr()}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** Wait for the run to end, killing it (and failing) if it does not within the hang timeout. */
export async function ended(r: Running): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<"hung">((resolve) => (timer = setTimeout(() => resolve("hung"), HANG_TIMEOUT_MS)));
  const result = await Promise.race([r.ended, hang]);
  clearTimeout(timer);
  if (result === "hung") {
    r.child.kill("SIGKILL");
    throw new Error(`the run did not end after a signal: ${r.stderr()}`);
  }
  return result;
}

interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
  comm: string;
}

function procInfo(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const f = stat.slice(close + 2).split(" ");
    return { pid, state: f[0]!, ppid: Number(f[1]), pgid: Number(f[2]), comm };
  } catch {
    return null;
  }
}

/** Every live descendant of `pid` (children, their children …), from /proc. */
export function descendants(pid: number): ProcInfo[] {
  const all = readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .map((n) => procInfo(Number(n)))
    .filter((p): p is ProcInfo => p !== null);
  const out: ProcInfo[] = [];
  const parents = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) {
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid);
        out.push(p);
        grew = true;
      }
    }
  }
  return out;
}

/** Processes among `procs` (or in their process groups) still running: not gone, not zombies. */
function stillRunning(procs: readonly ProcInfo[]): ProcInfo[] {
  // The test runner's own group is never one a child of the CLI was started in on purpose.
  const own = procInfo(process.pid)?.pgid;
  const groups = new Set(procs.map((p) => p.pgid).filter((g) => g !== own));
  const alive = readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .map((n) => procInfo(Number(n)))
    .filter((p): p is ProcInfo => p !== null && p.state !== "Z" && p.state !== "X");
  return alive.filter((p) => groups.has(p.pgid) || procs.some((q) => q.pid === p.pid));
}

/** Poll until no process of `procs` (or their groups) runs; returns what is left after `timeoutMs`. */
export async function awaitGone(procs: readonly ProcInfo[], timeoutMs = 5_000): Promise<ProcInfo[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = stillRunning(procs);
    if (!left.length || Date.now() > deadline) return left;
    await new Promise((res) => setTimeout(res, 50));
  }
}
