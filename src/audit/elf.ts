/**
 * Just enough ELF to audit a binary without running it: the header (is it an
 * executable, for which machine), section and program headers (where data
 * lives, to turn a virtual address into a file offset) and symbol lookup.
 * Layouts: the System V gABI, "ELF header", "Sections", "Program header".
 */
import type { ByteSource } from "./source.js";

export const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

export type ElfType = "relocatable" | "executable" | "shared-object" | "core" | "other";

export interface ElfHeader {
  bits: 32 | 64;
  littleEndian: boolean;
  osabi: number;
  type: ElfType;
  machine: number;
  /** Go's GOARCH name for the machine when there is one ("amd64", "arm64" …). */
  arch: string | null;
  entry: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

interface Section {
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

interface Segment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

const SHT_SYMTAB = 2;
const SHT_NOBITS = 8;
const SHF_EXECINSTR = 0x4;
const PT_LOAD = 1;
/** SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_HASH, SHT_REL, SHT_DYNSYM, SHT_GNU_HASH, SHT_GNU_versym. */
const NO_STRING_DATA = new Set([2, 3, 4, 5, 9, 11, 0x6ffffff6, 0x6fffffff]);

const MACHINES: Record<number, string> = {
  3: "386",
  8: "mips",
  20: "ppc",
  21: "ppc64",
  22: "s390x",
  40: "arm",
  62: "amd64",
  183: "arm64",
  243: "riscv64",
  258: "loong64",
};

/** The smallest header that holds every field parseElfHeader reads. */
export const ELF_HEADER_SIZE = 64;

export class ElfFormatError extends Error {}

/** Parse the ELF header, or return null when the bytes are not ELF at all. Throws ElfFormatError when they are ELF but malformed. */
export function parseElfHeader(head: Buffer): ElfHeader | null {
  if (head.length < 4 || !head.subarray(0, 4).equals(ELF_MAGIC)) return null;
  if (head.length < 52) throw new ElfFormatError(`expected an ELF header of at least 52 bytes, found ${head.length}`);
  const cls = head[4];
  const data = head[5];
  if (cls !== 1 && cls !== 2) throw new ElfFormatError(`expected ELF class 1 or 2, found ${cls}`);
  if (data !== 1 && data !== 2) throw new ElfFormatError(`expected ELF data encoding 1 or 2, found ${data}`);
  const bits = cls === 2 ? 64 : 32;
  if (bits === 64 && head.length < 64) throw new ElfFormatError(`expected a 64-byte ELF64 header, found ${head.length} bytes`);
  const r = reader(head, data === 1, bits);
  const typeCode = r.u16(16);
  const machine = r.u16(18);
  const h = (o64: number, o32: number) => (bits === 64 ? o64 : o32);
  return {
    bits,
    littleEndian: data === 1,
    osabi: head[7]!,
    type: typeCode === 1 ? "relocatable" : typeCode === 2 ? "executable" : typeCode === 3 ? "shared-object" : typeCode === 4 ? "core" : "other",
    machine,
    arch: machine === 8 && data === 1 ? "mipsle" : machine === 21 && data === 1 ? "ppc64le" : (MACHINES[machine] ?? null),
    entry: r.addr(24),
    phoff: r.addr(h(32, 28)),
    shoff: r.addr(h(40, 32)),
    phentsize: r.u16(h(54, 42)),
    phnum: r.u16(h(56, 44)),
    shentsize: r.u16(h(58, 46)),
    shnum: r.u16(h(60, 48)),
    shstrndx: r.u16(h(62, 50)),
  };
}

interface FieldReader {
  u16(o: number): number;
  u32(o: number): number;
  /** A pointer-sized word (4 or 8 bytes) as a Number. */
  addr(o: number): number;
}

export function reader(buf: Buffer, littleEndian: boolean, bits: 32 | 64): FieldReader {
  const u32 = (o: number) => (littleEndian ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  return {
    u16: (o) => (littleEndian ? buf.readUInt16LE(o) : buf.readUInt16BE(o)),
    u32,
    addr: (o) => (bits === 32 ? u32(o) : Number(littleEndian ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o))),
  };
}

/** Whether the header describes something the kernel can execute (an executable or a PIE). */
export function isExecutable(h: ElfHeader): boolean {
  return h.type === "executable" || (h.type === "shared-object" && h.entry !== 0);
}

/** Section headers with names; [] when the file has none (or they lie outside it). */
async function readSections(src: ByteSource, h: ElfHeader): Promise<Section[]> {
  const entsize = h.bits === 64 ? 64 : 40;
  if (h.shoff === 0 || h.shnum === 0 || h.shentsize < entsize) return [];
  checkTable(src, "section headers", h.shoff, h.shnum, h.shentsize);
  const table = await src.read(h.shoff, h.shnum * h.shentsize);
  if (table.length < h.shnum * h.shentsize)
    throw new ElfFormatError(`expected ${h.shnum} section headers at offset ${h.shoff}, found the file ends first (truncated?)`);
  const r = reader(table, h.littleEndian, h.bits);
  const raw: (Section & { nameOff: number })[] = [];
  for (let i = 0; i < h.shnum; i++) {
    const o = i * h.shentsize;
    const s =
      h.bits === 64
        ? {
            nameOff: r.u32(o),
            type: r.u32(o + 4),
            flags: r.addr(o + 8),
            addr: r.addr(o + 16),
            offset: r.addr(o + 24),
            size: r.addr(o + 32),
            link: r.u32(o + 40),
            entsize: r.addr(o + 56),
          }
        : {
            nameOff: r.u32(o),
            type: r.u32(o + 4),
            flags: r.u32(o + 8),
            addr: r.u32(o + 12),
            offset: r.u32(o + 16),
            size: r.u32(o + 20),
            link: r.u32(o + 24),
            entsize: r.u32(o + 36),
          };
    raw.push({ ...s, name: "" });
  }
  const strtab = raw[h.shstrndx];
  if (strtab && strtab.type !== SHT_NOBITS) {
    const names = await src.read(strtab.offset, Math.min(strtab.size, 1 << 20));
    for (const s of raw) s.name = cString(names, s.nameOff);
  }
  return raw.map(({ nameOff: _n, ...s }) => s);
}

/**
 * A header table must lie inside the file, with entries of a sane size,
 * before a byte of it is read: a hostile header claiming 65535 entries of
 * 65535 bytes would otherwise have the audit allocate up to 4 GiB.
 */
function checkTable(src: ByteSource, what: string, offset: number, count: number, entsize: number): void {
  if (entsize > MAX_HEADER_ENTRY) throw new ElfFormatError(`expected ${what} of at most ${MAX_HEADER_ENTRY} bytes each, found ${entsize}-byte entries`);
  if (offset + count * entsize > src.size) {
    throw new ElfFormatError(
      `expected ${count} ${what} (${count * entsize} bytes at offset ${offset}) inside the ${src.size}-byte file, found the file ends first (truncated or forged header)`,
    );
  }
}

/** Far above a kubelet's symbol and string tables (a few MB each). */
const MAX_SYMBOL_TABLE = 256 << 20;
/** The piece of a table read at once: memory stays bounded whatever a header claims. */
const TABLE_PIECE = 4 << 20;

/** Far above the real 64 (section) and 56 (program header) bytes; keeps a table below 17 MB. */
const MAX_HEADER_ENTRY = 256;

async function readSegments(src: ByteSource, h: ElfHeader): Promise<Segment[]> {
  const entsize = h.bits === 64 ? 56 : 32;
  if (h.phoff === 0 || h.phnum === 0 || h.phentsize < entsize) return [];
  checkTable(src, "program headers", h.phoff, h.phnum, h.phentsize);
  const table = await src.read(h.phoff, h.phnum * h.phentsize);
  if (table.length < h.phnum * h.phentsize)
    throw new ElfFormatError(`expected ${h.phnum} program headers at offset ${h.phoff}, found the file ends first (truncated?)`);
  const r = reader(table, h.littleEndian, h.bits);
  const out: Segment[] = [];
  for (let i = 0; i < h.phnum; i++) {
    const o = i * h.phentsize;
    out.push(
      h.bits === 64
        ? { type: r.u32(o), flags: r.u32(o + 4), offset: r.addr(o + 8), vaddr: r.addr(o + 16), filesz: r.addr(o + 32) }
        : { type: r.u32(o), offset: r.u32(o + 4), vaddr: r.u32(o + 8), filesz: r.u32(o + 16), flags: r.u32(o + 24) },
    );
  }
  return out;
}

function cString(buf: Buffer, at: number): string {
  if (at >= buf.length) return "";
  const end = buf.indexOf(0, at);
  return buf.toString("latin1", at, end === -1 ? buf.length : end);
}

/** An ELF file's layout, read once and shared by the parsers that follow. */
export class ElfImage {
  constructor(
    readonly src: ByteSource,
    readonly header: ElfHeader,
    readonly sections: Section[],
    readonly segments: Segment[],
  ) {}

