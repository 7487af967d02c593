/**
 * The shipped series: each patch's diff agrees with what the engine does to
 * the reference file it was made from. (That every line whose strategy
 * changes files has a series touching exactly those files is part of the
 * strategy contract, test/strategy/registry.test.ts.)
 */
import { applyPatch } from "diff";
import { describe, expect, it } from "vitest";
import { carry, changesOf } from "../../src/patch/changes.js";
import { loadSeries } from "../../src/patch/series.js";
import { treeFiles, type Era } from "../fixtures/k8s-tree.js";

/** The reference file of each series and the era whose fixture carries it. */
const REFERENCES: [series: string, era: Era][] = [
  ["vendor-stub/1.13", "1.13"],
  ["kmem-override/1.16", "1.16"],
];

describe.each(REFERENCES)("series %s", (seriesId, era) => {
  const series = loadSeries(seriesId);
  const files = treeFiles({ era }).files;

  it("its diff, applied as plain hunks to the reference tree, gives what the engine gives", () => {
    for (const patch of series.patches) {
      for (const [i, change] of changesOf(patch).entries()) {
        const before = files[change.path]!;
        const asHunks = applyPatch(before, patch.files[i]!.diff);
        const byEngine = carry(change, before, "forward", { fuzz: 0, sibling: (p) => files[p] ?? null });
        expect(byEngine.ok).toBe(true);
        expect(asHunks).toBe(byEngine.ok ? byEngine.content : "");
      }
    }
  });

});

