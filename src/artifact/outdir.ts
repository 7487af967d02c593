/**
 * The one check of a build output folder, for `verify`, `pin` and
 * `audit --manifest` alike: the three give the same outcome and exit code
 * for the same folder because they ask this function (the table is in
 * docs/provenance.md, "Checking an output folder").
 *
 * What a folder must be, in this order:
 *
 * 1. a folder, with no publication left half-way in it (publish.ts);
 * 2. every file read through the confinement primitive (io/confine.ts): a
 *    symlink (wherever it points), a FIFO, a device, a path that leads out
 *    of the folder or a file above its limit is refused, never followed or
 *    read (E_OUT_DIR_REFUSED, naming that file);
 * 3. manifest.json: strict SLSA provenance of this tool (manifest.ts), whose
 *    product (kubelet or runc) names the binaries; verdict.json: about
 *    exactly the same subjects and the same product;
 * 4. each Statement's envelope, where there is one, carries exactly the
 *    Statement's bytes; with a key, each Statement there must have its
 *    envelope, and it must verify with a signature that names the key;
 * 5. SHA256SUMS names every subject with the manifest's digest, each binary
 *    (kubelet or runc) has that digest, every other file SHA256SUMS lists (packages made from
 *    the build) has its digest there, and every file the manifest records a
 *    digest of (the SBOMs, verdict.json, build.log) is there with it.
 *
 * Every disagreement of step 5 is collected into one E_OUT_DIR_CHANGED, so
 * a person sees all of them at once. Messages name files and JSON paths;
 * they never quote what a file holds.
 */
import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { UsageError, VerificationError } from "../errors.js";
import { confinedRoot, ConfinementError, nameProblem, readConfined, streamConfined, type ConfinedRoot } from "../io/confine.js";
import { describeReadFailure, fileKind } from "../io/read.js";
import { envelopeFile } from "./keys.js";
import { parseSha256Sums } from "./checksums.js";
import { envelopePayload, INTOTO_PAYLOAD_TYPE, openEnvelope, parseEnvelope, signaturesBy, type VerifyingKey } from "./dsse.js";
import { MANIFEST_FILE, readProvenance, readVerdict, VERDICT_FILE, type ProvenanceRecord, type PublishedBinary, type VerdictRecord } from "./manifest.js";
import { checkPublicationFinished } from "./publish.js";
import type { Product } from "../strategy/types.js";

export const SUMS_FILE = "SHA256SUMS";

const MiB = 1024 * 1024;
/**
 * The most each file of an output folder may hold. docs/threat-model.md
 * lists the same numbers (test/artifact/outdir.test.ts holds the two
 * together). Kubelets have none: they are streamed into a hash, never held.
 */
export const OUT_DIR_LIMITS = {
  /** manifest.json, verdict.json: a build's are a few KiB. */
  statement: 16 * MiB,
  /** manifest.dsse.json, verdict.dsse.json: a Statement in base64 (4/3 of it) and a few signatures. */
  envelope: 24 * MiB,
  /** SHA256SUMS: one line per kubelet. */
  sums: 1 * MiB,
  /** The other files the manifest records a digest of (sbom.cdx.json, build.log), hashed as read. */
  byproduct: 64 * MiB,
} as const;

const PASS_OUT_DIR = "pass the --out folder of `kubelet-nokmem build`";
const DO_NOT_TRUST = "do not trust this folder: fetch the build's artifacts again, or rebuild with `kubelet-nokmem build`";
const SIGN_FIX = "do not trust these files: rebuild with `kubelet-nokmem build --sign-key KEY`, or fetch the artifacts again";

export interface CheckedOutDir {
  dir: string;
  /** What the folder holds, as its manifest records it (never read from a file name). */
  product: Product;
  /** "1.16.15", "1.0.0-rc93" (no leading v) */
  version: string;
  provenance: ProvenanceRecord;
  /** verdict.json in src/verdict.ts's words (a 0.1.0 verdict/v1 file translated), null when there is none (only without a key). */
  verdict: VerdictRecord | null;
  /** The binaries (kubelets, or runc): each file, its SHA256SUMS line and its manifest subject have this digest. */
  binaries: PublishedBinary[];
  /** The key whose signatures were checked, when one was given. */
  signature: { keyid: string } | null;
}

/** Reads files of one output folder, confined to it, each refusal naming its file. */
class OutDirFiles {
  private constructor(
    readonly dir: string,
    private readonly root: ConfinedRoot,
  ) {}

