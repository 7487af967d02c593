/**
 * The error classes a user can meet, one exit code each. Only the entry point
 * (src/cli.ts) turns them into `process.exitCode`; nothing deeper exits.
 *
 * A message is one line and says what was expected, what was found and how to
 * fix it. `hint` carries the fixing command when there is one.
 */

export const ExitCode = {
  ok: 0,
  /** Bad command-line input: an unknown version, a bad flag value. */
  usage: 2,
  /** The machine lacks something: Docker, an image, a tool. */
  environment: 3,
  /** A binary is not nokmem, a checksum does not match a pin. */
  verification: 4,
  /** versions.json (or another data file the tool reads) is invalid. */
  catalog: 5,
  /** The source tree is not what it must be: not Kubernetes, unreadable. */
  tree: 6,
  /** A patch does not apply: drift, escape, a missing or read-only file. */
  patch: 7,
  /** A build step (make, go) failed. */
  build: 8,
  /** Something else is holding the resource (a concurrent build, a lock). */
  busy: 9,
  /** A binary has no pin to check against (verify). */
  unpinned: 10,
  /** A bug in this tool. */
  internal: 70,
  /** Stopped by SIGINT (Ctrl-C): 128 + 2, as a shell reports it. */
  interrupted: 130,
  /** Stopped by SIGTERM: 128 + 15. */
  terminated: 143,
} as const;

type ExitCodeName = keyof typeof ExitCode;

export abstract class ToolError extends Error {
  abstract readonly kind: ExitCodeName;
  /** A stable machine-readable code, e.g. `E_VERSION_UNKNOWN`. */
  readonly code: string;
  readonly hint?: string;

  constructor(code: string, message: string, hint?: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.hint = hint;
  }

  get exitCode(): number {
    return ExitCode[this.kind];
  }

  /** The one line shown to a person. */
  oneLine(): string {
    const msg = this.message.replace(/\s*\n\s*/g, " ");
    return this.hint ? `${msg} (fix: ${this.hint})` : msg;
  }

  toJSON(): { code: string; kind: string; exitCode: number; message: string; hint?: string } {
    return { code: this.code, kind: this.kind, exitCode: this.exitCode, message: this.message, ...(this.hint ? { hint: this.hint } : {}) };
  }
}

export class UsageError extends ToolError {
  readonly kind = "usage" as const;
}
export class EnvironmentError extends ToolError {
  readonly kind = "environment" as const;
}
export class VerificationError extends ToolError {
  readonly kind = "verification" as const;
}
export class CatalogError extends ToolError {
  readonly kind = "catalog" as const;
}
export class TreeError extends ToolError {
  readonly kind = "tree" as const;
}
export class PatchError extends ToolError {
  readonly kind = "patch" as const;
}
export class BuildError extends ToolError {
  readonly kind = "build" as const;
}
export class BusyError extends ToolError {
  readonly kind = "busy" as const;
}
export class UnpinnedError extends ToolError {
  readonly kind = "unpinned" as const;
}
export class InterruptedError extends ToolError {
  readonly kind = "interrupted" as const;
}
class TerminatedError extends ToolError {
  readonly kind = "terminated" as const;
}

/** The error a run ends with when a signal stops it: the one cancellation reason every command sees. */
export function interruption(signal: "SIGINT" | "SIGTERM"): ToolError {
  return signal === "SIGTERM"
    ? new TerminatedError("E_TERMINATED", "expected to run to the end, found SIGTERM: stopped after cleaning up", "run the command again")
    : new InterruptedError("E_INTERRUPTED", "expected to run to the end, found SIGINT (Ctrl-C): stopped after cleaning up", "run the command again");
}

/**
 * The error a stopped run reports: the signal's class and code, with the
 * command's own account of what it stopped, when it gave one ("the container
 * was stopped and nothing was published").
 */
export function stoppedBy(reason: unknown, thrown: unknown): ToolError {
  const base = reason instanceof ToolError ? reason : interruption("SIGINT");
  if (!(thrown instanceof ToolError) || (thrown.kind !== "interrupted" && thrown.kind !== "terminated")) return base;
  const Class = base.kind === "terminated" ? TerminatedError : InterruptedError;
  return new Class(base.code, `${thrown.message} (${base.kind === "terminated" ? "SIGTERM" : "SIGINT"})`, thrown.hint ?? base.hint);
}

