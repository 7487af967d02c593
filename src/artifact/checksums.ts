/** sha256 of files and the SHA256SUMS format that `sha256sum -c` reads. */
import { createHash } from "node:crypto";
import { streamRegularFile } from "../io/read.js";

/** sha256 of a regular file (a FIFO or device is refused, never read: src/io/read.ts). */
export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const h = createHash("sha256");
  await streamRegularFile(path, (chunk) => h.update(chunk), { signal });
  return h.digest("hex");
}

interface ChecksumEntry {
  /** Relative to the folder SHA256SUMS sits in, `/`-separated. */
  name: string;
  sha256: string;
}

/**
 * `<hex> *<name>`, one per line, sorted by name: GNU sha256sum's binary-mode
 * line, which `sha256sum -c` and `shasum -a 256 -c` both read.
 */
export function formatSha256Sums(entries: readonly ChecksumEntry[]): string {
  for (const e of entries) {
    if (!/^[0-9a-f]{64}$/.test(e.sha256)) throw new Error(`not a sha256: ${e.sha256}`);
    if (/[\n\\]/.test(e.name) || e.name.startsWith("/")) throw new Error(`not a relative plain name: ${e.name}`);
  }
  return [...entries]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((e) => `${e.sha256} *${e.name}\n`)
    .join("");
}

/**
 * Parse SHA256SUMS text: "<hex>  name" or "<hex> *name", a leading backslash
 * (GNU's escaped-name form) and upper-case hex accepted. A line that is not an
 * entry throws, unless `skipInvalid` (files written by other tools, with
 * comments, as the audit reads them).
 */
export function parseSha256Sums(text: string, opts: { skipInvalid?: boolean } = {}): ChecksumEntry[] {
  const out: ChecksumEntry[] = [];
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    if (!line.trim()) continue;
    const m = /^\\?([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (m) out.push({ sha256: m[1]!.toLowerCase(), name: m[2]! });
    // By number, never quoted: the text may be any file put in SHA256SUMS's place.
    else if (!opts.skipInvalid) throw new Error(`line ${i + 1}, which is not "<sha256>  <name>"`);
  }
  return out;
}
