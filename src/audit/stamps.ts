/**
 * The version a binary was stamped with at link time (`-ldflags -X`), read
 * without running it. Three sources, most exact first:
 *  1. the ELF symbol table: the stamped variable is a Go string header
 *     (pointer, length) in a data section;
 *  2. the `-ldflags` build setting Go 1.18+ records in the build info;
 *  3. a heuristic for stripped binaries: Go string headers (pointer, length)
 *     in data sections that point at version-, commit-, date- or
 *     tree-state-shaped bytes in read-only data ("confirmed": a real Go string
 *     variable holds it). Failing that, version-shaped NUL-terminated bytes in
 *     read-only data, as the linker stores -X values (cmd/link addstrdata),
 *     reported unconfirmed.
 */
import { coreOf, parseRelease } from "../release.js";
import { isRuncStamp } from "../runc-version.js";
import type { ElfImage } from "./elf.js";

const VERSION_PACKAGES = ["k8s.io/kubernetes/pkg/version", "k8s.io/kubernetes/vendor/k8s.io/component-base/version", "k8s.io/component-base/version"] as const;

const STAMP_FIELDS = ["gitVersion", "gitCommit", "gitTreeState", "buildDate", "gitMajor", "gitMinor"] as const;
type StampField = (typeof STAMP_FIELDS)[number];

export interface KubernetesVersion {
  gitVersion: string | null;
  gitCommit: string | null;
  gitTreeState: string | null;
  buildDate: string | null;
  gitMajor: string | null;
  gitMinor: string | null;
  /** Where the values came from. "heuristic" values are guesses and say so. */
  source: "symbols" | "buildinfo-ldflags" | "heuristic";
  /** The Go package whose variables held the stamps (not for heuristic results). */
  package: string | null;
  /** For heuristic results: whether a Go string header points at gitVersion (a lone unconfirmed candidate is reported with false). */
  confirmed?: boolean;
  /** For heuristic results: every version-shaped candidate seen, and whether a Go string header points at it. */
  candidates?: { value: string; confirmed: boolean }[];
}

export interface RuncVersion {
  version: string;
  commit: string | null;
  source: "symbols" | "buildinfo-ldflags" | "heuristic";
}

/** Stamps from symbols; null when the binary has no symbol table or no stamped variable. */
export async function stampsFromSymbols(elf: ElfImage): Promise<KubernetesVersion | null> {
  const names = VERSION_PACKAGES.flatMap((p) => STAMP_FIELDS.map((f) => `${p}.${f}`));
  const syms = await elf.symbols(names);
  for (const pkg of VERSION_PACKAGES) {
    if (!syms.has(`${pkg}.gitVersion`)) continue;
    const v: KubernetesVersion = {
      gitVersion: null,
      gitCommit: null,
      gitTreeState: null,
      buildDate: null,
      gitMajor: null,
      gitMinor: null,
      source: "symbols",
      package: pkg,
    };
    for (const f of STAMP_FIELDS) {
      const addr = syms.get(`${pkg}.${f}`);
      if (addr !== undefined) v[f] = await elf.goString(addr, 256);
    }
    if (v.gitVersion) return v;
  }
  return null;
}

/** Stamps from a Go 1.18+ build's recorded `-ldflags` (-X name=value). */
export function stampsFromLdflags(x: Map<string, string>): KubernetesVersion | null {
  for (const pkg of VERSION_PACKAGES) {
    const gitVersion = x.get(`${pkg}.gitVersion`);
    if (gitVersion === undefined) continue;
    const get = (f: StampField) => x.get(`${pkg}.${f}`) ?? null;
    return {
      gitVersion,
      gitCommit: get("gitCommit"),
      gitTreeState: get("gitTreeState"),
      buildDate: get("buildDate"),
      gitMajor: get("gitMajor"),
      gitMinor: get("gitMinor"),
      source: "buildinfo-ldflags",
      package: pkg,
    };
  }
  return null;
}

/** A Kubernetes gitVersion as version.sh stamps it: `v1.` and a release (src/release.ts reads it). */
const isKubeVersion = (s: string) => s.startsWith("v1.") && parseRelease(s) !== null;
const COMMIT = /^[0-9a-f]{40}$/;
const DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const TREE_STATE = /^(?:clean|dirty|archive)$/;
/** Fallback when no string header points at a version: the -X value as the linker stores it, NUL-terminated. */
const KUBE_VERSION_NUL = /v1\.[0-9A-Za-z.+-]{3,160}\0/g;

interface Block {
  /** Virtual address of the first byte. */
  addr: number;
  bytes: Buffer;
}

/**
 * Every Go string a data block points at with a string header (pointer,
 * length) aligned to the pointer size, whose bytes lie in a read-only block and
 * whose length is in [min, max] (max below 2^32). Pure over buffers.
 *
 * The loop runs over every pointer slot of the data sections, mostly once per
 * run and so mostly not yet compiled: each slot costs a few DataView reads of
 * 32-bit halves and no call into JavaScript (no BigInt, no Buffer.readUInt*),
 * and a slot whose length word is out of range is left after one or two reads.
 */
