/**
 * The pin check, one owner for `audit` (the report's `pin` field) and
 * `verify` (match / mismatch / unpinned): does a binary's sha256 agree with
 * every digest recorded for it?
 *
 * Each recorded digest carries its authority. A `pin` vouches for the binary:
 * the catalog's pin, or a manifest the user names to `audit --manifest` as the
 * reference. A `record` only cross-checks: the manifest.json and SHA256SUMS
 * that travel with the binary being verified cannot vouch for themselves, so
 * they can make a binary a mismatch but never a match. Pure.
 */
import type { Catalog } from "./types.js";

export type PinStatus = "match" | "mismatch" | "unpinned";

export interface Recorded {
  /** Where the digest comes from: "versions.json", a SHA256SUMS or manifest.json path. */
  source: string;
  /** What it is recorded under: "1.20.15 linux/amd64" for the catalog, the entry name for a manifest. */
  name: string;
  expected: string;
  authority: "pin" | "record";
}

export interface PinCheck {
  source: string;
  name: string;
  expected: string;
  status: "match" | "mismatch";
}

export interface PinResult {
  status: PinStatus;
  checks: PinCheck[];
}

export function checkPin(actual: string, recorded: readonly Recorded[]): PinResult {
  const sha = actual.toLowerCase();
  const checks: PinCheck[] = recorded.map((r) => ({
    source: r.source,
    name: r.name,
    expected: r.expected,
    status: r.expected.toLowerCase() === sha ? "match" : "mismatch",
  }));
  const status: PinStatus = checks.some((c) => c.status === "mismatch")
    ? "mismatch"
    : recorded.some((r, i) => r.authority === "pin" && checks[i]!.status === "match")
      ? "match"
      : "unpinned";
  return { status, checks };
}

/** One line per disagreement (or why there is no pin), for people. */
export function pinReasons(result: PinResult, actual: string): string[] {
  if (result.status === "unpinned") return ["no pin for this release and platform"];
  return result.checks
    .filter((c) => c.status === "mismatch")
    .map((c) =>
      c.source === CATALOG_SOURCE
        ? `pin is ${c.expected}, file is ${actual}`
        : `${c.source.split("/").at(-1) === "manifest.json" ? "manifest" : c.source.split("/").at(-1)} records ${c.expected}, file is ${actual}`,
    );
}

const CATALOG_SOURCE = "versions.json";

/** The catalog's pin for a release and platform, if any: `pins` for a kubelet, `runcPins` for the runtime's runc. */
export function catalogPin(
  catalog: Pick<Catalog, "pins" | "runcPins"> | null,
  release: string | null,
  platform: string | null,
  product: "kubelet" | "runc" = "kubelet",
): Recorded[] {
  const pins = product === "runc" ? catalog?.runcPins : catalog?.pins;
  const expected = release && platform ? pins?.[release]?.sha256[platform] : undefined;
  return expected ? [{ source: CATALOG_SOURCE, name: `${product === "runc" ? "runc " : ""}${release} ${platform}`, expected, authority: "pin" }] : [];
}

export interface ManifestEntry {
  name: string;
  sha256: string;
  /** The file the entry came from. */
  source: string;
}

/**
 * The entries of a reference manifest that speak about a binary: those with
 * its digest (a match anywhere in the manifest) or, failing that, those that
 * name it (the binary's path, or a name ending with "/" + its file name).
 */
export function manifestPins(sha256: string, path: string, manifest: readonly ManifestEntry[]): Recorded[] {
  const byDigest = manifest.filter((e) => e.sha256 === sha256);
  const base = path.split("/").filter(Boolean).at(-1) ?? path;
  const clean = (p: string) => p.replace(/^\.\//, "");
  const chosen = byDigest.length ? byDigest : manifest.filter((e) => [clean(path), base].includes(clean(e.name)) || clean(e.name).endsWith(`/${base}`));
  return chosen.map((e) => ({ source: e.source, name: e.name, expected: e.sha256, authority: "pin" }));
}
