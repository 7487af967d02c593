/**
 * The pin stage: a build's output folder becomes the release's pin in the
 * catalog. The files must still be what the build's manifest says before
 * they become the reference anyone verifies against.
 */
import type { VerifyingKey } from "../artifact/dsse.js";
import type { Product } from "../strategy/types.js";
import { readPublishedBuild } from "./outdir.js";
import { storePin, type StorePinOptions } from "./store.js";

interface PinResult {
  /** What was pinned, from the folder's manifest: a kubelet goes into `pins`, runc into `runcPins`. */
  product: Product;
  version: string;
  catalog: string;
  changed: boolean;
  written: boolean;
  forced: boolean;
  conflicts: string[];
  pin: Awaited<ReturnType<typeof storePin>>["pin"];
}

export async function pinOutDir(
  catalogPath: string,
  outDir: string,
  opts: Pick<StorePinOptions, "force" | "dryRun" | "signal" | "onWait"> & { key?: VerifyingKey | null } = {},
): Promise<PinResult> {
  // The folder's one check (artifact/outdir.ts) has hashed every file against
  // the manifest; the release's current pin (if any) is what this run may
  // replace, so it is no reference here.
  const build = await readPublishedBuild(outDir, opts.key ?? null);
  const change = await storePin(catalogPath, build.product, build.version, build.pin, {
    force: opts.force,
    dryRun: opts.dryRun,
    signal: opts.signal,
    onWait: opts.onWait,
  });
  return {
    product: build.product,
    version: build.version,
    catalog: catalogPath,
    changed: change.changed,
    written: change.changed && !opts.dryRun,
    forced: change.conflicts.length > 0,
    conflicts: change.conflicts,
    pin: change.pin,
  };
}
