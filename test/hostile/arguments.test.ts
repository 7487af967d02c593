/**
 * Every argument is checked before the first write: a bad --commit,
 * --version-suffix or --version-file used to fail after the series was in
 * the tree (with a message saying nothing was changed). Now each fails in
 * one line and the tree, and the folder around it, are exactly as before.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeTree, type Era } from "../fixtures/k8s-tree.js";
import { tempDir } from "../helpers/tmp.js";
import { cli, ensureBuilt, expectOneLineError, snapshot } from "./hangs-harness.js";

beforeAll(ensureBuilt, 180_000);

type Case = [string, (parent: string) => string[], RegExp];

const CASES: Case[] = [
  ["--commit xyz", () => ["--commit", "xyz"], /expected a 40-hex-digit commit, found "xyz"; nothing was changed/],
  ["--commit of 39 digits", () => ["--commit", "a".repeat(39)], /expected a 40-hex-digit commit/],
  ["--commit in upper case", () => ["--commit", "A".repeat(40)], /expected a 40-hex-digit commit/],
  [
    "--version-suffix with a space",
    () => ["--version-suffix", "nokmem 1"],
    /expected build metadata such as nokmem\.1 .*found "nokmem 1"; nothing was changed/,
  ],
  ["--version-suffix with a quote", () => ["--version-suffix", "x'$(touch /tmp/pwned)"], /expected build metadata/],
  ["--version-suffix empty segment", () => ["--version-suffix", "a..b"], /expected build metadata/],
  [
    "--version-file a directory",
    (p) => ["--version-file", p],
    /expected --version-file .* to name a regular file \(or nothing yet\) in a folder, found .* is a directory; nothing was changed/,
  ],
  [
    "--version-file through a file",
    (p) => {
      writeFileSync(join(p, "plain"), "x\n");
      return ["--version-file", join(p, "plain/version.env")];
    },
    /found .*plain is a file; nothing was changed/,
  ],
  ["--version-file empty", () => ["--version-file", ""], /expected --version-file to name a file, found an empty string/],
];

describe.each(["1.13", "1.16"] as Era[])("patch on a %s tree", (era) => {
  it.each(CASES)("%s: exit 2, nothing written anywhere", async (_name, args, message) => {
    const parent = tempDir();
    const tree = await makeTree(join(parent, "k"), { era });
    const elsewhere = join(parent, "elsewhere");
    mkdirSync(elsewhere);
    const extra = args(elsewhere);
    const before = snapshot(parent);
    expectOneLineError(cli(["patch", tree.root, ...extra]), 2, message);
    expect(snapshot(parent)).toEqual(before);
  });
});

describe("build", () => {
  it.each([
    [["--source-date-epoch", "yesterday"], /source-date-epoch/],
    [["--stage", "sideways"], /stage/],
    [["--runner", "ssh"], /expected --runner docker or local/],
  ])("%j is refused before anything is made", (extra, message) => {
    const parent = tempDir();
    const r = cli([
      "build",
      "--version",
      "1.16.15",
      "--out",
      join(parent, "out"),
      "--cache-dir",
      join(parent, "cache"),
      "--source",
      join(parent, "src"),
      ...extra,
    ]);
    expectOneLineError(r, 2, message);
    expect(snapshot(parent)).toEqual({});
  });
});
