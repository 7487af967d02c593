/**
 * `image build --work-dir DIR`: a DIR not made yet is made (it was a mkdtemp
 * inside a missing folder, "internal error" 70), after every flag is checked;
 * a DIR that cannot be a folder is one line with exit 2.
 */
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../helpers/tmp.js";
import { cli, ensureBuilt, expectOneLineError } from "./hangs-harness.js";

beforeAll(ensureBuilt, 180_000);

describe("image build --work-dir", () => {
  it.each([["--tool"], []])("a folder not made yet is made before the build needs it (%s; no docker on PATH here, so it stops at the preflight)", (...tool) => {
    const dir = join(tempDir(), "not/yet");
    const r = cli(["image", "build", ...tool, "--work-dir", dir], { env: { PATH: "/nonexistent" } });
    expect(r.code, r.stderr).not.toBe(70);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(statSync(dir).isDirectory()).toBe(true);
  });

  it("a bad flag is reported first, and nothing is made", () => {
    const dir = join(tempDir(), "not/yet");
    expectOneLineError(cli(["image", "build", "--suite", "Not A Suite", "--work-dir", dir]), 2, /expected --suite as a Debian suite name/);
    expect(existsSync(dir)).toBe(false);
  });

  it("a path through a file: exit 2 naming it", () => {
    const file = join(tempDir(), "plain");
    writeFileSync(file, "x\n");
    expectOneLineError(cli(["image", "build", "--work-dir", join(file, "x")]), 2, new RegExp(`expected a folder at ${file}`));
  });
});