  static async open(dir: string): Promise<OutDirFiles> {
    return new OutDirFiles(dir, await confinedRoot(dir));
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  async bytes(name: string, maxBytes: number): Promise<Buffer | null> {
    try {
      return await readConfined(this.root, name, { maxBytes });
    } catch (err) {
      throw this.refused(name, err);
    }
  }

  async sha256(name: string, maxBytes?: number): Promise<string | null> {
    const h = createHash("sha256");
    try {
      const n = await streamConfined(this.root, name, (c) => h.update(c), maxBytes === undefined ? {} : { maxBytes });
      return n === null ? null : h.digest("hex");
    } catch (err) {
      throw this.refused(name, err);
    }
  }

  private refused(name: string, err: unknown): VerificationError {
    const found = err instanceof ConfinementError ? err.problem : describeReadFailure(err);
    return new VerificationError(
      "E_OUT_DIR_REFUSED",
      `expected ${this.path(name)} to be a regular file inside ${this.dir}, found ${found}; it was not used`,
      DO_NOT_TRUST,
    );
  }
}

/** A name taken from a file, for a message: shown when it is a plain file name, else by where it stands. */
function shown(name: string, where: string): string {
  return /^[A-Za-z0-9._/-]{1,200}$/.test(name) ? name : where;
}

/** Check a build output folder (see the top of this file); throws the one error its first failing step gives. */
export async function checkOutDir(dir: string, key: VerifyingKey | null = null): Promise<CheckedOutDir> {
  const st = await stat(dir).catch((err: unknown) => {
    throw new UsageError("E_OUT_DIR", `expected a build output folder at ${dir}, found ${describeReadFailure(err)}`, PASS_OUT_DIR);
  });
  if (!st.isDirectory())
    throw new UsageError("E_OUT_DIR", `expected a build output folder at ${dir}, found ${st.isFile() ? "a file" : fileKind(st)}`, PASS_OUT_DIR);
  await checkPublicationFinished(dir); // a folder a build left half-way is refused, never read (nor finished: readers write nothing)
  const files = await OutDirFiles.open(dir);

  const manifestBytes = await signedStatement(files, MANIFEST_FILE, key);
  if (manifestBytes === null)
    throw new UsageError("E_OUT_DIR", `expected a build output folder with ${MANIFEST_FILE} at ${dir}, found no ${MANIFEST_FILE}`, PASS_OUT_DIR);
  const provenance = readProvenance(manifestBytes.toString("utf8"), files.path(MANIFEST_FILE));

  // A removed verdict.json (with its envelope) is caught in step 5: the manifest records its digest.
  const verdictBytes = await signedStatement(files, VERDICT_FILE, key);
  const verdict = verdictBytes === null ? null : readVerdict(verdictBytes.toString("utf8"), files.path(VERDICT_FILE));
  if (verdict) {
    const a = provenance.binaries
      .map((b) => `${b.name}=${b.sha256}`)
      .sort()
      .join(" ");
    const b = verdict.statement.subject
      .map((s) => `${s.name}=${s.digest.sha256}`)
      .sort()
      .join(" ");
    if (a !== b)
      throw new VerificationError(
        "E_MANIFEST",
        `expected ${files.path(VERDICT_FILE)} to be about exactly the subjects of ${MANIFEST_FILE}, found other subjects or digests`,
        "rebuild; never mix files of two builds",
      );
    const verdictProduct = verdict.predicate.product ?? "kubelet";
    if (verdictProduct !== provenance.product)
      throw new VerificationError(
        "E_MANIFEST",
        `expected ${files.path(VERDICT_FILE)} to be about the product of ${MANIFEST_FILE} (${provenance.product}), found ${verdictProduct}`,
        "rebuild; never mix files of two builds",
      );
  }

  const disagreements: string[] = [];
  const sums = await readSums(files);
  if (!sums) disagreements.push(`${SUMS_FILE} is missing`);
  else {
    for (const b of provenance.binaries) {
      const line = sums.get(b.name);
      if (line === undefined) disagreements.push(`${SUMS_FILE} has no line for ${b.name}`);
      else if (line !== b.sha256) disagreements.push(`${SUMS_FILE} records ${line} for ${b.name}, ${MANIFEST_FILE} ${b.sha256}`);
    }
    // Lines for other files (packages made from the build later) are checked as `sha256sum -c` would, confined.
    for (const [i, [name, expected]] of [...sums].entries()) {
      if (provenance.binaries.some((b) => b.name === name)) continue;
      const shownName = shown(name, `the file of entry ${i + 1}`);
      if (nameProblem(name)) {
        disagreements.push(`${SUMS_FILE} names ${shownName}, which is not a plain name inside the folder`);
        continue;
      }
      const actual = await files.sha256(name);
      if (actual === null) disagreements.push(`${shownName} is missing (${SUMS_FILE} lists it)`);
      else if (actual !== expected) disagreements.push(`${shownName} has sha256 ${actual}, ${SUMS_FILE} records ${expected}`);
    }
  }
  for (const b of provenance.binaries) {
    const actual = await files.sha256(b.name);
    if (actual === null) disagreements.push(`${b.name} is missing`);
    else if (actual !== b.sha256) disagreements.push(`${b.name} has sha256 ${actual}, ${MANIFEST_FILE} records ${b.sha256}`);
  }
  for (const [i, d] of (provenance.statement.predicate.runDetails.byproducts ?? []).entries()) {
    const expected = d.digest?.sha256;
    if (d.name === undefined || expected === undefined) continue;
    const where = `$.predicate.runDetails.byproducts[${i}]`;
    if (nameProblem(d.name))
      throw new VerificationError(
        "E_MANIFEST",
        `expected ${files.path(MANIFEST_FILE)} to name each file it records by a plain name inside the folder, found ${where}, which is not one`,
        DO_NOT_TRUST,
      );
    const actual = await files.sha256(d.name, OUT_DIR_LIMITS.byproduct);
    const name = shown(d.name, where);
    if (actual === null) disagreements.push(`${name} is missing (${MANIFEST_FILE} records its digest)`);
    else if (actual !== expected.toLowerCase()) disagreements.push(`${name} has sha256 ${actual}, ${MANIFEST_FILE} records ${expected}`);
  }
  if (disagreements.length) {
    throw new VerificationError(
      "E_OUT_DIR_CHANGED",
      `expected the files of ${dir} to agree with its ${MANIFEST_FILE}, found ${disagreements.join("; ")}`,
      DO_NOT_TRUST,
    );
  }
  return {
    dir,
    product: provenance.product,
    version: provenance.version,
    provenance,
    verdict,
    binaries: provenance.binaries,
    signature: key ? { keyid: key.keyid } : null,
  };
}

/**
 * The bytes of a Statement file of the folder: the file itself, checked
 * against its envelope when there is one (the envelope's payload when only
 * the envelope is there). With `key`, the envelope is required and must
 * verify with a signature naming the key. Null when neither file is there
 * (with a key: only when the Statement file is missing too).
 */
async function signedStatement(files: OutDirFiles, file: string, key: VerifyingKey | null): Promise<Buffer | null> {
  const plain = await files.bytes(file, OUT_DIR_LIMITS.statement);
  const envName = envelopeFile(file);
  const envPath = files.path(envName);
  const envBytes = await files.bytes(envName, OUT_DIR_LIMITS.envelope);
  if (envBytes === null) {
    if (key && plain !== null) throw new VerificationError("E_SIGNATURE_MISSING", `expected ${envPath} signing ${file}, found no envelope`, SIGN_FIX);
    return plain;
  }
  const env = parseEnvelope(envBytes.toString("utf8"), envPath);
  if (env.payloadType !== INTOTO_PAYLOAD_TYPE)
    throw new VerificationError("E_SIGNATURE", `expected ${envPath} to carry ${INTOTO_PAYLOAD_TYPE}, found another payloadType`, SIGN_FIX);
  let payload: Buffer;
  if (key) {
    const opened = openEnvelope(env, key);
    if (!opened) {
      const why = signaturesBy(env, key).length
        ? "the signature naming that key does not verify: the payload changed since it was signed"
        : `none of its ${env.signatures.length} signature${env.signatures.length > 1 ? "s" : ""} names that key`;
      throw new VerificationError("E_SIGNATURE", `expected a signature by ${key.keyid} that verifies over ${envPath}, found none (${why})`, SIGN_FIX);
    }
    payload = opened;
  } else payload = envelopePayload(env);
  if (plain !== null && !plain.equals(payload))
    throw new VerificationError("E_SIGNATURE", `expected ${files.path(file)} to be the payload ${envPath} carries, found different bytes`, SIGN_FIX);
  return payload;
}

/**
 * SHA256SUMS by name; null when absent. Malformed, or naming one file twice
 * with different digests, is a failure whatever the order of the lines.
 */
async function readSums(files: OutDirFiles): Promise<Map<string, string> | null> {
  const bytes = await files.bytes(SUMS_FILE, OUT_DIR_LIMITS.sums);
  if (bytes === null) return null;
  const path = files.path(SUMS_FILE);
  let entries;
  try {
    entries = parseSha256Sums(bytes.toString("utf8"));
  } catch (err) {
    throw new VerificationError("E_SUMS", `expected ${path} in sha256sum format, found ${(err as Error).message}`, "rebuild; never hand-edit SHA256SUMS");
  }
  const sums = new Map<string, string>();
  for (const [i, e] of entries.entries()) {
    const seen = sums.get(e.name);
    if (seen !== undefined && seen !== e.sha256) {
      const [a, b] = [seen, e.sha256].sort();
      throw new VerificationError(
        "E_SUMS_CONFLICT",
        `expected ${path} to give one digest per file, found two for ${shown(e.name, `the name of entry ${i + 1}`)} (${a} and ${b})`,
        "rebuild; never hand-edit SHA256SUMS",
      );
    }
    sums.set(e.name, e.sha256);
  }
  return sums;
}
