/**
 * Writing pins into versions.json: under a lock, re-reading the file inside
 * it, validating the result and replacing the file atomically, so two
 * concurrent `pin` runs both land and neither can leave a broken catalog.
 */
import { MAX_CATALOG_BYTES, parseCatalog } from "../catalog/load.js";
import type { Product } from "../strategy/types.js";
import { VerificationError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { acquireLock, type LockHolder } from "../io/lock.js";
import { readRegularText } from "../io/read.js";
import { formatCatalog, mergePin, pinsOf, withPin, type AnyPin, type PinChange } from "./pins.js";

export interface StorePinOptions {
  force?: boolean;
  dryRun?: boolean;
  /** Ends the wait for the catalog's lock (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Called once when another process holds the catalog and the wait starts. */
  onWait?: (holder: LockHolder | null) => void;
}

/** Another pin holds the catalog for milliseconds; a holder that keeps it this long is stuck, and the user is told who it is. */
const PIN_WAIT_MS = 30_000;

export async function storePin(catalogPath: string, product: Product, version: string, incoming: AnyPin, opts: StorePinOptions = {}): Promise<PinChange> {
  const what = product === "runc" ? `runc ${version}` : version;
  const lock = await acquireLock(`${catalogPath}.lock`, {
    what: catalogPath,
    purpose: `pin ${what}`,
    wait: true,
    waitMs: PIN_WAIT_MS,
    pollMs: 50,
    signal: opts.signal,
    onWait: opts.onWait,
    hint: `if that process is gone or stuck, end it, or remove ${catalogPath}.lock`,
  });
  try {
    const catalog = parseCatalog(await readRegularText(catalogPath, { maxBytes: MAX_CATALOG_BYTES }), catalogPath);
    const change = mergePin(version, pinsOf(catalog, product)[version], incoming);
    if (change.conflicts.length && !opts.force) {
      throw new VerificationError(
        "E_PIN_CONFLICT",
        `expected the new build of ${what} to match its pin, found ${change.conflicts.join("; ")}`,
        `only re-pin when the release or build inputs changed: \`kubelet-nokmem pin DIR --force\``,
      );
    }
    if (change.changed && !opts.dryRun) {
      const text = formatCatalog(withPin(catalog, product, version, change.pin));
      parseCatalog(text, catalogPath); // never write a catalog the loader would refuse
      await writeFileAtomic(catalogPath, text);
    }
    return change;
  } finally {
    await lock.release();
  }
}
