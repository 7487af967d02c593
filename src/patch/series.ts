/**
 * Patch series on disk: `patches/<strategy>/<line>/series` lists the patch
 * files in the order they apply, one a line (quilt's format; `#` starts a
 * comment). An entry may name a file in a sibling folder of the same
 * strategy (`../common/0001-….patch`), so lines that share a change share
 * one file.
 */
import { describeReadFailure, readRegularTextSync } from "../io/read.js";
import { join, relative, resolve, sep } from "node:path";
import { PACKAGE_ROOT } from "../catalog/load.js";
import { PatchError } from "../errors.js";
import { parsePatchFile, type PatchFile } from "./patch-file.js";

export const PATCHES_ROOT = join(PACKAGE_ROOT, "patches");

export interface PatchSeries {
  /** `vendor-stub/1.13` */
  id: string;
  dir: string;
  patches: PatchFile[];
}

function readText(path: string, what: string, hint: string): string {
  try {
    return readRegularTextSync(path, { maxBytes: 4 * 1024 * 1024 });
  } catch (err) {
    throw new PatchError("E_SERIES_READ", `expected ${what} at ${path}, found ${describeReadFailure(err)}`, hint);
  }
}

/** Load the series `id` (as the strategy registry names it) from `root`. */
export function loadSeries(id: string, root = PATCHES_ROOT): PatchSeries {
  const dir = resolve(root, id);
  const strategyDir = resolve(root, id.split("/")[0] ?? "");
  const listed = readText(join(dir, "series"), `the series file of ${id}`, `reinstall kubelet-nokmem, or pass --patches DIR holding ${id}/series`);
  const names = listed
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean);
  if (!names.length) throw new PatchError("E_SERIES_EMPTY", `expected patch names in ${join(dir, "series")}, found none`, "list the patch files, one a line");
  const patches = names.map((name) => {
    const file = resolve(dir, name);
    if (relative(strategyDir, file).startsWith("..") || !file.startsWith(strategyDir + sep)) {
      throw new PatchError(
        "E_SERIES_ESCAPE",
        `expected series ${id} to name patches inside ${strategyDir}, found ${name}`,
        "keep a series' patches under its strategy folder",
      );
    }
    return parsePatchFile(readText(file, `patch ${name} of ${id}`, "restore the patch file or fix the series list"), name);
  });
  return { id, dir, patches };
}
