/**
 * Confinement's rules, word for word (src/io/confine.ts): what a name is
 * refused for on its text, when a path is inside a root, and what each
 * refusal through the file system says. test/io/confine.test.ts walks the
 * same module through a real layout; this file pins down each rule.
 */
import { mkdirSync, realpathSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { confine, confinedRoot, ConfinementError, isInside, nameProblem } from "../../src/io/confine.js";
import { tempDir } from "../helpers/tmp.js";

describe("nameProblem, word for word", () => {
  it.each([
    ["", "an empty name"],
    ["a\0b", "a name with a NUL byte"],
    ["/etc/passwd", "the absolute path /etc/passwd"],
    ["C:\\Windows", "the absolute path C:\\Windows"],
    ["c:/x", "the absolute path c:/x"],
    ["a\\b", "the name a\\b with a backslash"],
    ["a/../b", "the name a/../b, which climbs out with .."],
    ["..", "the name .., which climbs out with .."],
    ["a/", "the name a/ with an empty or . component"],
    ["a/./b", "the name a/./b with an empty or . component"],
    [".", "the name . with an empty or . component"],
    ["a/b", null],
    ["..a/b..", null],
    [".hidden/x", null],
    ["C:x", null],
    ["1:/x", null],
  ])("%j → %j", (name, problem) => {
    expect(nameProblem(name)).toBe(problem);
  });

  it("a value that is not a string is refused", () => {
    expect(nameProblem(42 as unknown as string)).toBe("a value that is not a name");
  });
});

describe("isInside", () => {
  it.each([
    ["/r", "/r", true],
    ["/r", "/r/a", true],
    ["/r/", "/r/a", true],
    ["/r", "/rx", false],
    ["/r", "/", false],
    ["/r/a", "/r", false],
  ])("%s holds %s: %s", (root, p, inside) => {
    expect(isInside(root, p)).toBe(inside);
  });
});

describe("confine's refusals, word for word", () => {
  function layout() {
    const base = tempDir("kn-confine-rules-");
    const root = join(base, "root");
    mkdirSync(join(root, "in"), { recursive: true });
    mkdirSync(join(base, "outside"));
    symlinkSync(join(base, "outside"), join(root, "out-link"));
    symlinkSync(join(base, "nowhere"), join(root, "dangling"));
    symlinkSync("loop-b", join(root, "loop-a"));
    symlinkSync("loop-a", join(root, "loop-b"));
    return { base, root };
  }

  it("a name refused on its text carries the name and the problem", async () => {
    const { root } = layout();
    const err = await confine(await confinedRoot(root), "a/../../x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfinementError);
    expect(err).toMatchObject({ subject: "a/../../x", problem: "the name a/../../x, which climbs out with .." });
    expect((err as Error).message).toBe("a/../../x: the name a/../../x, which climbs out with ..");
  });

  it("a symlink out of the root names where it leads", async () => {
    const { base, root } = layout();
    const err = await confine(await confinedRoot(root), "out-link/x").catch((e: unknown) => e);
    expect(err).toMatchObject({ problem: `a path that leads through a symlink out of ${root}, to ${join(realpathSync(base), "outside", "x")}` });
  });

  it("a dangling symlink on the way is refused, named", async () => {
    const { root } = layout();
    const err = await confine(await confinedRoot(root), "dangling/x").catch((e: unknown) => e);
    expect(err).toMatchObject({ problem: `a dangling symlink on the way (${join(realpathSync(root), "dangling")})` });
  });

  it("a symlink loop on the way is refused", async () => {
    const { root } = layout();
    const err = await confine(await confinedRoot(root), "loop-a/x").catch((e: unknown) => e);
    expect(err).toMatchObject({ problem: "a symlink loop on the way" });
  });

  it("a name that does not exist under a file is appended as named", async () => {
    const { root } = layout();
    const real = realpathSync(root);
    expect(await confine(await confinedRoot(root), "in/a/b/c", "follow")).toBe(join(real, "in/a/b/c"));
    expect(await confine(await confinedRoot(root), "in", "follow")).toBe(join(real, "in"));
  });
});
