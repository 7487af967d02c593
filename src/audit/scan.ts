/**
 * One streaming pass over a file's bytes: sha256 and every marker, with
 * bounded memory whatever the file size. Pure: it is fed chunks in order and
 * never touches the disk (the file layer in ./file.ts reads).
 *
 * Matches that span two chunks are found in a small "seam" buffer (the last
 * maxLen-1 bytes seen + the first maxLen-1 bytes of the new chunk), so no chunk
 * is ever copied. Each pass looks for a short anchor (see Marker.anchor) and
 * checks the whole markers around each hit: every needle is another pass over
 * the chunk, so markers share anchors where they can.
 */
import { createHash, type Hash } from "node:crypto";
import type { Marker } from "./markers.js";

/** A half-open range of file offsets [start, end). */
interface ByteRange {
  start: number;
  end: number;
}

export interface MarkerHits {
  /** How many times the marker occurs. */
  count: number;
  /** File offsets of the first occurrences (at most MAX_OFFSETS). */
  offsets: number[];
}

const MAX_OFFSETS = 8;

interface Member {
  marker: Marker;
  bytes: Buffer;
  /** Where the anchor starts inside the marker. */
  at: number;
}

interface Anchor {
  needle: Buffer;
  members: Member[];
}

/** Group markers by their anchor. Throws when an anchor is not inside its marker (a programming error). */
export function anchorsFor(markers: readonly Marker[]): Anchor[] {
  const byNeedle = new Map<string, Anchor>();
  for (const marker of markers) {
    const bytes = Buffer.from(marker.text, "latin1");
    const needle = Buffer.from(marker.anchor, "latin1");
    const at = bytes.indexOf(needle);
    if (at === -1 || needle.length === 0) throw new Error(`marker ${marker.id}: anchor ${JSON.stringify(marker.anchor)} is not in its text`);
    let a = byNeedle.get(marker.anchor);
    if (!a) byNeedle.set(marker.anchor, (a = { needle, members: [] }));
    a.members.push({ marker, bytes, at });
  }
  return [...byNeedle.values()];
}

export class MarkerSearch {
  private readonly anchors: Anchor[];
  private readonly all: Member[];
  private readonly keep: number;
  private tail: Buffer = Buffer.alloc(0);
  private position = 0;
  private readonly hits = new Map<string, MarkerHits>();
  /** Sorted, non-overlapping ranges never searched (e.g. executable code). */
  private readonly ignored: ByteRange[];
  /** Ignored ranges wholly before the chunk being searched. */
  private passed = 0;

  constructor(markers: readonly Marker[], options: { ignore?: ByteRange[] } = {}) {
    this.anchors = anchorsFor(markers);
    this.all = this.anchors.flatMap((a) => a.members);
    this.keep = Math.max(0, ...this.all.map((m) => m.bytes.length)) - 1;
    this.ignored = normalise(options.ignore ?? []);
    for (const m of markers) this.hits.set(m.id, { count: 0, offsets: [] });
  }

  /** Feed the next bytes of the file. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const base = this.position;
    if (this.tail.length > 0) this.searchSeam(chunk, base);
    for (const [start, end] of this.searchable(base, base + chunk.length)) {
      this.searchRegion(chunk.subarray(start - base, end - base), start);
    }
    this.position += chunk.length;
    this.tail = nextTail(this.tail, chunk, this.keep);
  }

  /** Bytes fed so far. */
  get size(): number {
    return this.position;
  }

  result(): Map<string, MarkerHits> {
    return this.hits;
  }

  private record(id: string, offset: number): void {
    const h = this.hits.get(id)!;
    h.count++;
    if (h.offsets.length < MAX_OFFSETS) h.offsets.push(offset);
  }

