/**
 * From what the pass over the bytes found (and positioned reads of the ELF
 * structures) to a BinaryReport. Works on a ByteSource, so tests can feed a
 * Buffer; ./file.ts does the reading of real files.
 */
import { lineFor } from "../catalog/resolve.js";
import { runcLineFor } from "../catalog/runc-release.js";
import { fixCommand } from "./fix.js";
import type { Catalog } from "../catalog/types.js";
import { strategyFor } from "../strategy/index.js";
import {
  BUILDINFO_HEADER_SIZE,
  decodeInlineStrings,
  ldflagsStamps,
  parseBuildInfoHeader,
  parseModinfo,
  unframeModinfo,
  type GoBuildInfo,
} from "./buildinfo.js";
import { ElfFormatError, ElfImage, isExecutable, parseElfHeader, type ElfHeader } from "./elf.js";
import { MARKER_BY_ID } from "./markers.js";
import { catalogPin, checkPin, manifestPins, type ManifestEntry } from "../catalog/pin-check.js";
import type { BinaryReport, ElfSummary, FileError } from "./report.js";
import type { MarkerHits, ScanResult } from "./scan.js";
import type { ByteSource } from "./source.js";
import {
  releaseOf,
  runcByHeuristic,
  runcFromLdflags,
  runcFromSymbols,
  stampsByHeuristic,
  stampsFromLdflags,
  stampsFromSymbols,
  type KubernetesVersion,
  type RuncVersion,
} from "./stamps.js";
import { verdictFor, type Evidence, type Program, type ReleaseFacts } from "./judge.js";

export interface AuditOptions {
  catalog: Catalog | null;
  manifest?: readonly ManifestEntry[];
}

/** What the ELF header and section table say, read before the pass over the bytes. */
interface Layout {
  header: ElfHeader;
  image: ElfImage | null;
  /** A malformed section or program header table (e.g. a truncated file). */
  error: FileError | null;
}

export async function readLayout(src: ByteSource, head: Buffer): Promise<Layout | null> {
  const header = parseElfHeader(head);
  if (!header) return null;
  try {
    return { header, image: await ElfImage.open(src, header), error: null };
  } catch (err) {
    if (!(err instanceof ElfFormatError)) throw err;
    return { header, image: null, error: { code: "E_AUDIT_ELF_MALFORMED", message: `malformed ELF: ${err.message}` } };
  }
}

function elfSummary(h: ElfHeader): ElfSummary {
  return { bits: h.bits, endian: h.littleEndian ? "little" : "big", type: h.type, machine: h.machine, arch: h.arch, executable: isExecutable(h) };
}

function evidenceFromHits(hits: Map<string, MarkerHits>): Evidence[] {
  const out: Evidence[] = [];
  for (const [id, h] of hits) {
    const m = MARKER_BY_ID.get(id)!;
    if (h.count === 0 || m.kind === "structure") continue;
    out.push({ id, kind: m.kind, detail: `"${m.text}": ${m.meaning}`, count: h.count, offsets: h.offsets });
  }
  return out;
}

async function goBuildInfo(image: ElfImage, hits: Map<string, MarkerHits>): Promise<GoBuildInfo | null> {
  const section = image.section(".go.buildinfo");
  const candidates = [...(section ? [section.offset] : []), ...(hits.get("structure:go-buildinfo")?.offsets ?? [])];
  for (const offset of new Set(candidates)) {
    const head = await image.src.read(offset, BUILDINFO_HEADER_SIZE);
    const h = parseBuildInfoHeader(head);
    if (!h) continue;
    if (h.format === "inline") {
      // Read in growing steps: modinfo of a module build lists every dependency.
      for (let want = 64 << 10; want <= 16 << 20; want *= 4) {
        const blob = await image.src.read(offset, want);
        const s = decodeInlineStrings(blob);
        if (s) return parseModinfo(s.version || null, unframeModinfo(s.modinfo), "inline");
        if (blob.length < want) break;
      }
      return { goVersion: null, path: null, main: null, deps: [], settings: [], tags: [], format: "inline" };
    }
    const version = await image.goString(h.versionAddr, 64);
    const modinfo = await image.goBytes(h.modinfoAddr, 16 << 20);
    return parseModinfo(version || null, modinfo ? unframeModinfo(modinfo) : "", "pointer");
  }
  return null;
}

function isGoBinary(image: ElfImage | null, info: GoBuildInfo | null, hits: Map<string, MarkerHits>): boolean {
  if (info || (hits.get("structure:go-buildinfo")?.count ?? 0) > 0) return true;
  return Boolean(image?.sections.some((s) => s.name === ".gopclntab" || s.name === ".note.go.buildid" || s.name === ".go.buildinfo"));
}

function programOf(path: string, hits: Map<string, MarkerHits>, info: GoBuildInfo | null, kube: KubernetesVersion | null, runc: RuncVersion | null): Program {
  const base = path.split("/").at(-1) ?? path;
  const has = (id: string) => (hits.get(id)?.count ?? 0) > 0;
  if (has("identity:kubelet") || info?.path === "k8s.io/kubernetes/cmd/kubelet" || (kube?.gitVersion && /kubelet/.test(base))) return "kubelet";
  if (has("identity:runc") || info?.path === "github.com/opencontainers/runc" || (runc && /runc/.test(base))) return "runc";
  return "other";
}

