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
  /** Stopped by SIGINT / SIGTERM. */
  interrupted: 130,
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
  E_AUDIT_MANIFEST: "usage",
  E_COMMIT_SYNTAX: "usage",
  E_DOCTOR_FLAGS: "usage",
  E_DOCTOR_ROOT: "usage",
  E_EPOCH: "usage",
  E_FLAGS: "usage",
  E_FORMAT: "usage",
  E_FUZZ: "usage",
  E_GO_VERSION: "usage",
  E_IMAGE_FLAGS: "usage",
  E_IMAGE_TAG: "usage",
  E_KEY_NEEDS_MANIFEST: "usage",
  E_KEY_READ: "usage",
  E_KEY_TYPE: "usage",
  E_LINE: "usage",
  E_OUT_DIR: "usage",
  E_PLATFORM: "usage",
  E_PULL: "usage",
  E_REF_MISSING: "usage",
  E_RELEASE: "usage",
  E_RUNNER: "usage",
  E_SOURCE: "usage",
  E_SOURCE_MISSING: "usage",
  E_STAGE: "usage",
  E_STRATEGY: "usage",
  E_SUITE: "usage",
  E_TARGET: "usage",
  E_VERSION_EMPTY: "usage",
  E_VERSION_LINE: "usage",
  E_VERSION_MISMATCH: "usage",
  E_VERSION_NEEDED: "usage",
  E_VERSION_PRERELEASE: "usage",
  E_VERSION_SUFFIX: "usage",
  E_VERSION_SYNTAX: "usage",
  E_VERSION_UNKNOWN: "usage",
  E_DEBOOTSTRAP: "environment",
  E_DEBOOTSTRAP_MISSING: "environment",
  E_DOCKER: "environment",
  E_DOCKER_DAEMON: "environment",
  E_DOCKER_MISSING: "environment",
  E_DOCKER_PERMISSION: "environment",
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
  E_OUT_DIR_CHANGED: "verification",
  E_PIN_CONFLICT: "verification",
  E_PIN_MISMATCH: "verification",
  E_PUBLISH_JOURNAL: "verification",
  E_PUBLISH_UNFINISHED: "verification",
  E_SIGNATURE: "verification",
  E_SIGNATURE_MISSING: "verification",
  E_SUMS: "verification",
  E_CATALOG_JSON: "catalog",
  E_CATALOG_OVERLAP: "catalog",
  E_CATALOG_PIN: "catalog",
  E_CATALOG_RANGE: "catalog",
  E_CATALOG_READ: "catalog",
  E_CATALOG_SCHEMA: "catalog",
  E_RECORD_ESCAPE: "tree",
  E_TREE_ESCAPE: "tree",
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
  E_TREE_UNREADABLE: "tree",
  E_JOURNAL_CONFLICT: "patch",
  E_JOURNAL_DAMAGED: "patch",
  E_PATCH_DRIFT: "patch",
  E_PATCH_ENCODING: "patch",
  E_PATCH_ESCAPE: "patch",
  E_PATCH_FORMAT: "patch",
  E_PATCH_READONLY: "patch",
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
class InternalError extends kindOf("internal") {}

/** Wraps anything thrown that is not a ToolError: a bug, reported as such. */
export function asToolError(err: unknown): ToolError {
  if (err instanceof ToolError) return err;
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
