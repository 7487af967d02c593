/**
 * What the patch engine writes, and the fixture trees it patches, are
 * gofmt-clean Go. These checks run gofmt, so they live in the slow project
 * with the other tests that need a Go toolchain (`npm run test:fast` needs none).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { applyPatch } from "diff";
import { describe, expect, it } from "vitest";
import { carry, changesOf } from "../../src/patch/changes.js";
import { DEFAULT_VERSION_FILE, runPatch } from "../../src/patch/engine.js";
import { loadSeries } from "../../src/patch/series.js";
import { ERAS, makeTree, treeFiles } from "../fixtures/k8s-tree.js";
import { envWithGo, tempDir } from "../helpers/tmp.js";
import { carriedSeries, CHANGES, gofmtDirty, MEMORY_GO, resolution, SERIES_REFERENCES, snapshot } from "./helpers.js";

describe("fixture trees", () => {
  it.each(ERAS)("era %s: every Go file is gofmt-clean", (era) => {
    const { files } = treeFiles({ era, memoryGoVariant: era === "1.13" ? 1 : 0 });
    const dir = tempDir();
    const goFiles = Object.keys(files).filter((f) => f.endsWith(".go"));
    for (const f of goFiles) {
      const out = execFileSync("gofmt", ["-l"], { input: files[f], env: envWithGo(), encoding: "utf8" });
      expect(out.trim(), `${f} is not gofmt-clean`).toBe("");
    }
    expect(dir).toBeTruthy();
  });
});

describe.each(["git", "archive", "dir"] as const)("%s trees", (kind) => {
  it.each(ERAS)("era %s: the files the patch changes are gofmt-clean", async (era) => {
    const tree = await makeTree(join(tempDir(), "k"), { era, kind });
    const commit = kind === "dir" ? "0123456789abcdef0123456789abcdef01234567" : undefined;
    await runPatch(tree.root, resolution(tree.version), { versionFile: join(tempDir(), "version.env"), commit });
    for (const path of CHANGES[era]) {
      const text = readFileSync(join(tree.root, path), "utf8");
      expect(gofmtDirty({ [path]: text })).toEqual([]);
    }
  });
});

it.each([0, 1] as const)("1.13 memory.go variant %i: stubbed, gofmt-clean, reverted exactly, even without the record", async (variant) => {
  const tree = await makeTree(join(tempDir(), "k"), { era: "1.13", memoryGoVariant: variant });
  const original = snapshot(tree.root);
  await runPatch(tree.root, resolution(tree.version));
  const text = readFileSync(join(tree.root, MEMORY_GO), "utf8");
  expect(gofmtDirty({ m: text })).toEqual([]);
  expect(text).toMatch(/func EnableKernelMemoryAccounting\(path string\) error \{\n(\t\/\/.*\n)*\treturn nil\n\}/);
  await runPatch(tree.root, resolution(tree.version), { operation: "revert" });
  const o = snapshot(tree.root);
  delete o[DEFAULT_VERSION_FILE];
  expect(o).toEqual(original);
});

describe.each(SERIES_REFERENCES)("series %s", (seriesId, era) => {
  it("leaves gofmt-clean Go that carries the disabled marker and no kmem write", () => {
    for (const { change, carried: out } of carriedSeries(seriesId, era)) {
      if (!out.ok) throw new Error(JSON.stringify(out.problems));
      expect(gofmtDirty({ [change.path]: out.content! })).toEqual([]);
      expect(out.content).toContain("kernel memory accounting disabled in this runc build");
      expect(out.content).not.toMatch(/WriteFile\(filepath\.Join\(path, cgroupKernelMemoryLimit\)/);
    }
  });
});

it("vendor-stub finds the functions in the other memory.go of the line (variant 1)", () => {
  const series = loadSeries("vendor-stub/1.13");
  const v1 = treeFiles({ era: "1.13", memoryGoVariant: 1 }).files[MEMORY_GO]!;
  const [change] = changesOf(series.patches[0]!);
  expect(applyPatch(v1, series.patches[0]!.files[0]!.diff)).toBe(false); // a fixed diff cannot serve both
  const out = carry(change!, v1, "forward", { fuzz: 0 });
  expect(out.ok).toBe(true);
  if (!out.ok) return;
  expect(gofmtDirty({ path: out.content! })).toEqual([]);
  expect(out.content).not.toContain('"fmt"');
  expect(out.content).not.toContain('"syscall"');
  expect(carry(change!, out.content, "forward", { fuzz: 0 })).toEqual({ ok: true, content: out.content });
});