function releaseFacts(catalog: Catalog | null, version: string | null): ReleaseFacts | null {
  if (!catalog || !version) return null;
  const line = lineFor(catalog, version);
  if (!line) return null;
  return { version, line: line.line, strategy: line.strategy, kmemLayout: line.kmemLayout, affected: strategyFor(line.strategy).affected };
}

/** Everything after the pass over the bytes: structures, stamps, evidence, verdict, pin. */
export async function analyse(path: string, layout: Layout | null, scan: ScanResult, options: AuditOptions): Promise<BinaryReport> {
  const errors: FileError[] = [];
  const image = layout?.image ?? null;
  if (layout?.error) errors.push(layout.error);
  const info = image ? await goBuildInfo(image, scan.hits) : null;
  const x = ldflagsStamps(info?.settings.find(([k]) => k === "-ldflags")?.[1] ?? "");
  let kube: KubernetesVersion | null = null;
  let runc: RuncVersion | null = null;
  if (image) {
    kube = (await stampsFromSymbols(image)) ?? stampsFromLdflags(x);
    runc = (await runcFromSymbols(image)) ?? runcFromLdflags(x);
  }
  let program = programOf(path, scan.hits, info, kube, runc);
  // The heuristic reads whole sections: only for what may be a kubelet.
  if (image && !kube && (program === "kubelet" || /kubelet/i.test(path.split("/").at(-1) ?? ""))) {
    kube = await stampsByHeuristic(image);
    if (kube && !kube.gitVersion && !kube.candidates?.length) kube = null;
    program = programOf(path, scan.hits, info, kube, runc);
  }
  if (image && program === "runc" && !runc) runc = await runcByHeuristic(image);
  if (program !== "kubelet" && kube?.source === "heuristic") kube = null;

  const evidence = evidenceFromHits(scan.hits);
  if (info?.tags.includes("nokmem")) {
    evidence.push({ id: "build-tag:nokmem", kind: "disabled", detail: `the Go build info records -tags=${info.settings.find(([k]) => k === "-tags")?.[1]}` });
  }
  const release = program === "kubelet" ? releaseFacts(options.catalog, releaseOf(kube?.gitVersion ?? null)) : null;
  const result = verdictFor({
    program,
    evidence,
    release,
    kubernetesVersion: kube?.gitVersion ?? null,
    versionTrusted: Boolean(kube && (kube.source !== "heuristic" || kube.confirmed)),
    runcVersion: runc?.version ?? null,
    runcLayout:
      program === "runc" && runc && runc.source !== "heuristic" ? (runcLineFor(options.catalog?.runcLines ?? [], runc.version)?.kmemLayout ?? null) : null,
  });
  evidence.push(...result.added);
  let verdict = result.verdict;
  const reasons = [...result.reasons];
  if (errors.length) {
    verdict = "unknown";
    reasons.unshift(`the file could not be fully read as ELF (${errors.map((e) => e.code).join(", ")})`);
  }
  const platform = layout?.header.arch ? `linux/${layout.header.arch}` : null;
  return {
    path,
    size: scan.size,
    sha256: scan.sha256,
    elf: layout ? elfSummary(layout.header) : null,
    go: isGoBinary(image, info, scan.hits),
    goBuildInfo: info,
    program,
    kubernetesVersion: kube,
    runcVersion: runc,
    release,
    verdict,
    reasons,
    fix: verdict === "unpatched" ? fixCommand(program, { kubernetes: kube?.gitVersion ?? null, runc: runc?.version ?? null }) : null,
    evidence,
    pin: checkPin(scan.sha256, [...pinOfCatalog(options.catalog, program, kube, runc, platform), ...manifestPins(scan.sha256, path, options.manifest ?? [])]),
    errors,
  };
}

/** The catalog's pin for what the binary is: a kubelet by its stamped release, runc by its `runc --version` stamp (runcPins). */
function pinOfCatalog(catalog: Catalog | null, program: Program, kube: KubernetesVersion | null, runc: RuncVersion | null, platform: string | null) {
  if (program === "runc") return catalogPin(catalog, runc && runc.source !== "heuristic" ? runc.version : null, platform, "runc");
  return catalogPin(catalog, releaseOf(kube?.gitVersion ?? null), platform);
}

/** A report for a file that could not be audited at all. */
export function failedReport(path: string, error: FileError, partial: Partial<BinaryReport> = {}): BinaryReport {
  return {
    path,
    size: null,
    sha256: null,
    elf: null,
    go: false,
    goBuildInfo: null,
    program: null,
    kubernetesVersion: null,
    runcVersion: null,
    release: null,
    verdict: "unknown",
    reasons: [error.message],
    fix: null,
    evidence: [],
    pin: { status: "unpinned", checks: [] },
    ...partial,
    errors: [error],
  };
}
