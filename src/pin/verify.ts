/**
 * verify: does a kubelet (or the runtime's runc) have the sha256 its pin (and
 * its build manifest) says? Outcomes: match, mismatch, unpinned.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { Catalog } from "../catalog/types.js";
import { ELF_HEADER_SIZE, parseElfHeader } from "../audit/elf.js";
import { UsageError } from "../errors.js";
import { parseExactRelease, parseRelease, releaseCore } from "../release.js";
import { sha256File } from "../artifact/checksums.js";
import { catalogPin, checkPin, pinReasons, type Recorded } from "../catalog/pin-check.js";
import type { VerifyingKey } from "../artifact/dsse.js";
import type { Product } from "../strategy/types.js";
import { formatRuncVersion, parseRuncVersion } from "../runc-version.js";
import { readPublishedBuild } from "./outdir.js";
import { describeReadFailure, fileKind, openRegular } from "../io/read.js";

export type PinOutcome = "match" | "mismatch" | "unpinned";

export interface VerifyResult {
  path: string;
  /** kubelet, or runc: from the folder's manifest, or the binary itself (its audit); pinned under pins or runcPins. */
  product: Product;
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
export function judge(
  actual: string,
  pinned: Recorded[],
  manifest: string | null,
  sums: string | null | undefined,
  noSumsReason = "SHA256SUMS has no line for this kubelet",
): { outcome: PinOutcome; reasons: string[] } {
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

function pinFor(catalog: Catalog, product: Product, version: string, platform: string): string | null {
  return catalogPin(catalog, version, platform, product)[0]?.expected ?? null;
}

/**
 * A release as `verify --version` takes it: a Kubernetes release exactly
 * MAJOR.MINOR.PATCH, or a runc release candidate (1.0.0-rc93), with or
 * without a leading v.
 */
export function parseVerifyVersion(given: string): string {
  const r = parseExactRelease(given);
  if (r) return releaseCore(r);
  const runc = parseRuncVersion(given);
  if (runc?.rc != null) return formatRuncVersion(runc);
  throw new UsageError(
    "E_VERSION_SYNTAX",
    `expected --version to name a release such as 1.16.15 (or a runc release such as 1.0.0-rc93), found ${JSON.stringify(given)}`,
    "pass --version MAJOR.MINOR.PATCH, e.g. --version 1.16.15",
  );
}

/**
 * What a bare binary is and the release it is stamped with ("1.16.15", or
 * runc's "1.0.0-rc93"), read by the audit without running it; the version is
 * null when not certain.
 */
async function stampedIdentity(catalog: Catalog, path: string): Promise<{ product: Product; version: string | null }> {
  const { auditFile } = await import("../audit/index.js");
  const report = await auditFile(path, { catalog });
  if (report.program === "runc") {
    const stamp = report.runcVersion;
    return { product: "runc", version: stamp && stamp.source !== "heuristic" ? stamp.version : null };
  }
  const stamp = report.kubernetesVersion;
  if (!stamp?.gitVersion || (stamp.source === "heuristic" && !stamp.confirmed)) return { product: "kubelet", version: null };
  const r = stamp.gitVersion.startsWith("v") ? parseRelease(stamp.gitVersion) : null;
  return { product: "kubelet", version: r ? releaseCore(r) : null };
}

/** Verify a build output folder (every kubelet in its manifest) or one binary. */
export async function verifyTarget(catalog: Catalog, target: string, opts: VerifyOptions = {}): Promise<VerifyResult[]> {
  let st;
  try {
    st = await stat(target);
  } catch (err) {
    throw new UsageError(
      "E_TARGET",
      `expected a kubelet binary or a build output folder at ${target}, found ${describeReadFailure(err)}`,
      "pass an existing path",
    );
  }
  if (!st.isDirectory() && !st.isFile()) {
    throw new UsageError(
      "E_TARGET",
      `expected a kubelet binary or a build output folder at ${target}, found ${fileKind(st)}`,
      "pass a regular file or an output folder; nothing was read",
    );
  }
  const version = opts.version === undefined ? undefined : parseVerifyVersion(opts.version);
  if (st.isDirectory()) {
    // The folder's one check (artifact/outdir.ts) has hashed each kubelet and
    // held it to its SHA256SUMS line and manifest subject; what is left is the pin.
    const build = await readPublishedBuild(target, opts.key ?? null);
    if (version && version !== build.version) {
      throw new UsageError(
        "E_VERSION_MISMATCH",
        `expected the folder to hold a build of ${version}, found a build of ${build.version} in its manifest`,
        "drop --version or pass the right folder",
      );
    }
    return build.binaries.map((b) => {
      const path = join(target, b.name);
      const pinned = pinFor(catalog, build.product, build.version, b.platform);
      return {
        path,
        product: build.product,
        version: build.version,
        platform: b.platform,
        sha256: b.sha256,
        pinned,
        manifest: b.sha256,
        ...judge(b.sha256, catalogPin(catalog, build.version, b.platform, build.product), b.sha256, undefined),
      };
    });
  }
  let manifest: string | null = null;
  let v = version;
  const platform = opts.platform ?? (await elfPlatform(target));
  if (!platform) {
    throw new UsageError(
      "E_PLATFORM",
      `expected an ELF binary for a Linux platform at ${target}, found none`,
      "pass --platform linux/amd64 if the file is right",
    );
  }
  if (opts.key && !opts.manifestDir) {
    throw new UsageError(
      "E_KEY_NEEDS_MANIFEST",
      `expected a build output folder (or --manifest OUT_DIR) to check the signature of, found only the binary ${target}`,
      "pass --manifest OUT_DIR with --key",
    );
  }
  // What the binary is comes from a record (the manifest's product) or the binary itself (the audit), never its file name.
  let product: Product | undefined;
  if (opts.manifestDir) {
    const build = await readPublishedBuild(opts.manifestDir, opts.key ?? null);
    v ??= build.version;
    product = build.product;
    manifest = build.binaries.find((b) => b.platform === platform)?.sha256 ?? null;
  }
  // --version 1.16.15 alone names a kubelet release, as before; a runc release candidate (rc…) or no --version asks the binary.
  if (!product && (v === undefined || parseRuncVersion(v)?.rc != null)) {
    const stamped = await stampedIdentity(catalog, target);
    product = stamped.product;
    v ??= stamped.version ?? undefined;
  }
  product ??= "kubelet";
  if (!v) {
    throw new UsageError(
      "E_VERSION_NEEDED",
      `expected the release of ${target}, found neither --version, --manifest nor a readable version stamp in the binary`,
      "pass --version 1.16.15 (or --manifest OUT_DIR)",
    );
  }
  const actual = await sha256File(target);
  const pinned = pinFor(catalog, product, v, platform);
  return [
    {
      path: target,
      product,
      version: v,
      platform,
      sha256: actual,
      pinned,
      manifest,
      ...judge(actual, catalogPin(catalog, v, platform, product), manifest, undefined),
    },
  ];
}

/** The outcome of a whole run: any mismatch wins, then any unpinned. */
export function overall(results: VerifyResult[]): PinOutcome {
  if (results.some((r) => r.outcome === "mismatch")) return "mismatch";
  if (results.some((r) => r.outcome === "unpinned")) return "unpinned";
  return "match";
}
