#!/usr/bin/env node
/**
 * The published bin (scripts/bundle-cli.mjs builds it into dist/cli.js): it
 * answers `--version` from package.json alone, and otherwise loads the one
 * bundle the run needs — the named command's whole program in one file
 * (dist/chunks/cmd-NAME.js) for the commands that run often and briefly, or
 * every command's for the others, `--help` and unknown names — and runs it (src/cli.ts runProcess). Node then reads one file of
 * the tool's code per run instead of a few dozen chunks.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isEntryModule } from "./io/entry.js";
import { PACKAGE_ROOT } from "./io/package-root.js";
import { asksVersionOnly, commandWord, isCommandName, type CommandName } from "./commands/names.js";

type Program = typeof import("./cli.js");

/** A bundle, by its path from this file (esbuild leaves a computed import alone). */
const load = (file: string) => import(file) as Promise<Program>;

/**
 * The commands with a bundle of their own (scripts/bundle-cli.mjs,
 * OWN_BUNDLE); the others are in the one with every command. One literal
 * path per bundle, so the package test can see each file the bin loads.
 */
const BUNDLES: Partial<Record<CommandName, () => Promise<Program>>> & { all: () => Promise<Program> } = {
  resolve: () => load("./chunks/cmd-resolve.js"),
  audit: () => load("./chunks/cmd-audit.js"),
  verify: () => load("./chunks/cmd-verify.js"),
  doctor: () => load("./chunks/cmd-doctor.js"),
  all: () => load("./chunks/cmd-all.js"),
};

function bundleFor(argv: readonly string[]): Promise<Program> {
  const word = commandWord(argv);
  return ((isCommandName(word) ? BUNDLES[word] : undefined) ?? BUNDLES.all)();
}

/** src/cli.ts's main, from the bundle argv needs (for callers that import the bin, as tests do). */
export async function main(argv: string[]): Promise<number> {
  return (await bundleFor(argv)).main(argv);
}

// By real paths (io/entry.ts): through npm's bin link or any symlink argv[1] names the link.
if (isEntryModule(import.meta.url)) {
  const argv = process.argv.slice(2);
  if (asksVersionOnly(argv)) {
    // As commander would answer it (src/cli.ts answers the same way).
    process.stdout.write(`${(JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version}\n`);
  } else void bundleFor(argv).then((program) => program.runProcess());
}
