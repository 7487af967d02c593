/**
 * Does a binary's sha256 match what was pinned for it? Sources: versions.json
 * `pins` (sha256 per platform of a release) and build manifests (`SHA256SUMS`
 * in sha256sum format, in-toto `manifest.json` subjects). Parsers take text.
 */
import type { Catalog } from "../catalog/types.js";
import { parseSha256Sums as parseSums } from "../artifact/checksums.js";
import { subjectDigests, type Statement } from "../artifact/intoto.js";
import { readStatement } from "../artifact/manifest.js";

export type PinStatus = "match" | "mismatch" | "unpinned";

export interface ManifestEntry {
  name: string;
  sha256: string;
  /** The file the entry came from. */
  source: string;
}

export interface PinCheck {
  source: string;
  /** The pinned name: "1.20.15 linux/amd64" for the catalog, the entry name for a manifest. */
  name: string;
  expected: string;
  status: "match" | "mismatch";
}

export interface PinResult {
  status: PinStatus;
  checks: PinCheck[];
}

const HEX64 = /^[0-9a-f]{64}$/;

/** SHA256SUMS entries of a manifest folder; lines that are not entries (comments) are skipped. */
export function parseSha256Sums(text: string, source: string): ManifestEntry[] {
  return parseSums(text, { skipInvalid: true }).map((e) => ({ ...e, source }));
}

/** sha256 subjects of a manifest.json, read by artifact/'s strict in-toto reader (throws VerificationError E_MANIFEST). */
export function parseInTotoManifest(text: string, source: string): ManifestEntry[] {
  return manifestEntries(readStatement(text, source), source);
}

/** The named sha256 subjects of a Statement as manifest entries. */
export function manifestEntries(st: Statement, source: string): ManifestEntry[] {
  return subjectDigests(st).flatMap((s) => (s.name && HEX64.test(s.sha256) ? [{ name: s.name, sha256: s.sha256, source }] : []));
}

interface PinSubject {
  sha256: string;
  /** The path as given on the command line. */
  path: string;
  /** "1.20.15" when the binary's version stamp names a release. */
  release: string | null;
  /** "linux/amd64" from the ELF machine. */
  platform: string | null;
}

/**
 * Catalog pins apply by release and platform. Manifest entries apply by digest
 * (a match anywhere in the manifest) or, failing that, by name: an entry whose
 * name is the binary's path or ends with "/" + its file name names it.
 */
export function checkPin(subject: PinSubject, catalog: Pick<Catalog, "pins"> | null, manifest: readonly ManifestEntry[]): PinResult {
  const checks: PinCheck[] = [];
  const pin = subject.release && catalog ? catalog.pins[subject.release] : undefined;
  if (pin && subject.platform) {
    const expected = pin.sha256[subject.platform];
    if (expected) checks.push({ source: "versions.json", name: `${subject.release} ${subject.platform}`, expected, status: expected.toLowerCase() === subject.sha256 ? "match" : "mismatch" });
  }
  const byDigest = manifest.filter((e) => e.sha256 === subject.sha256);
  if (byDigest.length) {
    for (const e of byDigest) checks.push({ source: e.source, name: e.name, expected: e.sha256, status: "match" });
  } else {
    const base = subject.path.split("/").filter(Boolean).at(-1) ?? subject.path;
    const clean = (p: string) => p.replace(/^\.\//, "");
    for (const e of manifest) {
      const name = clean(e.name);
      if (name === clean(subject.path) || name === base || name.endsWith(`/${base}`)) checks.push({ source: e.source, name: e.name, expected: e.sha256, status: "mismatch" });
    }
  }
  const status: PinStatus = checks.some((c) => c.status === "mismatch") ? "mismatch" : checks.length ? "match" : "unpinned";
  return { status, checks };
}
