/**
 * The one door to child processes. Commands are argument arrays, never shell
 * strings; a failure becomes an ExecError with the command, its exit code and
 * the tail of its stderr.
 */
import type { Options as ExecaOptions, ResultPromise } from "execa";

// execa is loaded on first use: most commands (audit, verify, resolve) never
// start a process, and loading it costs about 90 ms of every start.
let execaModule: Promise<typeof import("execa")> | undefined;
const loadExeca = () => (execaModule ??= import("execa"));
import { BuildError, EnvironmentError, ToolError } from "../errors.js";

interface Command {
  file: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

export class ExecError extends BuildError {
  constructor(
    readonly command: Command,
    readonly exitCodeOfChild: number | undefined,
    readonly stderrTail: string,
    readonly signal?: string,
  ) {
    const status = signal ? `was killed by ${signal}` : `exited with code ${exitCodeOfChild}`;
    const tail = stderrTail.trim().split("\n").slice(-1)[0] ?? "";
    super("E_EXEC", `\`${formatCommand(command)}\` ${status}${tail ? `: ${tail}` : ""}`);
  }
}

/** Quote a command for display only (never executed through a shell). */
export function formatCommand(cmd: Pick<Command, "file" | "args">): string {
  return [cmd.file, ...cmd.args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(" ");
}

export function tail(text: string, lines = 20): string {
  return text.split("\n").slice(-lines).join("\n");
}

export interface RunOptions {
  /** Stream each output line here (stdout and stderr interleaved). */
  onLine?: (line: string) => void;
  input?: string;
  signal?: AbortSignal;
  /** Do not throw on a non-zero exit. */
  reject?: boolean;
  timeoutMs?: number;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Run a command to completion. Throws EnvironmentError if the program is missing. */
export async function run(cmd: Command, opts: RunOptions = {}): Promise<RunResult> {
  const { child } = await spawn(cmd, opts);
  if (opts.onLine) {
    const emit = (chunk: unknown) => {
      for (const line of String(chunk).split("\n")) if (line.length) opts.onLine!(line);
    };
    child.stdout?.on("data", emit);
    child.stderr?.on("data", emit);
  }
  try {
    const r = await child;
    // With reject: false a program that could not be started still "resolves",
    // without an exit code: that is never success.
    if (r.failed && r.exitCode === undefined) throw toExecError(cmd, r);
    return { exitCode: r.exitCode ?? 0, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") };
  } catch (err) {
    throw toExecError(cmd, err);
  }
}

/**
 * Every child runs as the leader of its own process group, so that stopping
 * it stops what it started too: SIGTERM to `make` alone leaves its `go`
 * and `compile` children running for minutes. On cancellation the group gets
 * SIGTERM, then SIGKILL after KILL_AFTER_MS; groups still alive when this
 * process exits are killed then.
 */
const KILL_AFTER_MS = 300;
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

function trackGroup(child: ResultPromise, signal: AbortSignal | undefined): void {
  const pid = child.pid;
  if (pid === undefined) return;
  liveGroups.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const g of liveGroups) signalGroup(g, "SIGKILL");
    });
  }
  let killer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    signalGroup(pid, "SIGTERM");
    killer = setTimeout(() => signalGroup(pid, "SIGKILL"), KILL_AFTER_MS);
    killer.unref();
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  const settled = () => {
    signal?.removeEventListener("abort", onAbort);
    // The leader is gone; anything left in its group was started by it and is ours to end.
    if (signal?.aborted) signalGroup(pid, "SIGKILL");
    liveGroups.delete(pid);
    clearTimeout(killer);
  };
  child.then(settled, settled);
}

/** The options every child gets: its own process group, killed as a whole on cancellation. */
function childOptions(signal: AbortSignal | undefined): ExecaOptions {
  return { detached: true, cancelSignal: signal, forceKillAfterDelay: KILL_AFTER_MS };
}

/** Start a command. The child is wrapped: a bare ResultPromise would be awaited to its end. */
async function spawn(cmd: Command, opts: RunOptions = {}): Promise<{ child: ResultPromise }> {
  const { execa } = await loadExeca();
  const options: ExecaOptions = {
    ...childOptions(opts.signal),
    cwd: cmd.cwd,
    env: cmd.env,
    extendEnv: true,
    reject: opts.reject ?? true,
    input: opts.input,
    timeout: opts.timeoutMs,
    stripFinalNewline: true,
    buffer: true,
    maxBuffer: 512 * 1024 * 1024,
  };
  const child = execa(cmd.file, cmd.args, options);
  trackGroup(child, opts.signal);
  return { child };
}

function toExecError(cmd: Command, err: unknown): ToolError {
  if (err instanceof ToolError) return err;
  const e = err as { code?: string; exitCode?: number; stderr?: unknown; signal?: string; isCanceled?: boolean };
  if (e.code === "ENOENT") {
    return new EnvironmentError("E_PROGRAM_MISSING", `expected the program \`${cmd.file}\` on PATH, found nothing`, `install ${cmd.file} or put it on PATH`);
  }
  return new ExecError(cmd, e.exitCode, tail(typeof e.stderr === "string" ? e.stderr : ""), e.signal);
}

/**
 * Run `from | to` without a shell: `from`'s stdout streams into `to`'s stdin
 * (neither side is buffered in memory, so a gigabyte tar stream is fine).
 * Lines of `to`'s output and both stderrs go to `onLine`. Either side failing
 * fails the whole, as `set -o pipefail` would.
 */
export async function runPipeline(from: Command, to: Command, opts: RunOptions = {}): Promise<RunResult> {
  const { execa } = await loadExeca();
  const common: ExecaOptions = { ...childOptions(opts.signal), extendEnv: true, timeout: opts.timeoutMs, stripFinalNewline: true };
  const source = execa(from.file, from.args, { ...common, cwd: from.cwd, env: from.env, stdin: "ignore", buffer: { stdout: false, stderr: true } });
  const sink = execa(to.file, to.args, { ...common, cwd: to.cwd, env: to.env, buffer: true, maxBuffer: 64 * 1024 * 1024 });
  trackGroup(source, opts.signal);
  trackGroup(sink, opts.signal);
  if (opts.onLine) {
    const emit = (chunk: unknown) => {
      for (const line of String(chunk).split("\n")) if (line.length) opts.onLine!(line);
    };
    source.stderr?.on("data", emit);
    sink.stdout?.on("data", emit);
    sink.stderr?.on("data", emit);
  }
  // Settle both before reporting, so a failure names the side that failed.
  const [a, b] = await Promise.allSettled([source, source.pipe(sink)]);
  if (a.status === "rejected") throw toExecError(from, a.reason);
  if (b.status === "rejected") throw toExecError(to, b.reason);
  const r = b.value;
  return { exitCode: r.exitCode ?? 0, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") };
}
