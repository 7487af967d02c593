/**
 * Builds small ELF64 little-endian executables in memory, laid out the way the
 * Go linker lays out a static binary (one PT_LOAD, vaddr = base + file offset),
 * so the audit's parsers can be tested on exact bytes without a toolchain.
 */
const BASE = 0x400000;

interface Pending {
  name: string;
  type: number;
  flags: number;
  offset: number;
  data: Buffer;
  link?: number;
  entsize?: number;
}

export class ElfBuilder {
  private readonly sections: Pending[] = [];
  private readonly symbols: { name: string; value: number }[] = [];
  private cursor = 0x1000;
  constructor(private readonly opts: { machine?: number; type?: number; entry?: number } = {}) {}

  /** Add a section; returns its virtual address. SHF_ALLOC = 2, SHF_EXECINSTR = 4, SHF_WRITE = 1. */
  section(name: string, data: Buffer, flags = 2, type = 1): number {
    this.cursor = align(this.cursor, 16);
    this.sections.push({ name, type, flags, offset: this.cursor, data });
    const addr = BASE + this.cursor;
    this.cursor += data.length;
    return addr;
  }

  symbol(name: string, value: number): void {
    this.symbols.push({ name, value });
  }

  build(options: { withSectionHeaders?: boolean } = {}): Buffer {
    const all: Pending[] = [...this.sections];
    if (this.symbols.length) {
      const names = [Buffer.from([0])];
      const syms = [Buffer.alloc(24)];
      let at = 1;
      for (const s of this.symbols) {
        const e = Buffer.alloc(24);
        e.writeUInt32LE(at, 0);
        e[4] = 0x11; // STB_GLOBAL, STT_OBJECT
        e.writeUInt16LE(1, 6);
        e.writeBigUInt64LE(BigInt(s.value), 8);
        syms.push(e);
        names.push(Buffer.from(`${s.name}\0`, "latin1"));
        at += Buffer.byteLength(s.name, "latin1") + 1;
      }
      this.cursor = align(this.cursor, 16);
      const symtabIndex = all.length + 1;
      all.push({ name: ".symtab", type: 2, flags: 0, offset: this.cursor, data: Buffer.concat(syms), link: symtabIndex + 1, entsize: 24 });
      this.cursor += 24 * syms.length;
      all.push({ name: ".strtab", type: 3, flags: 0, offset: this.cursor, data: Buffer.concat(names) });
      this.cursor += Buffer.concat(names).length;
    }
    const shstr = [Buffer.from([0])];
    const nameOff: number[] = [];
    let at = 1;
    for (const s of [...all, { name: ".shstrtab" }]) {
      nameOff.push(at);
      shstr.push(Buffer.from(`${s.name}\0`, "latin1"));
      at += s.name.length + 1;
    }
    const shstrtab = Buffer.concat(shstr);
    all.push({ name: ".shstrtab", type: 3, flags: 0, offset: this.cursor, data: shstrtab });
    this.cursor += shstrtab.length;
    const shoff = align(this.cursor, 8);
    const withSh = options.withSectionHeaders ?? true;
    const total = withSh ? shoff + 64 * (all.length + 1) : this.cursor;
    const out = Buffer.alloc(total);
    // ELF header
    out.write("\x7fELF", 0, "latin1");
    out[4] = 2;
    out[5] = 1;
    out[6] = 1;
    out.writeUInt16LE(this.opts.type ?? 2, 16);
    out.writeUInt16LE(this.opts.machine ?? 62, 18);
    out.writeUInt32LE(1, 20);
    out.writeBigUInt64LE(BigInt(this.opts.entry ?? BASE + 0x1000), 24);
    out.writeBigUInt64LE(64n, 32);
    out.writeBigUInt64LE(BigInt(withSh ? shoff : 0), 40);
    out.writeUInt16LE(64, 52);
    out.writeUInt16LE(56, 54);
    out.writeUInt16LE(1, 56);
    out.writeUInt16LE(64, 58);
    out.writeUInt16LE(withSh ? all.length + 1 : 0, 60);
    out.writeUInt16LE(withSh ? all.length : 0, 62);
    // One PT_LOAD over the whole file.
    out.writeUInt32LE(1, 64);
    out.writeUInt32LE(5, 68);
    out.writeBigUInt64LE(0n, 72);
    out.writeBigUInt64LE(BigInt(BASE), 80);
    out.writeBigUInt64LE(BigInt(BASE), 88);
    out.writeBigUInt64LE(BigInt(this.cursor), 96);
    out.writeBigUInt64LE(BigInt(this.cursor), 104);
    for (const s of all) s.data.copy(out, s.offset);
    if (withSh) {
      all.forEach((s, i) => {
        const o = shoff + 64 * (i + 1);
        out.writeUInt32LE(nameOff[i]!, o);
        out.writeUInt32LE(s.type, o + 4);
        out.writeBigUInt64LE(BigInt(s.flags), o + 8);
        out.writeBigUInt64LE(BigInt(s.flags & 2 ? BASE + s.offset : 0), o + 16);
        out.writeBigUInt64LE(BigInt(s.offset), o + 24);
        out.writeBigUInt64LE(BigInt(s.data.length), o + 32);
        out.writeUInt32LE(s.link ?? 0, o + 40);
        out.writeBigUInt64LE(BigInt(s.entsize ?? 0), o + 56);
      });
    }
    return out;
  }
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** A Go string header (pointer, length), little-endian 64-bit. */
export function goStringHeader(addr: number, length: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(BigInt(addr), 0);
  b.writeBigUInt64LE(BigInt(length), 8);
  return b;
}

export function uvarintBytes(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

const SENTINEL_START = Buffer.from("3077af0c9274080241e1c107e6d618e6", "hex");
const SENTINEL_END = Buffer.from("f932433186182072008242104116d8f2", "hex");

/** A Go 1.18+ build info blob: header with flag bit 2, then varint-prefixed version and framed modinfo. */
export function inlineBuildInfo(goVersion: string, modinfo: string): Buffer {
  const head = Buffer.alloc(32);
  head.write("\xff Go buildinf:", 0, "latin1");
  head[14] = 8;
  head[15] = 2;
  const mod = Buffer.concat([SENTINEL_START, Buffer.from(modinfo, "utf8"), SENTINEL_END]);
  const vers = Buffer.from(goVersion, "utf8");
  return Buffer.concat([head, uvarintBytes(vers.length), vers, uvarintBytes(mod.length), mod]);
}
