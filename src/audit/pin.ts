/**
 * The manifests `audit --manifest` reads (`SHA256SUMS` in sha256sum format,
 * in-toto `manifest.json` subjects) as entries for the pin check, which
 * src/pin/check.ts owns. Parsers take text.
 */
import { parseSha256Sums as parseSums } from "../artifact/checksums.js";
import type { ManifestEntry } from "../pin/check.js";

export type { ManifestEntry } from "../pin/check.js";

const HEX64 = /^[0-9a-f]{64}$/;

/** SHA256SUMS entries of a manifest folder; lines that are not entries (comments) are skipped. */
export function parseSha256Sums(text: string, source: string): ManifestEntry[] {
  return parseSums(text, { skipInvalid: true }).map((e) => ({ ...e, source }));
}

/** Subjects of an in-toto statement (`{subject:[{name, digest:{sha256}}]}`); also accepts a bare subject array. */
export function parseInTotoManifest(text: string, source: string): ManifestEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: expected JSON, found a syntax error (${(err as Error).message})`);
  }
  const subjects = Array.isArray(data) ? data : (data as { subject?: unknown })?.subject;
  if (!Array.isArray(subjects)) throw new Error(`${source}: expected an in-toto statement with a subject array, found none`);
  const out: ManifestEntry[] = [];
  for (const s of subjects as { name?: unknown; digest?: { sha256?: unknown } }[]) {
    const sha = typeof s?.digest?.sha256 === "string" ? s.digest.sha256.toLowerCase() : null;
    if (typeof s?.name === "string" && sha && HEX64.test(sha)) out.push({ name: s.name, sha256: sha, source });
  }
  return out;
}
