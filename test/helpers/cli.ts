/**
 * The real CLI as a child process, synchronously and with a chosen
 * environment: `node dist/cli.js …`. dist/ is rebuilt first when it is older
 * than src/ (test/support/built-cli.ts), so a single test file can be run alone.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll } from "vitest";
import { ensureBuilt } from "../support/built-cli.js";

beforeAll(ensureBuilt, 5 * 60_000);

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI = join(ROOT, "dist", "cli.js");

interface CliResult {
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

/** The CLI as a child process without blocking, for tests that run several at once. */
export function cliAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const base = { ...process.env };
    delete base.KUBELET_NOKMEM_CATALOG;
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...base, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
