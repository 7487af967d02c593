/**
 * The shipped series: every catalog line that needs source changes has one,
 * it names the files the catalog says it changes, and each patch's diff
 * agrees with what the engine does to the reference file it was made from.
 */
import { applyPatch } from "diff";
import { describe, expect, it } from "vitest";
import { loadCatalog } from "../../src/catalog/load.js";
import { STRATEGIES } from "../../src/strategy/index.js";
import { loadSeries } from "../../src/patch/series.js";
import { carriedSeries, SERIES_REFERENCES } from "./helpers.js";

const catalog = loadCatalog();

describe("every registered strategy", () => {
  const rows = catalog.lines.map((l) => [l.line, l.range, l.strategy, l] as const);
  it.each(rows)("line %s (%s, %s) has the series its strategy names", (_line, _range, id, line) => {
    const strategy = STRATEGIES[id];
    const seriesId = strategy.patchSeries(line);
    const changes = catalog.strategies[id].changes;
    if (!changes.length) {
      expect(seriesId).toBeNull();
      return;
    }
    expect(seriesId).toBe(`${id}/${line.line}`);
    const series = loadSeries(seriesId!);
    const touched = [...new Set(series.patches.flatMap((p) => p.files.map((f) => f.newPath ?? f.oldPath)))].sort();
    expect(touched).toEqual([...changes].sort());
    for (const p of series.patches) {
      expect(p.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(p.headers.Bug ?? "").toContain("kubernetes/kubernetes/issues/61937");
      expect(p.headers.Description ?? "").not.toBe("");
    }
  });
});

describe.each(SERIES_REFERENCES)("series %s", (seriesId, era) => {
  it("its diff, applied as plain hunks to the reference tree, gives what the engine gives", () => {
    for (const { before, diff, carried } of carriedSeries(seriesId, era)) {
      const asHunks = applyPatch(before, diff);
      expect(carried.ok).toBe(true);
      expect(asHunks).toBe(carried.ok ? carried.content : "");
    }
  });

});