class InternalError extends ToolError {
  readonly kind = "internal" as const;
}

/**
 * An operating-system error (an errno from a file or process call) is the
 * machine or the user's input, not a bug: say which path, what was found and
 * the fix. Also the reading door's own refusals (src/io/read.ts). Null for
 * anything else.
 */
export function errnoToolError(err: unknown): ToolError | null {
  if (!(err instanceof Error)) return null;
  const e = err as NodeJS.ErrnoException & { found?: string; limit?: number };
  const path = e.path ?? (e as { dest?: string }).dest;
  const at = path ? ` ${path}` : "";
  const where = path ?? "the path";
  switch (e.code) {
    case "E_NOT_REGULAR":
    case "E_TOO_LARGE":
      return new UsageError(e.code, `${e.message}; nothing was read from it`, e.code === "E_NOT_REGULAR" ? "pass a regular file: FIFOs, sockets and devices are never read" : `pass the right file; ${where} is far larger than any it stands for`);
    case "EACCES":
    case "EPERM":
      return new EnvironmentError(`E_${e.code}`, `expected permission to ${verb(e.syscall)}${at}, found permission denied (${e.code})`, `fix the permissions of ${where} (or its folder), or run as a user who may`);
    case "ENOSPC":
    case "EDQUOT":
      return new EnvironmentError(`E_${e.code}`, `expected space to ${verb(e.syscall)}${at}, found the file system ${e.code === "EDQUOT" ? "over quota" : "full"} (${e.code})`, `free space where ${where} lives (df -h), then run again; nothing half-written was published`);
    case "EROFS":
      return new EnvironmentError("E_EROFS", `expected to ${verb(e.syscall)}${at}, found a read-only file system (EROFS)`, `choose a path on a writable file system, or remount it read-write`);
    case "EEXIST":
      return new UsageError("E_EEXIST", `expected nothing in the way of${at}, found something already there (EEXIST)`, `remove or rename ${where}, or choose another path`);
    case "ELOOP":
      return new UsageError("E_ELOOP", `expected${at} to lead to a file or folder, found a symbolic link loop (ELOOP)`, `replace the looping symbolic link on the way to ${where}`);
    case "ENOTDIR":
      return new UsageError("E_ENOTDIR", `expected a folder at${at} (or on the way to it), found ${e.found ?? "a file"} (ENOTDIR)`, `pass a path whose folders are folders; remove the file in the way`);
    case "EISDIR":
      return new UsageError("E_EISDIR", `expected a file at${at}, found a directory (EISDIR)`, `pass a file path, not a folder`);
    case "ENAMETOOLONG":
      return new UsageError("E_ENAMETOOLONG", `expected a path the file system accepts, found one too long${at ? ` (${path!.slice(0, 80)}…)` : ""}`, "pass a shorter path");
    default:
      return null;
  }
}

function verb(syscall: string | undefined): string {
  switch (syscall) {
    case "open":
      return "open";
    case "read":
    case "stat":
    case "lstat":
    case "scandir":
    case "opendir":
      return "read";
    case "mkdir":
      return "create the folder";
    case "unlink":
    case "rmdir":
    case "rm":
      return "remove";
    case "rename":
    case "link":
    case "symlink":
    case "copyfile":
      return "create";
    default:
      return "write";
  }
}

/** Wraps anything thrown that is not a ToolError: an errno is the environment's; anything else is a bug, reported as such. */
export function asToolError(err: unknown): ToolError {
  if (err instanceof ToolError) return err;
  const mapped = errnoToolError(err);
  if (mapped) return mapped;
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError(
    "E_INTERNAL",
    `internal error: ${message}`,
    "re-run with --verbose and report it with the output attached",
  );
}

/** For exhaustive switches over unions. */
export function assertNever(value: never, what = "value"): never {
  throw new InternalError("E_INTERNAL", `unexpected ${what}: ${JSON.stringify(value)}`);
}
