/** The confinement primitive on a real folder with symlinks in and out of it. */
import { execFileSync } from "node:child_process";
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { confine, confinedRoot, ConfinementError, nameProblem, readConfined } from "../../src/io/confine.js";
import { tempDir } from "../helpers/tmp.js";

describe("nameProblem", () => {
  it.each([
    ["a/b", null],
    ["kubelet", null],
    ["", "empty"],
    ["/etc/passwd", "absolute"],
    ["a/../../b", "climbs out"],
    ["..", "climbs out"],
    ["a\\b", "backslash"],
    ["a\0b", "NUL"],
    ["a//b", "empty or ."],
    ["./a", "empty or ."],
  ])("%j → %s", (name, problem) => {
    const p = nameProblem(name);
    if (problem === null) expect(p).toBeNull();
    else expect(p).toContain(problem);
  });
});

describe("confine", () => {
  function layout() {
    const base = tempDir("kn-confine-");
    const root = join(base, "root");
    mkdirSync(join(root, "in/deep"), { recursive: true });
    mkdirSync(join(base, "outside"));
    writeFileSync(join(root, "in/file"), "inside\n");
    writeFileSync(join(base, "outside/secret"), "secret\n");
    symlinkSync(join(base, "outside"), join(root, "out-link"));
    symlinkSync("in", join(root, "in-link"));
    symlinkSync(join(base, "outside/secret"), join(root, "secret-link"));
    symlinkSync(join(base, "nowhere"), join(root, "dangling"));
    execFileSync("mkfifo", [join(root, "fifo")]);
    return { base, root };
  }

  it("resolves names inside, through symlinks that stay inside, and names that do not exist yet", async () => {
    const { root } = layout();
    const r = await confinedRoot(root);
    const real = realpathSync(root);
    expect(await confine(r, "in/file")).toBe(join(real, "in/file"));
    expect(await confine(r, "in-link/file")).toBe(join(real, "in/file"));
    expect(await confine(r, "in/new/deeper/x")).toBe(join(real, "in/new/deeper/x"));
    expect(await confine(r, "in-link", "nofollow")).toBe(join(real, "in-link"));
    expect(await confine(r, "in-link", "follow")).toBe(join(real, "in"));
    // nofollow: the link itself, never its target
    expect(await confine(r, "secret-link")).toBe(join(real, "secret-link"));
  });

  it.each([
    ["out-link/secret", "nofollow"],
    ["out-link/new", "nofollow"],
    ["out-link", "follow"],
    ["secret-link", "follow"],
    ["dangling/x", "nofollow"],
    ["dangling", "follow"],
    ["../outside/secret", "nofollow"],
  ] as const)("refuses %s (%s)", async (name, final) => {
    const { root } = layout();
    await expect(confine(await confinedRoot(root), name, final)).rejects.toBeInstanceOf(ConfinementError);
  });

  it("reads regular files only, never through a final symlink, never blocking on a FIFO", async () => {
    const { root } = layout();
    const r = await confinedRoot(root);
    expect((await readConfined(r, "in/file"))?.toString()).toBe("inside\n");
    expect(await readConfined(r, "in/missing")).toBeNull();
    await expect(readConfined(r, "secret-link")).rejects.toThrow(/symlink/);
    await expect(readConfined(r, "fifo")).rejects.toThrow(/a FIFO where a regular file was expected/);
    await expect(readConfined(r, "in")).rejects.toThrow(/a directory where a regular file was expected/);
  });
});
