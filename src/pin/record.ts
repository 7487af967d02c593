/**
 * The pin stage: a build's output folder becomes the release's pin in the
 * catalog. The files must still be what the build's manifest says before
 * they become the reference anyone verifies against.
 */
import type { VerifyingKey } from "../artifact/dsse.js";
import type { Catalog } from "../catalog/types.js";
import { VerificationError } from "../errors.js";
import { readPublishedBuild } from "./outdir.js";
import { storePin } from "./store.js";
import { verifyTarget } from "./verify.js";

interface PinResult {
  version: string;
  catalog: string;
  changed: boolean;
  written: boolean;
  forced: boolean;
  conflicts: string[];
  pin: Awaited<ReturnType<typeof storePin>>["pin"];
}

export async function pinOutDir(
  catalog: Catalog,
  catalogPath: string,
  outDir: string,
  opts: NonNullable<Parameters<typeof storePin>[3]> & { key?: VerifyingKey | null } = {},
): Promise<PinResult> {
  const build = await readPublishedBuild(outDir, opts.key ?? null);
  // Checked against the manifest only: the release's current pin (if any) is
  // what this run may replace, so it is no reference here.
  const broken = (await verifyTarget({ ...catalog, pins: {} }, outDir)).filter((r) => r.outcome === "mismatch");
  if (broken.length) {
    throw new VerificationError("E_OUT_DIR_CHANGED", `expected the files of ${outDir} to match its manifest, found ${broken.map((b) => `${b.platform}: ${b.reasons.join(", ")}`).join("; ")}`, "rebuild; never pin a changed artifact");
  }
  const change = await storePin(catalogPath, build.version, build.pin, { force: opts.force, dryRun: opts.dryRun, signal: opts.signal, onWait: opts.onWait });
  return { version: build.version, catalog: catalogPath, changed: change.changed, written: change.changed && !opts.dryRun, forced: change.conflicts.length > 0, conflicts: change.conflicts, pin: change.pin };
}
