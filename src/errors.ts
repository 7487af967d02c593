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

/**
 * Every code the tool can end with, and the one kind (so the one class and
 * exit code) it belongs to. A class's constructor accepts only its own codes,
 * so a code cannot end with two exit codes. Add a code here first.
 */
export const ERROR_CODES = {
  E_AUDIT_FAIL_ON: "usage",
  E_AUDIT_JOBS: "usage",
  E_COMMIT_SYNTAX: "usage",
  E_DOCTOR_FLAGS: "usage",
  E_TEXTFILE_DIR: "usage",
  E_REPORT_INPUT: "usage",
  E_ROOT: "usage",
  E_AUDIT_NODE_PATH: "usage",
  E_EEXIST: "usage",
  E_EISDIR: "usage",
  E_ELOOP: "usage",
  E_ENAMETOOLONG: "usage",
  E_ENOTDIR: "usage",
  E_EPOCH: "usage",
  E_FLAGS: "usage",
  E_FORMAT: "usage",
  E_FUZZ: "usage",
  E_GO_VERSION: "usage",
  E_IMAGE_FLAGS: "usage",
  E_IMAGE_REF: "usage",
  E_IMAGE_TAG: "usage",
  E_KEY_EMPTY: "usage",
  E_KEY_NEEDS_MANIFEST: "usage",
  E_KEY_READ: "usage",
  E_KEY_TYPE: "usage",
  E_LINE: "usage",
  E_NOT_A_FOLDER: "usage",
  E_NOT_REGULAR: "usage",
  E_OUT_DIR: "usage",
  E_PRODUCT: "usage",
  E_PACKAGE_FORMAT: "usage",
  E_PACKAGE_RELEASE: "usage",
  E_GPG_KEY: "usage",
  E_PLATFORM: "usage",
  E_PULL: "usage",
  E_REF_MISSING: "usage",
  E_RELEASE: "usage",
  E_RUNNER: "usage",
  E_RUNC_VERSION: "usage",
  E_RUNC_NOT_COVERED: "usage",
  E_RUNC_BUILDTAGS_ENV: "usage",
  E_SOURCE: "usage",
  E_SOURCE_MISSING: "usage",
  E_STAGE: "usage",
  E_STRATEGY: "usage",
  E_SUITE: "usage",
  E_TARGET: "usage",
  E_TOO_LARGE: "usage",
  E_USAGE: "usage",
  E_VERSION_EMPTY: "usage",
  E_VERSION_FILE: "usage",
  E_VERSION_LINE: "usage",
  E_VERSION_MISMATCH: "usage",
  E_VERSION_NEEDED: "usage",
  E_VERSION_PRERELEASE: "usage",
  E_VERSION_SUFFIX: "usage",
  E_VERSION_SYNTAX: "usage",
  E_VERSION_UNKNOWN: "usage",
  E_DEBOOTSTRAP: "environment",
  E_TEXTFILE_WRITE: "environment",
  E_DEBOOTSTRAP_MISSING: "environment",
  E_DOCKER: "environment",
  E_DOCKER_DAEMON: "environment",
  E_DOCKER_MISSING: "environment",
  E_DOCKER_PERMISSION: "environment",
  E_EACCES: "environment",
  E_EDQUOT: "environment",
  E_ENOSPC: "environment",
  E_EPERM: "environment",
  E_EROFS: "environment",
  E_GIT: "environment",
  E_GIT_FETCH: "environment",
  E_GIT_MISSING: "environment",
  E_GIT_WORKTREE: "environment",
  E_GO_MISSING: "environment",
  E_IMAGE_MISSING: "environment",
  E_NOT_ROOT: "environment",
  E_NPM_PACK: "environment",
  E_PROGRAM_MISSING: "environment",
  E_TOOLCHAIN: "environment",
  E_SUMS_CONFLICT: "verification",
  E_PUBLISH_ESCAPE: "verification",
  E_AUDIT_FAILED: "verification",
  E_ENVELOPE: "verification",
  E_IMAGE_PIN: "verification",
  E_MANIFEST: "verification",
  E_NOT_NOKMEM: "verification",
  E_RUNC_STAMP: "verification",
  E_OUT_DIR_CHANGED: "verification",
  E_OUT_DIR_REFUSED: "verification",
  E_PIN_CONFLICT: "verification",
  E_PIN_MISMATCH: "verification",
  E_PACKAGE: "verification",
  E_PUBLISH_JOURNAL: "verification",
  E_PUBLISH_UNFINISHED: "verification",
  E_SIGNATURE: "verification",
  E_SIGNATURE_MISSING: "verification",
  E_SUMS: "verification",
  E_CATALOG_DUPLICATE_KEY: "catalog",
  E_CATALOG_JSON: "catalog",
  E_CATALOG_OVERLAP: "catalog",
  E_CATALOG_PIN: "catalog",
  E_CATALOG_RANGE: "catalog",
  E_CATALOG_LAYOUT: "catalog",
  E_CATALOG_READ: "catalog",
  E_CATALOG_SCHEMA: "catalog",
  E_RECORD_ESCAPE: "tree",
  E_TREE_ESCAPE: "tree",
  E_RUNC_TREE: "tree",
  E_RUNC_VERSION_FILE: "tree",
  E_RUNC_MAKEFILE: "tree",
  E_VERSION_FILE_ESCAPE: "tree",
  E_STATE_DIR: "tree",
  E_JOURNAL_PENDING: "tree",
  E_JOURNAL_INVALID: "tree",
  E_ARCHIVE: "tree",
  E_TREE_GIT: "tree",
  E_TREE_KMEM_LAYOUT: "tree",
  E_TREE_LAYOUT: "tree",
  E_TREE_MISSING: "tree",
  E_TREE_NOT_DIR: "tree",
  E_TREE_NOT_KUBERNETES: "tree",
  E_TREE_NO_RUNC: "tree",
  E_TREE_RELEASE: "tree",
  E_TREE_UNREADABLE: "tree",
  E_JOURNAL_CONFLICT: "patch",
  E_JOURNAL_DAMAGED: "patch",
  E_PATCH_DRIFT: "patch",
  E_PATCH_ENCODING: "patch",
  E_PATCH_ESCAPE: "patch",
  E_PATCH_FORMAT: "patch",
  E_PATCH_READONLY: "patch",
  E_PATCH_TOO_LARGE: "patch",
  E_PATCH_UNREADABLE: "patch",
  E_RECORD_INVALID: "patch",
  E_SERIES_EMPTY: "patch",
  E_SERIES_ESCAPE: "patch",
  E_SERIES_READ: "patch",
  E_TREE_CHANGED: "patch",
  E_EXEC: "build",
  E_MAKE: "build",
  E_NO_KUBELET: "build",
  E_VERSION_STAMP: "build",
  E_BUSY: "busy",
  E_UNPINNED: "unpinned",
  E_INTERRUPTED: "interrupted",
  E_TERMINATED: "terminated",
  E_INTERNAL: "internal",
} as const satisfies Record<string, ExitCodeName>;

