/**
 * verify: does a kubelet have the sha256 its pin (and its build manifest)
 * says? Outcomes: match, mismatch, unpinned.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { Catalog } from "../catalog/types.js";
import { ELF_HEADER_SIZE, parseElfHeader } from "../audit/elf.js";
import { UsageError, VerificationError } from "../errors.js";
import { parseExactRelease, parseRelease, releaseCore } from "../release.js";
import { parseSha256Sums, sha256File } from "../artifact/checksums.js";
import { catalogPin, checkPin, pinReasons, type Recorded } from "../catalog/pin-check.js";
import type { VerifyingKey } from "../artifact/dsse.js";
import { readPublishedBuild } from "./outdir.js";
import { describeReadFailure, fileKind, openRegular, readRegularTextIfExists } from "../io/read.js";

export type PinOutcome = "match" | "mismatch" | "unpinned";

export interface VerifyResult {
  path: string;
  version: string;
  platform: string;
  sha256: string;
  /** What the catalog pins for version × platform, null when nothing. */
  pinned: string | null;
  /** What the build manifest records, null when no manifest was given. */
  manifest: string | null;
  outcome: PinOutcome;
  reasons: string[];
}

/**
 * One binary's outcome: the catalog's pin vouches; the manifest and
 * SHA256SUMS that travel with it only cross-check (catalog/pin-check.ts). `sums` is
 * undefined when there is no SHA256SUMS to consult (a bare binary), null when
 * an out dir's SHA256SUMS lacks the binary: a folder `build` wrote always has
 * one naming every kubelet, so a missing line is a mismatch.
 */
export function judge(actual: string, pinned: Recorded[], manifest: string | null, sums: string | null | undefined, noSumsReason = "SHA256SUMS has no line for this kubelet"): { outcome: PinOutcome; reasons: string[] } {
  const recorded: Recorded[] = [
    ...(manifest ? [{ source: "manifest.json", name: "manifest", expected: manifest, authority: "record" as const }] : []),
    ...(sums ? [{ source: "SHA256SUMS", name: "SHA256SUMS", expected: sums, authority: "record" as const }] : []),
    ...pinned,
  ];
  const result = checkPin(actual, recorded);
  const reasons = pinReasons(result, actual);
  if (sums === null) return { outcome: "mismatch", reasons: [noSumsReason, ...(result.status === "mismatch" ? reasons : [])] };
  return { outcome: result.status, reasons: result.status === "match" ? [] : reasons };
}

/** linux/<arch> from an ELF header (the audit's parser), or null. */
async function elfPlatform(path: string): Promise<string | null> {
  const { fh } = await openRegular(path);
  try {
    const head = Buffer.alloc(ELF_HEADER_SIZE);
    const { bytesRead } = await fh.read(head, 0, ELF_HEADER_SIZE, 0);
    const arch = parseElfHeader(head.subarray(0, bytesRead))?.arch;
    return arch ? `linux/${arch}` : null;
  } catch {
    return null; // ELF, but malformed
  } finally {
    await fh.close();
  }
}

interface VerifyOptions {
  version?: string;
  platform?: string;
  /** A build output folder whose manifest the binary must match. */
  manifestDir?: string;
  /** Accept a folder's manifest only as signed by this key (DSSE envelopes beside it). */
  key?: VerifyingKey;
}

function pinFor(catalog: Catalog, version: string, platform: string): string | null {
  return catalogPin(catalog, version, platform)[0]?.expected ?? null;
}

/** A release as `verify --version` takes it: exactly MAJOR.MINOR.PATCH, with or without a leading v. */
export function parseVerifyVersion(given: string): string {
  const r = parseExactRelease(given);
  if (!r) throw new UsageError("E_VERSION_SYNTAX", `expected --version to name a release such as 1.16.15, found ${JSON.stringify(given)}`, "pass --version MAJOR.MINOR.PATCH, e.g. --version 1.16.15");
  return releaseCore(r);
}

/** The release a kubelet is stamped with ("1.16.15"), read by the audit without running it; null when not certain. */
async function stampedRelease(catalog: Catalog, path: string): Promise<string | null> {
  const { auditFile } = await import("../audit/index.js");
  const stamp = (await auditFile(path, { catalog })).kubernetesVersion;
  if (!stamp?.gitVersion || (stamp.source === "heuristic" && !stamp.confirmed)) return null;
  const r = stamp.gitVersion.startsWith("v") ? parseRelease(stamp.gitVersion) : null;
  return r ? releaseCore(r) : null;
}

