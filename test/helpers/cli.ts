/** The real CLI as a child process: `node dist/cli.js …` (built by `npm run build`, which `npm test` runs first). */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI = join(REPO_ROOT, "dist", "cli.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  // The bundled catalog unless a test names another.
  const base = { ...process.env };
  delete base.KUBELET_NOKMEM_CATALOG;
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: { ...base, ...env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** stderr of a failed run must be exactly one line, without a stack trace. */
export function oneLineError(r: CliResult): string {
  const lines = r.stderr.split("\n").filter((l) => l.length);
  if (lines.length !== 1) throw new Error(`expected one line on stderr, found ${lines.length}:\n${r.stderr}`);
  if (/\n\s+at |Error: /.test(r.stderr)) throw new Error(`stack trace or raw error on stderr:\n${r.stderr}`);
  return lines[0]!;
}
