/**
 * The shipped series: each patch's diff agrees with what the engine does to
 * the reference file it was made from. (That every line whose strategy
 * changes files has a series touching exactly those files is part of the
 * strategy contract, test/strategy/registry.test.ts.)
 */
import { applyPatch } from "diff";
import { describe, expect, it } from "vitest";
import { carriedSeries, SERIES_REFERENCES } from "./helpers.js";

describe.each(SERIES_REFERENCES)("series %s", (seriesId, era) => {
  it("its diff, applied as plain hunks to the reference tree, gives what the engine gives", () => {
    for (const { before, diff, carried } of carriedSeries(seriesId, era)) {
      const asHunks = applyPatch(before, diff);
      expect(carried.ok).toBe(true);
      expect(asHunks).toBe(carried.ok ? carried.content : "");
    }
  });
});
