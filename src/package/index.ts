/**
 * `package OUT_DIR…`: from verified build output folders, an RPM and/or a
 * DEB of the nokmem kubelet per platform, the yum and apt repositories that
 * serve them, and the packages as subjects of SHA256SUMS and of a Statement
 * of their own (packages.json, signed beside it with --sign-key):
 *
 *     OUT_DIR/packages/kubelet-1.20.2-1.nokmem.x86_64.rpm
 *     OUT_DIR/packages/kubelet_1.20.2-01+nokmem1_amd64.deb
 *     OUT_DIR/packages.json (+ packages.dsse.json)
 *     REPO (default OUT_DIR/repo)/yum, /apt
 *
 * Every folder is checked first the way `verify` checks it (digests against
 * the catalog's pin, its manifest and SHA256SUMS; with --key its signature):
 * anything but a match in any of them packages nothing; and each kubelet is
 * audited, so a pinned but unpatched (or unknown) kubelet is never packaged
 * as ours. Several folders (releases, platforms) make one repository.
 */
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import type { Catalog } from "../catalog/types.js";
import { formatSha256Sums, parseSha256Sums, sha256File } from "../artifact/checksums.js";
import { envelopeFile } from "../artifact/keys.js";
import { signEnvelope, type SigningKey, type VerifyingKey } from "../artifact/dsse.js";
import { STATEMENT_TYPE, type Statement } from "../artifact/intoto.js";
import { MANIFEST_FILE, PROVENANCE_TYPE } from "../artifact/manifest.js";
import { UnpinnedError, UsageError, VerificationError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { acquireLock } from "../io/lock.js";
import { readRegularFile, readRegularTextIfExists } from "../io/read.js";
import { readPublishedBuild } from "../pin/outdir.js";
import { overall, verifyTarget, type VerifyResult } from "../pin/verify.js";
import { makePackage } from "./build.js";
import { dropGpgKey, importGpgKey } from "./gpg.js";
import { packageArch, packageVersion, type PackageFormat, type PackagePin } from "./layout.js";
import { makeRepositories } from "./repo.js";

const PACKAGES_DIR = "packages";
const PACKAGES_STATEMENT = "packages.json";
const OUT_DIR_LOCK = ".lock";
const PROJECT = "https://github.com/kubelet-nokmem/kubelet-nokmem";

interface PackageOptions {
  formats: PackageFormat[];
  release: number;
  /** --gpg-key: signs RPMs and repository metadata. */
  gpgKey?: string;
  /** --sign-key: signs packages.json (DSSE), as `build --sign-key` signs manifest.json. */
  signKey?: SigningKey;
  /** --key: accept the folder only as signed by this key. */
  key?: VerifyingKey;
  repo?: string;
  /** Package and changelog date (SOURCE_DATE_EPOCH when set). */
  date: Date;
  signal?: AbortSignal;
}

interface PackageRecord {
  format: PackageFormat;
  platform: string;
  arch: string;
  /** Relative to the output folder, as SHA256SUMS names it. */
  name: string;
  version: string;
  sha256: string;
  /** The kubelet inside, as pinned. */
  kubeletSha256: string;
}

interface Repositories {
  root: string;
  yum: string | null;
  apt: string | null;
}

interface Signed {
  gpg: string | null;
  statement: string | null;
}

/** What one output folder gave. */
interface FolderResult {
  outDir: string;
  kubernetes: string;
  release: number;
  packages: PackageRecord[];
  verified: VerifyResult[];
}

/** `package OUT_DIR`: one folder and its repositories (the --json of one folder). */
interface PackageResult extends FolderResult {
  repositories: Repositories;
  signed: Signed;
}

/** `package OUT_DIR OUT_DIR…`: every folder's packages, in one repository. */
interface PackagesResult {
  folders: FolderResult[];
  release: number;
  repositories: Repositories;
  signed: Signed;
}

/** The check `verify OUT_DIR` makes; packaging starts only on a match. */
async function requireVerified(catalog: Catalog, outDir: string, key: VerifyingKey | undefined): Promise<VerifyResult[]> {
  const results = await verifyTarget(catalog, outDir, { key });
  // The packages are the kubelet's (kubelet.rpm / kubelet.deb); a runc build's folder is named by its manifest, never packaged as one.
  if (results.some((r) => r.product !== "kubelet"))
    throw new UsageError(
      "E_PRODUCT",
      `expected a kubelet build's output folder to package, found a runc build (its manifest.json records product runc) at ${outDir}`,
      "install the runc from OUT/linux/amd64/runc as docs/runc.md describes; `package` makes kubelet packages only",
    );
  const outcome = overall(results);
  const first = results.find((r) => r.outcome === outcome);
  const why = first ? `${first.path}: ${first.reasons[0] ?? outcome}` : "no kubelet in its manifest";
  if (outcome === "unpinned")
    throw new UnpinnedError(
      "E_UNPINNED",
      `expected every kubelet of ${outDir} pinned before packaging, found ${why}`,
      "record the pin first: `kubelet-nokmem pin OUT_DIR`",
    );
  if (outcome !== "match" || !results.length)
    throw new VerificationError(
      "E_PIN_MISMATCH",
      `expected ${outDir} to verify before packaging, found ${why}`,
      "package only a folder `kubelet-nokmem verify OUT_DIR` accepts; rebuild otherwise",
    );
  // Digests say the files are the pinned ones; the audit says they are what a package of ours must hold.
  const { auditFile } = await import("../audit/index.js");
  for (const r of results) {
    const report = await auditFile(r.path, { catalog });
    if (report.verdict !== "patched" && report.verdict !== "not-affected") {
      throw new VerificationError(
        "E_NOT_NOKMEM",
        `expected every kubelet of ${outDir} to be patched (or of a release kmem does not affect), found ${r.path}: ${report.verdict} (${report.reasons[0] ?? "no reason"})`,
        "package only a build whose verify step passed; rebuild with `kubelet-nokmem build`",
      );
    }
  }
  return results;
}

/** One output folder, its repositories at --repo (default OUT_DIR/repo). */
export async function packageOutDir(catalog: Catalog, outDir: string, o: PackageOptions): Promise<PackageResult> {
  const r = await packageOutDirs(catalog, [outDir], o);
  const [only] = r.folders;
  if (!only) throw new Error("internal: one folder packaged, no result");
  return {
    outDir: only.outDir,
    kubernetes: only.kubernetes,
    release: only.release,
    packages: only.packages,
    repositories: r.repositories,
    signed: r.signed,
    verified: only.verified,
  };
}

/**
 * Several output folders (releases, platforms of a CI matrix) into one
 * repository at --repo: every folder is verified before any is packaged, and
 * two folders that would give a package of the same name are refused.
 */
export async function packageOutDirs(catalog: Catalog, outDirs: string[], o: PackageOptions): Promise<PackagesResult> {
  const seen = new Set<string>();
  for (const d of outDirs) {
    if (seen.has(resolve(d))) throw new UsageError("E_USAGE", `expected each output folder once, found ${d} twice`, "name each folder once");
    seen.add(resolve(d));
  }
  const repoRoot = o.repo ?? (outDirs.length === 1 ? join(outDirs[0]!, "repo") : undefined);
  if (repoRoot === undefined)
    throw new UsageError(
      "E_USAGE",
      `expected --repo with ${outDirs.length} output folders (one repository holds them all), found none`,
      "kubelet-nokmem package OUT_DIR… --repo DIR",
    );
  // The lock a build's publication takes (src/artifact/publish.ts): no build publishes into a folder while it is packaged.
  // Taken in one order (sorted paths), so two runs over overlapping folders never hold one each and wait for the other.
  const locks = [];
  try {
    for (const d of [...outDirs].sort((a, b) => resolve(a).localeCompare(resolve(b)))) {
      locks.push(
        await acquireLock(join(d, OUT_DIR_LOCK), {
          what: `the output folder ${d}`,
          purpose: "kubelet-nokmem package",
          signal: o.signal,
          hint: "wait for the build publishing into it, then package again",
        }),
      );
    }
    return await packageLocked(catalog, outDirs, repoRoot, o);
  } finally {
    for (const l of locks.reverse()) await l.release();
  }
}

async function packageLocked(catalog: Catalog, outDirs: string[], repoRoot: string, o: PackageOptions): Promise<PackagesResult> {
  // Every folder verifies before anything is written into any of them.
  const checked = [];
  for (const outDir of outDirs)
    checked.push({ outDir, verified: await requireVerified(catalog, outDir, o.key), build: await readPublishedBuild(outDir, o.key ?? null) });
  const names = new Map<string, string>();
  for (const { outDir, build } of checked)
    for (const b of build.binaries)
      for (const format of o.formats) {
        const id = `${format} ${build.version} ${b.platform}`;
        const other = names.get(id);
        if (other !== undefined)
          throw new UsageError(
            "E_USAGE",
            `expected one folder per release and platform in a repository, found ${build.version} ${b.platform} in ${other} and in ${outDir}`,
            "package one of them, or the other into a repository of its own (--repo)",
          );
        names.set(id, outDir);
      }
  const gpg = o.gpgKey !== undefined ? await importGpgKey(o.gpgKey, o.signal) : null;
  try {
    const folders: FolderResult[] = [];
    const made: { path: string; format: PackageFormat; arch: string }[] = [];
    for (const { outDir, verified, build } of checked) {
      const records: PackageRecord[] = [];
      for (const b of build.binaries) {
        for (const format of o.formats) {
          const version = packageVersion(build.version, o.release, format).full;
          const pin: PackagePin = {
            schemaVersion: 1,
            kubernetes: build.version,
            platform: b.platform,
            sha256: b.sha256,
            package: { format, version },
            pin: { commit: build.pin.commit, strategy: build.pin.strategy ?? null, keyid: build.keyid },
          };
          const input = { kubernetes: build.version, release: o.release, platform: b.platform, sha256: b.sha256, date: o.date };
          const p = await makePackage(format, input, { kubelet: join(outDir, b.name), pin, dir: join(outDir, PACKAGES_DIR), gpg, signal: o.signal });
          const arch = packageArch(b.platform, format);
          made.push({ path: p.path, format, arch });
          records.push({
            format,
            platform: b.platform,
            arch,
            name: `${PACKAGES_DIR}/${p.name}`,
            version,
            sha256: await sha256File(p.path),
            kubeletSha256: b.sha256,
          });
        }
      }
      folders.push({ outDir, kubernetes: build.version, release: o.release, packages: records, verified });
    }
    const repos = await makeRepositories(repoRoot, {
      rpms: made.filter((m) => m.format === "rpm").map((m) => m.path),
      debs: made.filter((m) => m.format === "deb").map((m) => m.path),
      debArch: new Map(made.filter((m) => m.format === "deb").map((m) => [m.path, m.arch])),
      gpg,
      signal: o.signal,
    });
    for (const f of folders) {
      await addToSums(f.outDir, f.packages);
      await writeStatement(f.outDir, f.kubernetes, o, f.packages);
    }
    return {
      folders,
      release: o.release,
      repositories: { root: repoRoot, ...repos },
      signed: { gpg: gpg?.fingerprint ?? null, statement: o.signKey?.keyid ?? null },
    };
  } finally {
    if (gpg) await dropGpgKey(gpg);
  }
}

/** SHA256SUMS gains (or renews) a line per package; the kubelets' lines stay as the build wrote them. */
async function addToSums(outDir: string, records: PackageRecord[]): Promise<void> {
  const path = join(outDir, "SHA256SUMS");
  const text = (await readRegularTextIfExists(path)) ?? "";
  const names = new Set(records.map((r) => r.name));
  const kept = parseSha256Sums(text).filter((e) => !names.has(e.name));
  await writeFileAtomic(path, formatSha256Sums([...kept, ...records.map((r) => ({ name: r.name, sha256: r.sha256 }))]));
}

/**
 * packages.json: an in-toto Statement (SLSA provenance v1) whose subjects
 * are the packages and whose resolved dependencies are the kubelets and the
 * manifest they were checked against.
 */
async function writeStatement(outDir: string, version: string, o: PackageOptions, records: PackageRecord[]): Promise<void> {
  const manifest = await readRegularFile(join(outDir, MANIFEST_FILE), { maxBytes: 64 * 1024 * 1024 });
  const statement: Statement = {
    _type: STATEMENT_TYPE,
    subject: records.map((r) => ({ name: r.name, digest: { sha256: r.sha256 } })),
    predicateType: PROVENANCE_TYPE,
    predicate: {
      buildDefinition: {
        buildType: `${PROJECT}/package/v1`,
        externalParameters: { kubernetes: version, release: o.release, formats: o.formats },
        resolvedDependencies: [
          { name: MANIFEST_FILE, digest: { sha256: createHash("sha256").update(manifest).digest("hex") } },
          ...[...new Map(records.map((r) => [r.platform, r.kubeletSha256])).entries()].map(([platform, sha256]) => ({
            name: `${platform}/kubelet`,
            digest: { sha256 },
          })),
        ],
      },
      runDetails: { builder: { id: `${PROJECT}/builders/package/v1` }, metadata: { finishedOn: new Date().toISOString() } },
    },
  };
  const bytes = Buffer.from(`${JSON.stringify(statement, null, 2)}\n`);
  await writeFileAtomic(join(outDir, PACKAGES_STATEMENT), bytes);
  if (o.signKey) await writeFileAtomic(join(outDir, envelopeFile(PACKAGES_STATEMENT)), `${JSON.stringify(signEnvelope(bytes, o.signKey))}\n`);
}
