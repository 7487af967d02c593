/**
 * Apply a runc strategy's series to a staged runc tree (runc-stub: the
 * function stubs in libcontainer/cgroups/fs/memory.go). The same change
 * records and `carry` as the kubelet's patch engine; the tree is the build's
 * own staged copy, so no journal is kept: a failure discards the copy.
 */
import { join } from "node:path";
import { PatchError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { readRegularTextIfExists } from "../io/read.js";
import { changesOf, carry, type Problem } from "./changes.js";
import { loadSeries, PATCHES_ROOT } from "./series.js";

interface RuncPatchRecord {
  series: string;
  /** Each patch with the sha256 of its file (for the provenance) and its text (for the SBOM's pedigree). */
  patches: { name: string; sha256: string; text: string }[];
  /** Tree-relative files written. */
  changed: string[];
}

/** Carry the series `seriesId` forward on the tree; throws E_PATCH_DRIFT listing every problem. */
export async function patchRuncTree(
  tree: string,
  seriesId: string,
  opts: { patchesRoot?: string; expectChanges: readonly string[] },
): Promise<RuncPatchRecord> {
  const series = loadSeries(seriesId, opts.patchesRoot ?? PATCHES_ROOT);
  const changes = series.patches.flatMap((p) => changesOf(p, seriesId));
  const touched = [...new Set(changes.map((c) => c.path))].sort();
  if (JSON.stringify(touched) !== JSON.stringify([...opts.expectChanges].sort())) {
    throw new PatchError(
      "E_PATCH_DRIFT",
      `expected series ${seriesId} to change ${opts.expectChanges.join(", ")}, found it changing ${touched.join(", ")}`,
      "report this: the strategy and its series disagree",
    );
  }
  const contents = new Map<string, string | null>();
  for (const path of touched) contents.set(path, await readRegularTextIfExists(join(tree, path), { maxBytes: 1024 * 1024 }));
  const problems: Problem[] = [];
  for (const c of changes) {
    const out = carry(c, contents.get(c.path) ?? null, "forward", { fuzz: 0, sibling: (p) => contents.get(p) ?? null });
    if (out.ok) contents.set(c.path, out.content);
    else problems.push(...out.problems);
  }
  if (problems.length) {
    const lines = problems.map((p) => `${p.path} (${p.patch}): ${p.message}`);
    throw new PatchError(
      "E_PATCH_DRIFT",
      `expected series ${seriesId} to apply to the runc tree, found ${problems.length} problem(s): ${lines.join("; ")}`,
      "compare the tree's memory.go with the layouts in docs/runc.md; the tree may not be the release --version names",
    );
  }
  for (const path of touched) {
    const text = contents.get(path);
    if (text !== null && text !== undefined) await writeFileAtomic(join(tree, path), text);
  }
  return { series: seriesId, patches: series.patches.map((p) => ({ name: p.name, sha256: p.sha256, text: p.text })), changed: touched };
}