type ErrorCode = keyof typeof ERROR_CODES;
/** The codes of one kind: what that kind's class accepts. */
type CodeOf<K extends ExitCodeName> = { [C in ErrorCode]: (typeof ERROR_CODES)[C] extends K ? C : never }[ErrorCode];

export abstract class ToolError extends Error {
  abstract readonly kind: ExitCodeName;
  /** A stable machine-readable code, e.g. `E_VERSION_UNKNOWN`. */
  readonly code: ErrorCode;
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, hint?: string) {
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

/** The base of one kind's class: its constructor takes only that kind's codes. */
function kindOf<K extends ExitCodeName>(kind: K) {
  abstract class KindError extends ToolError {
    readonly kind: K = kind;
    constructor(code: CodeOf<K>, message: string, hint?: string) {
      super(code, message, hint);
    }
  }
  return KindError;
}

export class UsageError extends kindOf("usage") {}
export class EnvironmentError extends kindOf("environment") {}
export class VerificationError extends kindOf("verification") {}
export class CatalogError extends kindOf("catalog") {}
export class TreeError extends kindOf("tree") {}
export class PatchError extends kindOf("patch") {}
export class BuildError extends kindOf("build") {}
export class BusyError extends kindOf("busy") {}
export class UnpinnedError extends kindOf("unpinned") {}
export class InterruptedError extends kindOf("interrupted") {}
class TerminatedError extends kindOf("terminated") {}
class InternalError extends kindOf("internal") {}

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
  const message = `${thrown.message} (${base.kind === "terminated" ? "SIGTERM" : "SIGINT"})`;
  return base.kind === "terminated"
    ? new TerminatedError("E_TERMINATED", message, thrown.hint ?? base.hint)
    : new InterruptedError("E_INTERRUPTED", message, thrown.hint ?? base.hint);
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
  // A copy or rename that runs out of space (or meets a read-only file system) fails where it writes: its destination.
  const dest = (e as { dest?: string }).dest;
  const path = dest !== undefined && ["ENOSPC", "EDQUOT", "EROFS"].includes(e.code ?? "") ? dest : (e.path ?? dest);
  const at = path ? ` ${path}` : "";
  const where = path ?? "the path";
  switch (e.code) {
    case "E_NOT_REGULAR":
    case "E_TOO_LARGE":
      return new UsageError(
        e.code,
        `${e.message}; nothing was read from it`,
        e.code === "E_NOT_REGULAR"
          ? "pass a regular file: FIFOs, sockets and devices are never read"
          : `pass the right file; ${where} is far larger than any it stands for`,
      );
    case "EACCES":
    case "EPERM":
      return new EnvironmentError(
        `E_${e.code}`,
        `expected permission to ${verb(e.syscall)}${at}, found permission denied (${e.code})`,
        `fix the permissions of ${where} (or its folder), or run as a user who may`,
      );
    case "ENOSPC":
    case "EDQUOT":
      return new EnvironmentError(
        `E_${e.code}`,
        `expected space to ${verb(e.syscall)}${at}, found the file system ${e.code === "EDQUOT" ? "over quota" : "full"} (${e.code})`,
        `free space where ${where} lives (df -h), then run again; nothing half-written was published`,
      );
    case "EROFS":
      return new EnvironmentError(
        "E_EROFS",
        `expected to ${verb(e.syscall)}${at}, found a read-only file system (EROFS)`,
        `choose a path on a writable file system, or remount it read-write`,
      );
    case "EEXIST":
      return new UsageError(
        "E_EEXIST",
        `expected nothing in the way of${at}, found something already there (EEXIST)`,
        `remove or rename ${where}, or choose another path`,
      );
    case "ELOOP":
      return new UsageError(
        "E_ELOOP",
        `expected${at} to lead to a file or folder, found a symbolic link loop (ELOOP)`,
        `replace the looping symbolic link on the way to ${where}`,
      );
    case "ENOTDIR":
      return new UsageError(
        "E_ENOTDIR",
        `expected a folder at${at} (or on the way to it), found ${e.found ?? "a file"} (ENOTDIR)`,
        `pass a path whose folders are folders; remove the file in the way`,
      );
    case "EISDIR":
      return new UsageError("E_EISDIR", `expected a file at${at}, found a directory (EISDIR)`, `pass a file path, not a folder`);
    case "ENAMETOOLONG":
      return new UsageError(
        "E_ENAMETOOLONG",
        `expected a path the file system accepts, found one too long${at ? ` (${path!.slice(0, 80)}…)` : ""}`,
        "pass a shorter path",
      );
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
  return new InternalError("E_INTERNAL", `internal error: ${message}`, "re-run with --verbose and report it with the output attached");
}

/** For exhaustive switches over unions. */
export function assertNever(value: never, what = "value"): never {
  throw new InternalError("E_INTERNAL", `unexpected ${what}: ${JSON.stringify(value)}`);
}
