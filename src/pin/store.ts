/**
 * Writing pins into versions.json: under a lock, re-reading the file inside
 * it, validating the result and replacing the file atomically, so two
 * concurrent `pin` runs both land and neither can leave a broken catalog.
 */
import { MAX_CATALOG_BYTES, parseCatalog } from "../catalog/load.js";
import type { Pin } from "../catalog/types.js";
import { VerificationError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { acquireLock, type LockHolder } from "../io/lock.js";
import { readRegularText } from "../io/read.js";
import { formatCatalog, mergePin, withPin, type PinChange } from "./pins.js";

interface StorePinOptions {
  force?: boolean;
  dryRun?: boolean;
  /** Stops a wait for the catalog's lock (SIGINT, SIGTERM). */
  signal?: AbortSignal;
  /** Called once when the catalog is locked by another run and the wait begins. */
  onWait?: (holder: LockHolder | null) => void;
}

export async function storePin(catalogPath: string, version: string, incoming: Pin, opts: StorePinOptions = {}): Promise<PinChange> {
  const lock = await acquireLock(`${catalogPath}.lock`, { what: catalogPath, purpose: `pin ${version}`, wait: true, pollMs: 50, signal: opts.signal, onWait: opts.onWait });
  try {
    const catalog = parseCatalog(await readRegularText(catalogPath, { maxBytes: MAX_CATALOG_BYTES }), catalogPath);
    const change = mergePin(version, catalog.pins[version], incoming);
    if (change.conflicts.length && !opts.force) {
      throw new VerificationError(
        "E_PIN_CONFLICT",
        `expected the new build of ${version} to match its pin, found ${change.conflicts.join("; ")}`,
        `only re-pin when the release or build inputs changed: \`kubelet-nokmem pin DIR --force\``,
      );
    }
    if (change.changed && !opts.dryRun) {
      const text = formatCatalog(withPin(catalog, version, change.pin));
      parseCatalog(text, catalogPath); // never write a catalog the loader would refuse
      await writeFileAtomic(catalogPath, text);
    }
    return change;
  } finally {
    await lock.release();
  }
}
