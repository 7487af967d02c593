#!/usr/bin/env node
/**
 * The entry point: wires commander to src/commands/*, and is the only place
 * that turns errors into exit codes.
 */
import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isEntryModule } from "./io/entry.js";
import { PACKAGE_ROOT } from "./io/package-root.js";
import { printable } from "./io/terminal.js";
import { teardownSettled } from "./process/teardown.js";
import { commandsFor, type CommandModule } from "./commands/index.js";
import { asksVersionOnly } from "./commands/names.js";
import { makeContext, processIo, type GlobalOptions, type Io, type Outcome } from "./commands/context.js";
import { asToolError, ExitCode, interruption, stoppedBy, ToolError, UsageError } from "./errors.js";

/**
 * After SIGINT/SIGTERM a command has this long to notice the signal and
 * clean up (kill its children, release its locks) before the run ends
 * anyway: every command ends within a second. Cleanup registered as
 * teardown (src/process/teardown.ts: removing a container) is waited for,
 * up to TEARDOWN_MAX_MS, so it is never cut in half.
 */
const SIGNAL_GRACE_MS = 800;
const TEARDOWN_MAX_MS = 30_000;

type Commander = typeof import("commander");

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version;
}

/** The program with the given commands (commandsFor(argv): only what a run needs is loaded). */
export function buildProgram(commander: Commander, io: Io, signal: AbortSignal, outcome: Outcome, commands: readonly CommandModule[]): Command {
  const program = new commander.Command("kubelet-nokmem");
  program
    .description("Build, pin and audit kubelet binaries that never enable kernel-memory (kmem) accounting.")
    .version(packageVersion())
    .option("--catalog <file>", "release catalog to use instead of the bundled versions.json")
    .option("-v, --verbose", "print more detail (and stack traces of internal errors)")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, "")),
      writeErr: (s) => io.err(s.replace(/\n$/, "")),
      // commander's own usage errors, in the tool's one-line form.
      outputError: (s, write) => write(`kubelet-nokmem: ${s.trim().replace(/^error: /, "")} (fix: see --help)\n`),
    })
    .addHelpText(
      "after",
      `
Exit codes:
  0 ok · 2 usage · 3 environment · 4 verification failed · 5 invalid catalog
  6 source tree · 7 patch · 8 build · 9 busy · 10 unpinned · 70 internal
  130 interrupted (SIGINT) · 143 terminated (SIGTERM)`,
    );
  const ctx = makeContext(program, io, signal, outcome);
  for (const c of commands) c.register(program, ctx);
  // Global options are accepted before or after the command name; with
  // positional options `--version` after a command is the command's own
  // (`build --version 1.16.15`), not the tool's.
  program.enablePositionalOptions();
  const everyCommand = (cmds: readonly Command[]): Command[] => cmds.flatMap((c) => [c, ...everyCommand(c.commands)]);
  for (const sub of everyCommand(program.commands)) {
    sub.exitOverride().configureOutput(program.configureOutput());
    if (!sub.options.some((o) => o.long === "--catalog")) sub.option("--catalog <file>", "release catalog to use instead of the bundled versions.json");
    if (!sub.options.some((o) => o.long === "--verbose")) sub.option("-v, --verbose", "print more detail");
  }
  program.hook("preAction", async (_root, action) => {
    await ctx.prepare();
    const own = action.opts<GlobalOptions>();
    const globals = program.opts<GlobalOptions>();
    ctx.setGlobals({ catalog: own.catalog ?? globals.catalog, verbose: Boolean(own.verbose || globals.verbose) });
  });
  return program;
}

/** The command word of argv (after the global options), or of `help WORD`, when it names no command; null otherwise. */
function unknownCommand(program: Command, argv: readonly string[]): string | null {
  const names = new Set(["help", ...program.commands.flatMap((c) => [c.name(), ...c.aliases()])]);
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const a = argv[i] ?? "";
    if (a === "--") break;
    if (a === "--catalog")
      i++; // its value is not a command
    else if (!a.startsWith("-")) words.push(a);
  }
  const [command, next] = words;
  if (command === undefined) return null;
  if (!names.has(command)) return command;
  return command === "help" && next !== undefined && !names.has(next) ? next : null;
}

