/**
 * Pins: the expected sha256 of a release's nokmem kubelet (`pins`) or runc
 * (`runcPins`) per platform, with what it was built from. Pure functions over
 * catalog data; src/pin/store.ts does the locked write.
 */
import semver from "semver";
import type { Product } from "../strategy/types.js";
import { compareRunc, parseRuncVersion } from "../runc-version.js";
import type { Catalog, Pin } from "../catalog/types.js";
import type { RuncStrategyId } from "../strategy/types.js";
import type { StrategyId } from "../strategy/types.js";

/** A pin of either product; which map it belongs in is the product's, never the pin's shape. */
export type AnyPin = Pin<StrategyId | RuncStrategyId>;

export interface PinChange {
  version: string;
  pin: AnyPin;
  /** What differs from the existing pin (empty when new or identical). */
  conflicts: string[];
  /** Whether the catalog changes at all. */
  changed: boolean;
}

/** Merge an incoming pin over an existing one. Differences are conflicts. */
export function mergePin(version: string, existing: AnyPin | undefined, incoming: AnyPin): PinChange {
  if (!existing) return { version, pin: normalizePin(incoming), conflicts: [], changed: true };
  const conflicts: string[] = [];
  const differs = (a: string | undefined, b: string | undefined) => Boolean(a && b && a !== b);
  if (differs(existing.commit, incoming.commit)) conflicts.push(`commit ${existing.commit} → ${incoming.commit}`);
  if (differs(existing.image, incoming.image)) conflicts.push(`image ${existing.image} → ${incoming.image}`);
  if (differs(existing.strategy, incoming.strategy)) conflicts.push(`strategy ${existing.strategy} → ${incoming.strategy}`);
  if (differs(existing.keyid, incoming.keyid)) conflicts.push(`keyid ${existing.keyid} → ${incoming.keyid}`);
  for (const [platform, sha] of Object.entries(incoming.sha256)) {
    if (differs(existing.sha256[platform], sha)) conflicts.push(`${platform} sha256 ${existing.sha256[platform]!.slice(0, 12)}… → ${sha.slice(0, 12)}…`);
  }
  const merged = normalizePin({
    ...existing,
    ...incoming,
    commit: incoming.commit || existing.commit,
    image: incoming.image || existing.image,
    sha256: { ...existing.sha256, ...incoming.sha256 },
  });
  const changed = JSON.stringify(normalizePin(existing)) !== JSON.stringify(merged);
  return { version, pin: merged, conflicts, changed };
}

/** Fixed key order and sorted platforms, so the file's diff stays reviewable. */
function normalizePin(pin: AnyPin): AnyPin {
  const out: AnyPin = { commit: pin.commit, image: pin.image, sha256: {} };
  if (pin.imageId) out.imageId = pin.imageId;
  if (pin.strategy) out.strategy = pin.strategy;
  if (pin.patches?.length) out.patches = pin.patches.map((p) => ({ name: p.name, sha256: p.sha256 }));
  if (pin.keyid) out.keyid = pin.keyid;
  for (const platform of Object.keys(pin.sha256).sort()) out.sha256[platform] = pin.sha256[platform]!;
  // Keep the key order of the type: commit, image, imageId, strategy, patches, keyid, sha256.
  const { sha256, ...rest } = out;
  return { ...rest, sha256 };
}

/** The pins of a product as the catalog holds them (runcPins may be absent). */
export function pinsOf(catalog: Catalog, product: Product): Record<string, AnyPin> {
  return product === "runc" ? (catalog.runcPins ?? {}) : catalog.pins;
}

/** The catalog with `version`'s pin of `product` replaced; versions sorted as each product orders them (runc's rc numbers as numbers). */
export function withPin(catalog: Catalog, product: Product, version: string, pin: AnyPin): Catalog {
  const current = pinsOf(catalog, product);
  const order = product === "runc" ? (a: string, b: string) => compareRunc(parseRuncVersion(a)!, parseRuncVersion(b)!) : semver.compare;
  const pins: Record<string, AnyPin> = {};
  for (const v of [...new Set([...Object.keys(current), version])].sort(order)) {
    pins[v] = v === version ? pin : current[v]!;
  }
  // The catalog's loader checks each map's strategies (versions.schema.json) before the file is written.
  return product === "runc" ? { ...catalog, runcPins: pins as Record<string, Pin<RuncStrategyId>> } : { ...catalog, pins: pins as Record<string, Pin> };
}

/** The catalog as it is written: two-space JSON, one trailing newline. */
export function formatCatalog(catalog: Catalog): string {
  return `${JSON.stringify(catalog, null, 2)}\n`;
}
