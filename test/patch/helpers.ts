/** Shared pieces of the patch tests: tree snapshots and catalog look-ups. */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, lstatSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { loadCatalog } from "../../src/catalog/load.js";
import { resolve, type Resolution } from "../../src/catalog/resolve.js";
import { envWithGo } from "../helpers/tmp.js";
import { carry, changesOf, type Change } from "../../src/patch/changes.js";
import { loadSeries, type PatchSeries } from "../../src/patch/series.js";
import { RUNC_FS, treeFiles, type Era } from "../fixtures/k8s-tree.js";

/** Every file under root (but .git/) → its bytes as base64, symlinks as `-> target`. */
export function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (rel === "" && name === ".git") continue;
      const abs = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(abs);
      if (st.isSymbolicLink()) out[r] = `-> ${readlinkSync(abs)}`;
      else if (st.isDirectory()) walk(abs, r);
      else out[r] = `${(st.mode & 0o777).toString(8)} ${readFileSync(abs).toString("base64")}`;
    }
  };
  walk(root, "");
  return out;
}

let catalog: ReturnType<typeof loadCatalog> | undefined;
export function resolution(version: string): Resolution {
  catalog ??= loadCatalog();
  return resolve(catalog, version);
}

/** gofmt -l over some Go sources: the names of files that are not formatted. */
export function gofmtDirty(files: Record<string, string>): string[] {
  return Object.entries(files)
    .filter(([, src]) => execFileSync("gofmt", ["-l"], { input: src, env: envWithGo(), encoding: "utf8" }).trim() !== "")
    .map(([name]) => name);
}

export const MEMORY_GO = `${RUNC_FS}/memory.go`;
export const KMEM_GO = `${RUNC_FS}/kmem.go`;

/** What each era's strategy changes. */
export const CHANGES: Record<Era, string[]> = {
  "1.8": [],
  "1.13": [MEMORY_GO],
  "1.15": [],
  "1.16": [KMEM_GO],
  "1.18": [],
  "1.20": [],
  "1.22": [],
};

/** The reference file of each shipped series and the era whose fixture carries it. */
export const SERIES_REFERENCES: [series: string, era: Era][] = [
  ["vendor-stub/1.13", "1.13"],
  ["kmem-override/1.16", "1.16"],
];

/** Each change of each patch of a series, carried forward by the engine over its era's fixture tree, beside the patch's own diff. */
export function carriedSeries(
  seriesId: string,
  era: Era,
): { change: Change; before: string; diff: PatchSeries["patches"][number]["files"][number]["diff"]; carried: ReturnType<typeof carry> }[] {
  const files = treeFiles({ era }).files;
  return loadSeries(seriesId).patches.flatMap((patch) =>
    changesOf(patch).map((change, i) => {
      const before = files[change.path]!;
      return { change, before, diff: patch.files[i]!.diff, carried: carry(change, before, "forward", { fuzz: 0, sibling: (p) => files[p] ?? null }) };
    }),
  );
}
