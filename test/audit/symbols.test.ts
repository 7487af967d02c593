/** Symbol lookup reads the symbol and string tables in bounded pieces; a forged table size costs nothing. */
import { describe, expect, it } from "vitest";
import { ElfImage, parseElfHeader } from "../../src/audit/elf.js";
import { bufferSource, type ByteSource } from "../../src/audit/source.js";
import { ElfBuilder } from "./elf-builder.js";

const PIECE = 4 << 20;

/** 200,000 symbols: both tables larger than one piece. */
function bigSymbolTable() {
  const b = new ElfBuilder();
  b.section(".text", Buffer.alloc(64, 0xcc), 6);
  const names: string[] = [];
  for (let i = 0; i < 200_000; i++) {
    const name = `k8s.io/kubernetes/pkg/sym${String(i).padStart(8, "0")}`;
    names.push(name);
    b.symbol(name, 0x500000 + i * 8);
  }
  return { bytes: b.build(), names };
}

async function open(src: ByteSource, head: Buffer): Promise<ElfImage> {
  const h = parseElfHeader(head)!;
  return ElfImage.open(src, h);
}

describe("ElfImage.symbols over tables larger than a piece", () => {
  const { bytes, names } = bigSymbolTable();

  it("finds names anywhere: at the start, across a piece's seam in the string table, in the symbol table's last piece", async () => {
    const image = await open(bufferSource(bytes), bytes.subarray(0, 64));
    const strtab = image.sections.find((s) => s.name === ".strtab")!;
    const symtab = image.sections.find((s) => s.name === ".symtab")!;
    expect(strtab.size).toBeGreaterThan(PIECE);
    expect(symtab.size).toBeGreaterThan(PIECE);
    // The string table is "\0" and each name with its NUL: all names are 33 bytes, so
    // name i's needle "\0name\0" starts at i * 34; this one runs over the first piece's end.
    const seam = Math.floor((PIECE - 1) / 34);
    const strings = bytes.subarray(strtab.offset, strtab.offset + strtab.size);
    expect(strings.indexOf(Buffer.from(`\0${names[seam]}\0`, "latin1"), seam * 34 - 1)).toBe(seam * 34);
    expect(seam * 34 + 35).toBeGreaterThan(PIECE);
    expect(seam).toBeGreaterThan(0);
    const wanted = [names[0]!, names[seam]!, names.at(-1)!, "not.there"];
    const found = await image.symbols(wanted);
    expect(Object.fromEntries(found)).toEqual({
      [names[0]!]: 0x500000,
      [names[seam]!]: 0x500000 + seam * 8,
      [names.at(-1)!]: 0x500000 + (names.length - 1) * 8,
    });
  });

  it("a header claiming a 2 GB symbol table is treated as stripped, and nearly nothing is read", async () => {
    const small = new ElfBuilder();
    small.section(".text", Buffer.alloc(64, 0xcc), 6);
    small.symbol("main.version", 0x500000);
    const real = small.build();
    const image = await open(bufferSource(real), real.subarray(0, 64));
    const symtab = image.sections.find((s) => s.name === ".symtab")!;
    symtab.size = 2 ** 31;
    let read = 0;
    const counting: ByteSource = {
      size: 2 ** 32,
      read: (offset, length) => {
        read += length;
        return bufferSource(real).read(offset, length);
      },
    };
    const forged = new ElfImage(counting, image.header, image.sections, image.segments);
    expect((await forged.symbols(["main.version"])).size).toBe(0);
    expect(read).toBe(0);
  });
});
