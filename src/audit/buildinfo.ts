/**
 * Go build information, read the way `go version -m` reads it (Go's
 * src/debug/buildinfo): a 32-byte header starting "\xff Go buildinf:", then
 * either inline varint-prefixed strings (Go 1.18+, flag bit 2) or two pointers
 * to Go string headers (Go 1.13–1.17). The binary is never run.
 */
import { reader } from "./elf.js";

const BUILDINFO_MAGIC = Buffer.from("\xff Go buildinf:", "latin1");
export const BUILDINFO_HEADER_SIZE = 32;

export interface GoBuildInfo {
  /** "go1.19.8"; null when the header was found but its strings could not be read. */
  goVersion: string | null;
  /** Main package path ("k8s.io/kubernetes/cmd/kubelet"). */
  path: string | null;
  /** The main module: "path version [sum]". */
  main: string | null;
  /** "path version [sum]" per dependency, replacements as "path version => path version". */
  deps: string[];
  /** Build settings in order, e.g. ["-compiler", "gc"], ["-tags", "nokmem"], ["vcs.revision", "…"]. */
  settings: [string, string][];
  /** Build tags from the -tags setting (Go 1.18+ only). */
  tags: string[];
  /** "inline" (Go 1.18+) or "pointer" (Go 1.13–1.17). */
  format: "inline" | "pointer";
}

type BuildInfoHeader =
  | { format: "inline"; ptrSize: number; bigEndian: boolean }
  | { format: "pointer"; ptrSize: 4 | 8; bigEndian: boolean; versionAddr: number; modinfoAddr: number };

/** Parse the 32-byte header; null when the bytes are not one. */
export function parseBuildInfoHeader(head: Buffer): BuildInfoHeader | null {
  if (head.length < BUILDINFO_HEADER_SIZE || !head.subarray(0, BUILDINFO_MAGIC.length).equals(BUILDINFO_MAGIC)) return null;
  const ptrSize = head[14]!;
  const flags = head[15]!;
  if (ptrSize !== 4 && ptrSize !== 8) return null;
  const bigEndian = (flags & 1) !== 0;
  if (flags & 2) return { format: "inline", ptrSize, bigEndian };
  const r = reader(head, !bigEndian, ptrSize === 8 ? 64 : 32);
  return { format: "pointer", ptrSize, bigEndian, versionAddr: r.addr(16), modinfoAddr: r.addr(16 + ptrSize) };
}

/** Decode one unsigned varint; null when the bytes end first or it overflows. */
export function uvarint(buf: Buffer, at: number): { value: number; next: number } | null {
  let value = 0;
  let shift = 0;
  for (let i = at; i < buf.length && i < at + 10; i++) {
    const b = buf[i]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return Number.isSafeInteger(value) ? { value, next: i + 1 } : null;
    shift += 7;
  }
  return null;
}

/**
 * The two inline strings that follow a Go 1.18+ header. `blob` starts at the
 * magic. Returns null when the blob is cut short (read more and retry).
 */
export function decodeInlineStrings(blob: Buffer): { version: string; modinfo: Buffer } | null {
  let at = BUILDINFO_HEADER_SIZE;
  const out: Buffer[] = [];
  for (let k = 0; k < 2; k++) {
    const v = uvarint(blob, at);
    if (!v || v.next + v.value > blob.length) return null;
    out.push(blob.subarray(v.next, v.next + v.value));
    at = v.next + v.value;
  }
  return { version: out[0]!.toString("utf8"), modinfo: out[1]! };
}

/**
 * cmd/go frames modinfo with 16-byte binary sentinels; strip them on bytes
 * (decoding them as UTF-8 first would change the length), the way
 * debug/buildinfo does.
 */
export function unframeModinfo(raw: Buffer): string {
  const framed = raw.length >= 33 && raw[raw.length - 17] === 0x0a;
  return (framed ? raw.subarray(16, raw.length - 16) : raw).toString("utf8");
}

/** Parse modinfo text (as `go version -m` prints it, sentinels stripped) into the report's shape. */
export function parseModinfo(goVersion: string | null, text: string, format: GoBuildInfo["format"]): GoBuildInfo {
  const info: GoBuildInfo = { goVersion, path: null, main: null, deps: [], settings: [], tags: [], format };
  for (const line of text.split("\n")) {
    const [kind, ...rest] = line.split("\t");
    switch (kind) {
      case "path":
        info.path = rest[0] ?? null;
        break;
      case "mod":
        info.main = rest.filter(Boolean).join(" ");
        break;
      case "dep":
        info.deps.push(rest.filter(Boolean).join(" "));
        break;
      case "=>":
        if (info.deps.length) info.deps[info.deps.length - 1] += ` => ${rest.filter(Boolean).join(" ")}`;
        break;
      case "build": {
        const setting = rest.join("\t");
        const eq = setting.indexOf("=");
        if (eq <= 0) break;
        const key = setting.slice(0, eq);
        let value = setting.slice(eq + 1);
        if (value.startsWith('"')) {
          try {
            value = JSON.parse(value) as string;
          } catch {
            // keep the quoted form: Go quotes with strconv.Quote, which JSON mostly reads
          }
        }
        info.settings.push([key, value]);
        if (key === "-tags") info.tags.push(...value.split(/[,\s]+/).filter(Boolean));
        break;
      }
      default:
        break;
    }
  }
  return info;
}

/** The value of `-X name=value` for each name, from a recorded -ldflags setting. */
export function ldflagsStamps(ldflags: string): Map<string, string> {
  const out = new Map<string, string>();
  const words = splitQuoted(ldflags);
  for (let i = 0; i < words.length; i++) {
    let arg: string | undefined;
    if (words[i] === "-X" || words[i] === "--X") arg = words[++i];
    else if (/^--?X=/.test(words[i]!)) arg = words[i]!.replace(/^--?X=/, "");
    if (!arg) continue;
    const eq = arg.indexOf("=");
    if (eq > 0) out.set(arg.slice(0, eq), arg.slice(eq + 1));
  }
  return out;
}

/** Split like Go's quoted.Split (cmd/internal/quoted): spaces separate, ' and " group. */
function splitQuoted(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: string | null = null;
  let inWord = false;
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}