  static async open(src: ByteSource, header: ElfHeader): Promise<ElfImage> {
    return new ElfImage(src, header, await readSections(src, header), await readSegments(src, header));
  }

  get ptrSize(): 4 | 8 {
    return this.header.bits === 64 ? 8 : 4;
  }

  section(name: string): Section | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** File offset of a virtual address, or null when no loaded segment holds it in the file. */
  offsetOf(vaddr: number): number | null {
    for (const p of this.segments) {
      if (p.type === PT_LOAD && vaddr >= p.vaddr && vaddr < p.vaddr + p.filesz) return p.offset + (vaddr - p.vaddr);
    }
    for (const s of this.sections) {
      if (s.addr !== 0 && s.type !== SHT_NOBITS && vaddr >= s.addr && vaddr < s.addr + s.size) return s.offset + (vaddr - s.addr);
    }
    return null;
  }

  /** Virtual address of a file offset inside an allocated section, or null. */
  addressOf(offset: number): number | null {
    for (const s of this.sections) {
      if (s.addr !== 0 && s.type !== SHT_NOBITS && offset >= s.offset && offset < s.offset + s.size) return s.addr + (offset - s.offset);
    }
    return null;
  }

  async readAt(vaddr: number, length: number): Promise<Buffer | null> {
    const off = this.offsetOf(vaddr);
    if (off === null) return null;
    const b = await this.src.read(off, length);
    return b.length === length ? b : null;
  }

