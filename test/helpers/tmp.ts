/** Temporary folders for tests, removed after each test that made them. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";

const made: string[] = [];

afterEach(() => {
  while (made.length) rmSync(made.pop()!, { recursive: true, force: true });
});

export function tempDir(prefix = "kn-test-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

/** Go 1.19 from Debian, first on PATH for child processes. */
const GO_BIN = "/usr/lib/go-1.19/bin";
export const envWithGo = (): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${GO_BIN}:${process.env.PATH}` });
