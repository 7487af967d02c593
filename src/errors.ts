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
class InternalError extends ToolError {
  readonly kind = "internal" as const;
}

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
