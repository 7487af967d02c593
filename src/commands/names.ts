/**
 * The commands' names, in the order `--help` lists them, and which one an
 * argv names. Apart from the commands themselves (./index.ts loads them), so
 * the bin's first file (src/bin.ts) can pick the bundle a run needs without
 * loading any command.
 */
export const COMMAND_NAMES = ["resolve", "inspect", "patch", "build", "image", "audit", "verify", "pin", "package", "matrix", "doctor", "report"] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

/** Options the program itself takes a value for (they come before a command name). */
const GLOBAL_WITH_VALUE = new Set(["--catalog"]);

/** The first word of argv that is not an option (or an option's value): the command's name, known or not. */
export function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") break;
    if (GLOBAL_WITH_VALUE.has(a)) i++;
    else if (!a.startsWith("-")) return a;
  }
  return undefined;
}

export function isCommandName(word: string | undefined): word is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(word ?? "");
}

/** The program's own --version alone: answered from package.json before anything else is loaded. */
export function asksVersionOnly(argv: readonly string[]): boolean {
  return argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V");
}
