/**
 * The manifests `audit --manifest` reads (`SHA256SUMS` in sha256sum format,
 * in-toto `manifest.json` subjects) as entries for the pin check, which
 * src/catalog/pin-check.ts owns. Parsers take text.
 */
import { parseSha256Sums as parseSums } from "../artifact/checksums.js";
import type { ManifestEntry } from "../catalog/pin-check.js";
import { subjectDigests, type Statement } from "../artifact/intoto.js";
import { readStatement } from "../artifact/manifest.js";

export type { ManifestEntry } from "../catalog/pin-check.js";

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