/** Verify a build output folder (every kubelet in its manifest) or one binary. */
export async function verifyTarget(catalog: Catalog, target: string, opts: VerifyOptions = {}): Promise<VerifyResult[]> {
  let st;
  try {
    st = await stat(target);
  } catch (err) {
    throw new UsageError("E_TARGET", `expected a kubelet binary or a build output folder at ${target}, found ${describeReadFailure(err)}`, "pass an existing path");
  }
  if (!st.isDirectory() && !st.isFile()) {
    throw new UsageError("E_TARGET", `expected a kubelet binary or a build output folder at ${target}, found ${fileKind(st)}`, "pass a regular file or an output folder; nothing was read");
  }
  const version = opts.version === undefined ? undefined : parseVerifyVersion(opts.version);
  if (st.isDirectory()) {
    const build = await readPublishedBuild(target, opts.key ?? null);
    if (version && version !== build.version) {
      throw new UsageError("E_VERSION_MISMATCH", `expected the folder to hold a build of ${version}, found a build of ${build.version} in its manifest`, "drop --version or pass the right folder");
    }
    const sumsPath = join(target, "SHA256SUMS");
    const sums = await readSums(sumsPath);
    const results: VerifyResult[] = [];
    for (const b of build.binaries) {
      const path = join(target, b.name);
      let unreadable = "";
      const actual = await sha256File(path).catch((err: unknown) => ((unreadable = describeReadFailure(err)), ""));
      const pinned = pinFor(catalog, build.version, b.platform);
      const missing = unreadable === "no file" ? `${b.name} is missing` : `expected ${b.name} to be a regular file, found ${unreadable}`;
      const j = actual ? judge(actual, catalogPin(catalog, build.version, b.platform), b.sha256, sums?.get(b.name) ?? null, sums ? `${sumsPath} has no line for ${b.name}` : `${sumsPath} is missing`) : { outcome: "mismatch" as const, reasons: [missing] };
      results.push({ path, version: build.version, platform: b.platform, sha256: actual, pinned, manifest: b.sha256, ...j });
    }
    return results;
  }
  let manifest: string | null = null;
  let v = version;
  const platform = opts.platform ?? (await elfPlatform(target));
  if (!platform) {
    throw new UsageError("E_PLATFORM", `expected an ELF binary for a Linux platform at ${target}, found none`, "pass --platform linux/amd64 if the file is right");
  }
  if (opts.key && !opts.manifestDir) {
    throw new UsageError("E_KEY_NEEDS_MANIFEST", `expected a build output folder (or --manifest OUT_DIR) to check the signature of, found only the binary ${target}`, "pass --manifest OUT_DIR with --key");
  }
  if (opts.manifestDir) {
    const build = await readPublishedBuild(opts.manifestDir, opts.key ?? null);
    v ??= build.version;
    manifest = build.binaries.find((b) => b.platform === platform)?.sha256 ?? null;
  }
  v ??= (await stampedRelease(catalog, target)) ?? undefined;
  if (!v) {
    throw new UsageError("E_VERSION_NEEDED", `expected the release of ${target}, found neither --version, --manifest nor a readable version stamp in the binary`, "pass --version 1.16.15 (or --manifest OUT_DIR)");
  }
  const actual = await sha256File(target);
  const pinned = pinFor(catalog, v, platform);
  return [{ path: target, version: v, platform, sha256: actual, pinned, manifest, ...judge(actual, catalogPin(catalog, v, platform), manifest, undefined) }];
}

/**
 * SHA256SUMS of an output folder by name; null when absent (each kubelet is
 * then a mismatch: `build` always writes it). Malformed, or naming one file twice with
 * different digests, is a failure whatever the order of the lines.
 */
async function readSums(path: string): Promise<Map<string, string> | null> {
  let text: string | null;
  try {
    text = await readRegularTextIfExists(path);
  } catch (err) {
    throw new VerificationError("E_SUMS", `expected ${path} to be a readable SHA256SUMS file, found ${describeReadFailure(err)}`, "rebuild; never hand-edit SHA256SUMS");
  }
  if (text === null) return null;
  let entries;
  try {
    entries = parseSha256Sums(text);
  } catch (err) {
    throw new VerificationError("E_SUMS", `expected ${path} in sha256sum format, found ${(err as Error).message}`, "rebuild; never hand-edit SHA256SUMS");
  }
  const sums = new Map<string, string>();
  for (const e of entries) {
    const seen = sums.get(e.name);
    if (seen !== undefined && seen !== e.sha256) {
      const [a, b] = [seen, e.sha256].sort();
      throw new VerificationError("E_SUMS_CONFLICT", `expected ${path} to give one digest per file, found two for ${e.name} (${a} and ${b})`, "rebuild; never hand-edit SHA256SUMS");
    }
    sums.set(e.name, e.sha256);
  }
  return sums;
}

/** The outcome of a whole run: any mismatch wins, then any unpinned. */
export function overall(results: VerifyResult[]): PinOutcome {
  if (results.some((r) => r.outcome === "mismatch")) return "mismatch";
  if (results.some((r) => r.outcome === "unpinned")) return "unpinned";
  return "match";
}