/** Run the CLI; returns the exit code instead of exiting (tests call this). */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  // The check a fleet runs most: answered from package.json, as commander
  // would answer it, before commander or any command is loaded.
  if (asksVersionOnly(argv)) {
    io.out(packageVersion());
    return ExitCode.ok;
  }
  const commander = await import("commander");
  // The one cancellation path: every command gets this signal (ctx.signal),
  // and its reason is the error the run ends with.
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (!abort.signal.aborted) abort.abort(interruption(sig === "SIGTERM" ? "SIGTERM" : "SIGINT"));
  };
  // `on`, not `once`: execa's exit handler (signal-exit) re-raises a signal
  // when it finds no other listener left, and `once` removes ours before the
  // handlers run, so the process died without stopping a build's container.
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // A command that already printed its JSON result (then failed a check, e.g.
  // `audit --fail-on`) must not get a second JSON document after it.
  let printed = false;
  const tracked: Io = { ...io, out: (t) => ((printed = true), io.out(t)) };
  const outcome: Outcome = {};
  const program = buildProgram(commander, tracked, abort.signal, outcome, await commandsFor(argv));
  const wantsJson = argv.includes("--json");
  let grace: NodeJS.Timeout | undefined;
  try {
    // commander answers `nosuch --help` and `help nosuch` with the root help and exit 0: a command it does not know is a usage error first.
    const unknown = unknownCommand(program, argv);
    if (unknown !== null) throw new UsageError("E_USAGE", `unknown command '${unknown}'`, "see --help");
    const running = program.parseAsync(argv, { from: "user" });
    running.catch(() => undefined); // settled below, or abandoned after the grace period
    const deadline = new Promise<never>((_, reject) => {
      // The reason is always the ToolError interruption() made (onSignal above).
      const end = () => void teardownSettled(TEARDOWN_MAX_MS).then(() => reject(abort.signal.reason as ToolError));
      abort.signal.addEventListener("abort", () => (grace = setTimeout(end, SIGNAL_GRACE_MS)), { once: true });
    });
    await Promise.race([running, deadline]);
    // A signal ends the run with its own code even if the command finished its step first.
    if (abort.signal.aborted) throw abort.signal.reason;
    if (outcome.exitCode !== undefined) return outcome.exitCode;
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.ok;
  } catch (caught) {
    // Whatever a command threw while being stopped (a killed child, an
    // aborted read), the run was interrupted: say that, with 130 or 143.
    const err: unknown = abort.signal.aborted ? stoppedBy(abort.signal.reason, caught) : caught;
    if (err instanceof commander.CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return ExitCode.ok;
      if (err.exitCode === 0) return ExitCode.ok;
      // commander already printed its message; map to our usage code, and keep the --json contract.
      if (wantsJson && !printed) {
        const usage = new UsageError("E_USAGE", err.message.replace(/^error: /, ""), "see --help");
        io.out(JSON.stringify({ error: usage.toJSON() }, null, 2));
      }
      return ExitCode.usage;
    }
    const e: ToolError = asToolError(err);
    io.err(`kubelet-nokmem: ${printable(e.oneLine())}`);
    if (wantsJson && !printed) io.out(JSON.stringify({ error: e.toJSON() }, null, 2));
    if (!(err instanceof ToolError) && program.opts<{ verbose?: boolean }>().verbose && err instanceof Error) io.err(err.stack ?? "");
    return e.exitCode;
  } finally {
    clearTimeout(grace);
    // The command may be done while cleanup it started on the signal (a second
    // `docker rm -f`) is still running: the run ends after that, not during it.
    if (abort.signal.aborted) await teardownSettled(TEARDOWN_MAX_MS);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

export { UsageError };

/** Run as the process: argv from the command line, the exit code set when done. */
export function runProcess(): void {
  // `kubelet-nokmem … | head` closes the pipe early: stop quietly, as other tools do.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE") process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
      throw err;
    });
  }
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    // Interrupted: do not wait for what a command left pending (a paused
    // step, a timer); child process groups are killed on exit (src/process/exec.ts).
    if (code === ExitCode.interrupted || code === ExitCode.terminated) process.exit(code);
  });
}

// The bundle's bin is src/bin.ts, which calls runProcess of the bundle it picks.
if (isEntryModule(import.meta.url)) runProcess();
