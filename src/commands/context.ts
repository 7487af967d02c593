/** What every command gets: where to print, the catalog, global flags. */
import type { Command } from "commander";
import { stat } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { DEFAULT_CATALOG_PATH } from "../io/package-root.js";
import { UsageError } from "../errors.js";
import type { Catalog } from "../catalog/types.js";
import type { ProgressSink } from "../pipeline/progress.js";

export interface Io {
  // Function-valued fields, not methods: commands hand them on as callbacks.
  out: (text: string) => void;
  err: (text: string) => void;
  /** Progress goes to stderr so stdout stays parseable. */
  progress: (text: string) => void;
  isTTY: boolean;
}

export interface GlobalOptions {
  catalog?: string;
  verbose?: boolean;
}

export interface CommandContext {
  io: Io;
  /** Loaded lazily so commands that do not need the catalog never fail on it. */
  catalog(): Catalog;
  catalogPath(): string;
  verbose(): boolean;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** Set by the entry point before a command runs: global options, wherever given. */
  setGlobals(globals: GlobalOptions): void;
  /**
   * Ask for a non-zero exit without an error, for commands whose exit code is
   * their answer (e.g. `doctor --npd`). src/cli.ts applies it.
   */
  setExitCode(code: number): void;
}

/** Filled in by commands, read by the entry point. */
export interface Outcome {
  exitCode?: number;
}

export function processIo(): Io {
  return {
    out: (t) => process.stdout.write(t.endsWith("\n") ? t : `${t}\n`),
    err: (t) => process.stderr.write(t.endsWith("\n") ? t : `${t}\n`),
    progress: (t) => process.stderr.write(t.endsWith("\n") ? t : `${t}\n`),
    isTTY: Boolean(process.stderr.isTTY),
  };
}

/**
 * The context, and `prepare`, which the entry point awaits before a command's
 * action: it loads the catalog reader (and its semver and JSONC parser), so
 * `--version` and `--help` never do.
 */
export function makeContext(program: Command, io: Io, signal: AbortSignal, outcome: Outcome = {}): CommandContext & { prepare(): Promise<void> } {
  let cached: Catalog | undefined;
  let reader: typeof import("../catalog/load.js") | undefined;
  let globals: GlobalOptions = {};
  const current = () => ({ ...program.opts<GlobalOptions>(), ...globals });
  const path = () => current().catalog ?? process.env.KUBELET_NOKMEM_CATALOG ?? DEFAULT_CATALOG_PATH;
  return {
    io,
    signal,
    catalogPath: path,
    catalog: () => {
      if (!reader) throw new Error("internal: the catalog is read only inside a command's action");
      return (cached ??= reader.loadCatalog(path()));
    },
    prepare: async () => {
      reader ??= await import("../catalog/load.js");
    },
    verbose: () => Boolean(current().verbose),
    setGlobals: (g) => {
      globals = g;
      cached = undefined;
    },
    setExitCode: (code) => {
      outcome.exitCode = code;
    },
  };
}

/** Print a value as the stable JSON contract: two-space indented, one trailing newline. */
export function printJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

/** Where a stage's progress goes: redrawn lines on a terminal, plain lines otherwise. */
export function progressSink(io: Io): ProgressSink {
  return io.isTTY && process.stderr.isTTY
    ? { line: (t) => io.progress(t), raw: (t) => process.stderr.write(t), columns: process.stderr.columns }
    : { line: (t) => io.progress(t) };
}

/**
 * `--root DIR` of doctor and audit: the folder a node's file system is mounted
 * at (a host's / in a fleet container). A mistyped one would otherwise read as
 * a node where every file is missing, so it must be a folder.
 */
export async function nodeRoot(given: string): Promise<string> {
  const root = isAbsolute(given) ? given : resolve(given);
  if (
    !(await stat(root).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    throw new UsageError(
      "E_ROOT",
      `expected --root to be the directory the node's filesystem is mounted at, found nothing usable at ${root}`,
      "pass the mount point, e.g. --root /host, or leave --root out on the node itself",
    );
  }
  return root;
}
