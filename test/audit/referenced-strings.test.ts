/**
 * The stripped-binary heuristic's walk over Go string headers
 * (src/audit/stamps.ts referencedStrings) reads pointer and length words
 * as 32-bit halves: the same strings as reading whole words, for every
 * pointer size and byte order, at any buffer offset.
 */
import { describe, expect, it } from "vitest";
import { referencedStrings } from "../../src/audit/stamps.js";

/** The plain reading: whole words as BigInts, every slot, every block. */
function reference(data: Buffer[], readOnly: { addr: number; bytes: Buffer }[], ptrSize: 4 | 8, le: boolean, min: number, max: number): string[] {
  const word = (b: Buffer, o: number) =>
    ptrSize === 4 ? BigInt(le ? b.readUInt32LE(o) : b.readUInt32BE(o)) : le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o);
  const out = new Set<string>();
  for (const b of data) {
    for (let o = 0; o + 2 * ptrSize <= b.length; o += ptrSize) {
      const len = word(b, o + ptrSize);
      const ptr = word(b, o);
      if (len < BigInt(min) || len > BigInt(max)) continue;
      const ro = readOnly.find((r) => ptr >= BigInt(r.addr) && ptr + len <= BigInt(r.addr + r.bytes.length));
      if (ro) out.add(ro.bytes.toString("latin1", Number(ptr) - ro.addr, Number(ptr + len) - ro.addr));
    }
  }
  return [...out];
}

/** A small deterministic generator (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function writeWord(b: Buffer, o: number, value: bigint, ptrSize: 4 | 8, le: boolean): void {
  if (ptrSize === 4) {
    if (le) b.writeUInt32LE(Number(value & 0xffffffffn), o);
    else b.writeUInt32BE(Number(value & 0xffffffffn), o);
  } else if (le) b.writeBigUInt64LE(value, o);
  else b.writeBigUInt64BE(value, o);
}

describe("referencedStrings", () => {
  const cases = [
    [4, true],
    [4, false],
    [8, true],
    [8, false],
  ] as const;

  it.each(cases)("pointer size %i, little-endian %s: the strings whole-word reads find", (ptrSize, le) => {
    const next = random(ptrSize * 2 + (le ? 1 : 0));
    // Read-only data high in the address space for 64-bit (a high half that matters), low for 32-bit.
    const base = ptrSize === 8 ? 0x7_0000_0000 : 0x0048_5000;
    const roBytes = Buffer.from(Array.from({ length: 4096 }, () => 0x20 + Math.floor(next() * 0x5f)));
    const readOnly = [
      { addr: base, bytes: roBytes },
      { addr: base + 0x10000, bytes: roBytes.subarray(0, 512) },
    ];
    const slots = 2048;
    // One byte in front, so the data block starts at an odd offset of its memory.
    const backing = Buffer.alloc(slots * ptrSize + 1);
    const data = backing.subarray(1);
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(next() * 256);
    let planted = 0;
    for (let slot = 0; slot + 1 < slots; slot += 2 + Math.floor(next() * 6)) {
      const o = slot * ptrSize;
      const kind = Math.floor(next() * 6);
      const len = BigInt(1 + Math.floor(next() * 100));
      const ro = readOnly[kind % 2]!;
      const at = BigInt(Math.floor(next() * (ro.bytes.length + 64)));
      // 0–1: a header into read-only data (or just past it); 2: a length with a high half; 3: a pointer below it; 4–5: noise.
      if (kind <= 1) {
        writeWord(data, o, BigInt(ro.addr) + at, ptrSize, le);
        writeWord(data, o + ptrSize, len, ptrSize, le);
        planted++;
      } else if (kind === 2) {
        writeWord(data, o, BigInt(ro.addr) + at, ptrSize, le);
        writeWord(data, o + ptrSize, ptrSize === 8 ? (1n << 32n) + len : len, ptrSize, le);
      } else if (kind === 3) {
        writeWord(data, o, BigInt(ro.addr) - 1n, ptrSize, le);
        writeWord(data, o + ptrSize, len, ptrSize, le);
      }
    }
    expect(planted).toBeGreaterThan(100);
    const want = reference([data, data.subarray(0, 77 * ptrSize)], readOnly, ptrSize, le, 5, 80).sort();
    expect(want.length).toBeGreaterThan(50);
    expect(referencedStrings([data, data.subarray(0, 77 * ptrSize)], readOnly, ptrSize, le, 5, 80).sort()).toEqual(want);
  });

  it("a slot whose words end past the block is not read", () => {
    const readOnly = [{ addr: 0x1000, bytes: Buffer.from("v1.20.15 and more") }];
    const data = Buffer.alloc(8 + 4);
    data.writeUInt32LE(0x1000, 8);
    expect(referencedStrings([data], readOnly, 4, true, 5, 80)).toEqual([]);
    data.writeUInt32LE(0x1000, 0);
    data.writeUInt32LE(8, 4);
    expect(referencedStrings([data], readOnly, 4, true, 5, 80)).toEqual(["v1.20.15"]);
  });
});
