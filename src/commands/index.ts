/**
 * Every CLI command, in the order `--help` lists them: its name and how to
 * load it. A run loads only the command it runs (each is its own chunk in
 * the bundle, scripts/bundle-cli.mjs); `--help` and unknown names load all.
 * To add a command: one line here, one file beside this one.
 */
import type { Command } from "commander";
import type { CommandContext } from "./context.js";
import { commandWord, type CommandName } from "./names.js";

export interface CommandModule {
  register(program: Command, ctx: CommandContext): void;
}

export const COMMANDS: readonly { name: CommandName; load: () => Promise<CommandModule> }[] = [
  { name: "resolve", load: () => import("./resolve.js") },
  { name: "inspect", load: () => import("./inspect.js") },
  { name: "patch", load: () => import("./patch.js") },
  { name: "build", load: () => import("./build.js") },
  { name: "image", load: () => import("./image.js") },
  { name: "audit", load: () => import("./audit.js") },
  { name: "verify", load: () => import("./verify.js") },
  { name: "pin", load: () => import("./pin.js") },
  { name: "package", load: () => import("./package.js") },
  { name: "matrix", load: () => import("./matrix.js") },
  { name: "doctor", load: () => import("./doctor.js") },
  { name: "report", load: () => import("./report.js") },
];

/**
 * The command modules a run needs: the one named (with its own --help),
 * none for the program's --version alone, every one otherwise (--help lists
 * them all; an unknown name is answered with the known ones).
 */
export async function commandsFor(argv: readonly string[]): Promise<CommandModule[]> {
  const name = commandWord(argv);
  const entry = COMMANDS.find((c) => c.name === name);
  if (entry) return [await entry.load()];
  const help = argv.some((a) => a === "--help" || a === "-h") || name !== undefined;
  if (!help && argv.some((a) => a === "--version" || a === "-V")) return [];
  return Promise.all(COMMANDS.map((c) => c.load()));
}