  private searchRegion(region: Buffer, regionOffset: number): void {
    for (const anchor of this.anchors) {
      let i = region.indexOf(anchor.needle);
      while (i !== -1) {
        for (const m of anchor.members) {
          // A marker running past either end of the region is cut by an ignored
          // range or spans two chunks, where the seam finds it.
          const start = i - m.at;
          const end = start + m.bytes.length;
          if (start >= 0 && end <= region.length && region.compare(m.bytes, 0, m.bytes.length, start, end) === 0) {
            this.record(m.marker.id, regionOffset + start);
          }
        }
        i = region.indexOf(anchor.needle, i + 1);
      }
    }
  }

  /** Matches that start in the bytes already seen and end in the new chunk. */
  private searchSeam(chunk: Buffer, base: number): void {
    const seam = Buffer.concat([this.tail, chunk.subarray(0, this.keep)]);
    const seamStart = base - this.tail.length;
    for (const m of this.all) {
      let i = seam.indexOf(m.bytes);
      while (i !== -1 && i < this.tail.length) {
        const end = i + m.bytes.length;
        if (end > this.tail.length && !this.touchesIgnored(seamStart + i, seamStart + end)) this.record(m.marker.id, seamStart + i);
        i = seam.indexOf(m.bytes, i + 1);
      }
    }
  }

  /**
   * The parts of [start, end) outside every ignored range. Chunks come in
   * order, so ranges that end before a chunk are passed once for good: a
   * header naming 65535 sections costs one walk over them, not one per chunk.
   */
  private *searchable(start: number, end: number): Generator<[number, number]> {
    while (this.passed < this.ignored.length && this.ignored[this.passed]!.end <= start) this.passed++;
    let at = start;
    for (let k = this.passed; k < this.ignored.length; k++) {
      const r = this.ignored[k]!;
      if (r.end <= at) continue;
      if (r.start >= end) break;
      if (r.start > at) yield [at, r.start];
      at = Math.max(at, r.end);
      if (at >= end) return;
    }
    if (at < end) yield [at, end];
  }

  private touchesIgnored(start: number, end: number): boolean {
    // Sorted and disjoint: the first range ending after `start` is the only one that can overlap.
    let lo = 0;
    let hi = this.ignored.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ignored[mid]!.end <= start) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.ignored.length && this.ignored[lo]!.start < end;
  }
}

function normalise(ranges: ByteRange[]): ByteRange[] {
  const sorted = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const out: ByteRange[] = [];
  for (const r of sorted) {
    const last = out.at(-1);
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

function nextTail(tail: Buffer, chunk: Buffer, keep: number): Buffer {
  if (keep === 0) return Buffer.alloc(0);
  if (chunk.length >= keep) return Buffer.from(chunk.subarray(chunk.length - keep));
  const joined = Buffer.concat([tail, chunk]);
  return Buffer.from(joined.subarray(Math.max(0, joined.length - keep)));
}

export interface ScanResult {
  sha256: string;
  size: number;
  hits: Map<string, MarkerHits>;
}

/** sha256 and markers over the same chunks: the one pass the audit makes per file. */
class ContentScanner {
  private readonly hash: Hash = createHash("sha256");
  readonly search: MarkerSearch;

  constructor(markers: readonly Marker[], options: { ignore?: ByteRange[] } = {}) {
    this.search = new MarkerSearch(markers, options);
  }

  push(chunk: Buffer): void {
    this.hash.update(chunk);
    this.search.push(chunk);
  }

  finish(): ScanResult {
    return { sha256: this.hash.digest("hex"), size: this.search.size, hits: this.search.result() };
  }
}

/** Convenience for tests and small inputs: scan a whole buffer in chunks of `chunkSize`. */
export function scanBuffer(data: Buffer, markers: readonly Marker[], chunkSize = 4 << 20, options: { ignore?: ByteRange[] } = {}): ScanResult {
  const s = new ContentScanner(markers, options);
  for (let i = 0; i < data.length; i += chunkSize) s.push(data.subarray(i, i + chunkSize));
  return s.finish();
}
