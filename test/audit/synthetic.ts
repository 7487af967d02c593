/**
 * Synthetic kubelet- and runc-shaped ELF binaries for fast tests: the marker
 * strings, version stamps and build info a real build would carry, at exact
 * places, with or without a symbol table.
 */
import { MARKER_BY_ID } from "../../src/audit/markers.js";
import { ElfBuilder, goStringHeader, inlineBuildInfo } from "./elf-builder.js";

export interface SyntheticOptions {
  /** Marker ids whose text the binary carries. */
  markers?: string[];
  /** Stamps as -X would set them, e.g. { gitVersion: "v1.20.2" }. */
  stamps?: Record<string, string>;
  versionPackage?: string;
  /** Keep .symtab (false imitates `-ldflags -s`). */
  symbols?: boolean;
  /** Go 1.18+ build info: version and modinfo text. */
  buildInfo?: { goVersion: string; modinfo: string };
  /** Marker ids whose text sits in the code section (where no real toolchain puts strings). */
  codeMarkers?: string[];
  /** Extra read-only strings. */
  strings?: string[];
  /** Store stamps as NUL-terminated bytes only, with no Go string header pointing at them. */
  orphanStamps?: boolean;
}

export function syntheticBinary(o: SyntheticOptions = {}): Buffer {
  const b = new ElfBuilder();
  const code = (o.codeMarkers ?? []).map((id) => MARKER_BY_ID.get(id)!.text).join("\0");
  b.section(".text", Buffer.concat([Buffer.alloc(64, 0x90), Buffer.from(code, "latin1"), Buffer.alloc(64, 0x90)]), 6);
  const parts: Buffer[] = [];
  const at: Record<string, number> = {};
  let off = 0;
  const put = (key: string, text: string) => {
    at[key] = off;
    const bytes = Buffer.from(`${text}\0`, "latin1");
    parts.push(bytes);
    off += bytes.length;
  };
  for (const id of o.markers ?? []) put(`marker:${id}`, MARKER_BY_ID.get(id)!.text);
  for (const [i, s] of (o.strings ?? []).entries()) put(`string:${i}`, s);
  for (const [k, v] of Object.entries(o.stamps ?? {})) put(`stamp:${k}`, v);
  const rodata = b.section(".rodata", Buffer.concat([Buffer.from("padding-before-strings\0"), ...parts]));
  const base = rodata + "padding-before-strings\0".length;
  if (o.buildInfo) b.section(".go.buildinfo", inlineBuildInfo(o.buildInfo.goVersion, o.buildInfo.modinfo), 3);
  const headers: Buffer[] = [Buffer.alloc(16)];
  const vars: { name: string; index: number }[] = [];
  if (!o.orphanStamps) {
    for (const [k, v] of Object.entries(o.stamps ?? {})) {
      vars.push({ name: k, index: headers.length });
      headers.push(goStringHeader(base + at[`stamp:${k}`]!, Buffer.byteLength(v, "latin1")));
    }
  }
  const data = b.section(".data", Buffer.concat(headers), 3);
  if (o.symbols ?? true) {
    const pkg = o.versionPackage ?? "k8s.io/kubernetes/vendor/k8s.io/component-base/version";
    for (const v of vars) b.symbol(v.name.includes(".") ? v.name : `${pkg}.${v.name}`, data + 16 * v.index);
  }
  b.section(".noptrdata", Buffer.alloc(64), 3);
  return b.build();
}