  /**
   * File ranges that never hold string data or file names: code, symbol and
   * string tables, relocations, debug info. Searching them for markers would
   * only cost time. Bytes outside every section are still searched.
   */
  unsearchedRanges(): { start: number; end: number }[] {
    return this.sections
      .filter((s) => s.type !== SHT_NOBITS && s.size > 0 && (s.flags & SHF_EXECINSTR || NO_STRING_DATA.has(s.type) || /^\.z?debug_/.test(s.name)))
      .map((s) => ({ start: s.offset, end: s.offset + s.size }));
  }

  /**
   * Look symbols up by exact name in .symtab. Returns name → value (a virtual
   * address); names not present are missing from the map. Empty when the
   * binary is stripped, or its tables are larger than any real binary's
   * (MAX_SYMBOL_TABLE: a forged header naming a 2 GB table of a sparse file
   * had the audit hold 4 GB). The tables are read in bounded pieces, each
   * byte at most once, and the symbol walk stops when every name is found.
   */
  async symbols(names: readonly string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    const symtab = this.sections.find((s) => s.type === SHT_SYMTAB);
    const strtab = symtab ? this.sections[symtab.link] : undefined;
    if (!symtab || !strtab || symtab.size === 0 || symtab.size > MAX_SYMBOL_TABLE || strtab.size > MAX_SYMBOL_TABLE) return found;
    const wanted = await this.nameOffsets(strtab, names);
    if (wanted.size === 0) return found;
    const entsize = this.header.bits === 64 ? 24 : 16;
    const piece = Math.floor(TABLE_PIECE / entsize) * entsize;
    for (let at = 0; at < symtab.size; at += piece) {
      const table = await this.src.read(symtab.offset + at, Math.min(piece, symtab.size - at));
      const r = reader(table, this.header.littleEndian, this.header.bits);
      for (let o = 0; o + entsize <= table.length; o += entsize) {
        const name = wanted.get(r.u32(o));
        if (name !== undefined) found.set(name, this.header.bits === 64 ? r.addr(o + 8) : r.u32(o + 4));
      }
      if (table.length < Math.min(piece, symtab.size - at)) break;
    }
    return found;
  }

  /** Offset in the string table → name, for the names it holds (the first occurrence of each). */
  private async nameOffsets(strtab: Section, names: readonly string[]): Promise<Map<number, string>> {
    const needles = names.map((name) => ({ name, bytes: Buffer.from(`\0${name}\0`, "latin1") }));
    const overlap = Math.max(0, ...needles.map((n) => n.bytes.length)) - 1;
    const wanted = new Map<number, string>();
    const seen = new Set<string>();
    for (let at = 0; at < strtab.size && seen.size < needles.length; at += TABLE_PIECE) {
      // Each piece reaches `overlap` bytes into the next, so a name across the seam is found.
      const want = Math.min(TABLE_PIECE + overlap, strtab.size - at);
      const piece = await this.src.read(strtab.offset + at, want);
      for (const n of needles) {
        if (seen.has(n.name)) continue;
        const i = piece.indexOf(n.bytes);
        if (i === -1) continue;
        seen.add(n.name);
        wanted.set(at + i + 1, n.name);
      }
      if (piece.length < want) break;
    }
    return wanted;
  }

  /** Read a Go string header (data pointer, length) at `vaddr` and the bytes it points to. */
  async goBytes(vaddr: number, maxLength = 4096): Promise<Buffer | null> {
    const hdr = await this.readAt(vaddr, this.ptrSize * 2);
    if (!hdr) return null;
    const r = reader(hdr, this.header.littleEndian, this.header.bits);
    const ptr = r.addr(0);
    const len = r.addr(this.ptrSize);
    if (len === 0) return Buffer.alloc(0);
    if (len > maxLength) return null;
    return this.readAt(ptr, len);
  }

  async goString(vaddr: number, maxLength = 4096): Promise<string | null> {
    return (await this.goBytes(vaddr, maxLength))?.toString("utf8") ?? null;
  }
}
