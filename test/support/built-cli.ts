/**
 * The real CLI as a child process: `node dist/cli.js ...`. `npm test` builds
 * first; when a single file is run and dist/ is older than src/, this builds
 * it, one test file at a time (a lock directory keeps two tsc runs apart).
 */
import { mkdir, readdir, rmdir, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { run, type RunResult } from "../../src/process/exec.js";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI = join(REPO, "dist", "cli.js");

async function newest(dir: string): Promise<number> {
  let t = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? await newest(p) : (await stat(p)).mtimeMs);
  }
  return t;
}

async function stale(): Promise<boolean> {
  try {
    return (await stat(CLI)).mtimeMs < (await newest(join(REPO, "src")));
  } catch {
    return true;
  }
}

export async function ensureBuilt(): Promise<void> {
  if (!(await stale())) return;
  const lock = join(REPO, "node_modules", ".cache-build-lock");
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    if (await stale()) await run({ file: "npm", args: ["run", "build"], cwd: REPO });
  } finally {
    await rmdir(lock);
  }
}

/** Run the built CLI; never throws on a non-zero exit. */
export function cli(args: string[]): Promise<RunResult> {
  return run({ file: process.execPath, args: [CLI, ...args], cwd: REPO }, { reject: false });
}