export function referencedStrings(
  data: readonly Buffer[],
  readOnly: readonly Block[],
  ptrSize: 4 | 8,
  littleEndian: boolean,
  min: number,
  max: number,
): string[] {
  const out = new Set<string>();
  // Where the halves of a 64-bit word lie: the low half first in little-endian files.
  const lo = littleEndian ? 0 : 4;
  const hi = littleEndian ? 4 : 0;
  for (const b of data) {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let o = 0; o + 2 * ptrSize <= b.length; o += ptrSize) {
      // Cheap test first: the length word, then whether the pointer lands in read-only data.
      let len: number;
      let ptr: number;
      if (ptrSize === 4) {
        len = v.getUint32(o + 4, littleEndian);
        if (len < min || len > max) continue;
        ptr = v.getUint32(o, littleEndian);
      } else {
        if (v.getUint32(o + 8 + hi, littleEndian) !== 0) continue;
        len = v.getUint32(o + 8 + lo, littleEndian);
        if (len < min || len > max) continue;
        ptr = v.getUint32(o + hi, littleEndian) * 2 ** 32 + v.getUint32(o + lo, littleEndian);
      }
      for (const ro of readOnly) {
        if (ptr >= ro.addr && ptr + len <= ro.addr + ro.bytes.length) {
          out.add(ro.bytes.toString("latin1", ptr - ro.addr, ptr - ro.addr + len));
          break;
        }
      }
    }
  }
  return [...out];
}

const READ_ONLY = [".rodata", ".go.rodata"];
const DATA = [".data", ".noptrdata"];
/** Sections larger than this are not read whole for the heuristic (bounded memory). */
const MAX_HEURISTIC_BYTES = 256 << 20;

async function blocks(elf: ElfImage, names: string[]): Promise<(Block & { offset: number })[]> {
  const out = [];
  for (const name of names) {
    const s = elf.section(name);
    if (!s || s.size === 0 || s.size > MAX_HEURISTIC_BYTES) continue;
    out.push({ addr: s.addr, offset: s.offset, bytes: await elf.src.read(s.offset, s.size) });
  }
  return out;
}

async function referenced(elf: ElfImage): Promise<{ strings: string[]; ro: (Block & { offset: number })[] }> {
  const ro = await blocks(elf, READ_ONLY);
  const data = await blocks(elf, DATA);
  return {
    strings: referencedStrings(
      data.map((d) => d.bytes),
      ro,
      elf.ptrSize,
      elf.header.littleEndian,
      5,
      80,
    ),
    ro,
  };
}

function unique(strings: string[], match: RegExp | ((s: string) => boolean)): string | null {
  const hits = strings.filter((s) => (match instanceof RegExp ? match.test(s) : match(s)));
  return hits.length === 1 ? hits[0]! : null;
}

/** The heuristic, for stripped binaries: stamp-shaped Go strings that data sections point at. */
export async function stampsByHeuristic(elf: ElfImage): Promise<KubernetesVersion | null> {
  const { strings, ro } = await referenced(elf);
  const confirmed = strings.filter(isKubeVersion);
  let candidates = confirmed.map((value) => ({ value, confirmed: true }));
  if (!candidates.length) {
    const loose = new Set<string>();
    for (const b of ro) {
      for (const m of b.bytes.toString("latin1").matchAll(KUBE_VERSION_NUL)) {
        const value = m[0].slice(0, -1);
        if (isKubeVersion(value)) loose.add(value);
      }
    }
    candidates = [...loose].slice(0, 32).map((value) => ({ value, confirmed: false }));
  }
  if (!candidates.length) return null;
  return {
    gitVersion: candidates.length === 1 ? candidates[0]!.value : null,
    gitCommit: unique(strings, COMMIT),
    gitTreeState: unique(strings, TREE_STATE),
    buildDate: unique(strings, DATE),
    gitMajor: null,
    gitMinor: null,
    source: "heuristic",
    package: null,
    confirmed: candidates.length === 1 && candidates[0]!.confirmed,
    candidates,
  };
}

/** runc stamps `-X main.version=… -X main.gitCommit=…` (runc Makefile). */
export async function runcFromSymbols(elf: ElfImage): Promise<RuncVersion | null> {
  const syms = await elf.symbols(["main.version", "main.gitCommit"]);
  const va = syms.get("main.version");
  if (va === undefined) return null;
  const version = await elf.goString(va, 128);
  if (!version) return null;
  const ca = syms.get("main.gitCommit");
  return { version, commit: ca === undefined ? null : await elf.goString(ca, 128), source: "symbols" };
}

export function runcFromLdflags(x: Map<string, string>): RuncVersion | null {
  const version = x.get("main.version");
  return version ? { version, commit: x.get("main.gitCommit") ?? null, source: "buildinfo-ldflags" } : null;
}

/** runc's version by heuristic: a version-shaped Go string that a data section points at. */
export async function runcByHeuristic(elf: ElfImage): Promise<RuncVersion | null> {
  const version = unique((await referenced(elf)).strings, isRuncStamp);
  return version ? { version, commit: null, source: "heuristic" } : null;
}

/** "v1.16.15-dirty" → "1.16.15"; null when the value is not a Kubernetes release version. */
export function releaseOf(gitVersion: string | null): string | null {
  return gitVersion ? coreOf(gitVersion) : null;
}
