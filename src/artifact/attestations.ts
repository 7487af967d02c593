/**
 * Reading back what attest.ts published, the one reader of a build's
 * Statements: strict in-toto v1 + SLSA v1 (manifest.ts), and with a key only
 * what that key signed (the DSSE envelope beside each Statement must verify
 * and carry exactly the Statement file's bytes). Also the keys of
 * `--sign-key` / `--key`. Light on imports: audit and verify load it.
 */
import { describeReadFailure, readRegularFile, readRegularText } from "../io/read.js";
import { join } from "node:path";
import { openEnvelope, parseEnvelope, INTOTO_PAYLOAD_TYPE, signingKeyFromPem, verifyingKeyFromPem, type SigningKey, type VerifyingKey } from "./dsse.js";
import type { Statement } from "./intoto.js";
import { MANIFEST_FILE, readProvenance, readStatement, readVerdict, VERDICT_FILE, type ProvenanceRecord, type VerdictRecord } from "./manifest.js";
import { UsageError, VerificationError } from "../errors.js";

const ENVELOPE_SUFFIX = ".dsse.json";
export const envelopeFile = (statementFile: string) => statementFile.replace(/\.json$/, ENVELOPE_SUFFIX);

// ── keys

async function keyText(spec: string, what: string): Promise<{ text: string; where: string }> {
  if (spec.startsWith("env:")) {
    const name = spec.slice(4);
    const text = process.env[name];
    if (!text) throw new UsageError("E_KEY_READ", `expected the environment variable ${name} to hold a PEM ${what}, found it ${text === undefined ? "unset" : "empty"}`, `export ${name}="$(cat KEY.pem)" (a CI secret), or pass a file path`);
    return { text, where: `$${name}` };
  }
  try {
    return { text: await readRegularText(spec, { maxBytes: 1024 * 1024 }), where: spec };
  } catch (err) {
    throw new UsageError("E_KEY_READ", `expected a PEM ${what} file at ${spec}, found ${describeReadFailure(err)}`, "pass a readable PEM file, or env:VARNAME for a key held in an environment variable");
  }
}

/** `--sign-key`: a PEM file path, or `env:VARNAME`. */
export async function loadSigningKey(spec: string): Promise<SigningKey> {
  const { text, where } = await keyText(spec, "private key");
  return signingKeyFromPem(text, where);
}

/** `--key`: a PEM public key file path, or `env:VARNAME`. */
export async function loadVerifyingKey(spec: string): Promise<VerifyingKey> {
  const { text, where } = await keyText(spec, "public key");
  return verifyingKeyFromPem(text, where);
}

// ── reading

interface AttestedBuild {
  provenance: ProvenanceRecord;
  /** verdict.json in src/verdict.ts's words (a 0.1.0 verdict/v1 file translated), null when there is none. */
  verdict: VerdictRecord | null;
  /** The key whose signature was checked, when one was given. */
  signature: { keyid: string } | null;
}

async function readOptional(path: string): Promise<Buffer | null> {
  try {
    // An output folder is someone else's: a FIFO or device there is refused, never read (src/io/read.ts).
    return await readRegularFile(path, { maxBytes: 64 * 1024 * 1024 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/**
 * The Statement in `file` of `dir`, and with `key` the proof that it is what
 * the key signed: `<file>.dsse.json` must verify and carry exactly the
 * file's bytes. Returns the text to parse (the signed payload when a key is given).
 */
async function readSignedText(dir: string, file: string, key: VerifyingKey | null): Promise<string | null> {
  const plain = await readOptional(join(dir, file));
  if (!key) return plain?.toString("utf8") ?? null;
  const envPath = join(dir, envelopeFile(file));
  const envText = await readOptional(envPath);
  const fix = "do not trust these files: rebuild with `kubelet-nokmem build --sign-key KEY`, or fetch the artifacts again";
  if (envText === null) {
    if (plain === null) return null;
    throw new VerificationError("E_SIGNATURE_MISSING", `expected ${envPath} signing ${file}, found no envelope`, fix);
  }
  const env = parseEnvelope(envText.toString("utf8"), envPath);
  if (env.payloadType !== INTOTO_PAYLOAD_TYPE) throw new VerificationError("E_SIGNATURE", `expected ${envPath} to carry ${INTOTO_PAYLOAD_TYPE}, found ${JSON.stringify(env.payloadType)}`, fix);
  const payload = openEnvelope(env, key);
  if (!payload) throw new VerificationError("E_SIGNATURE", `expected a signature by ${key.keyid} that verifies over ${envPath}, found none (signed by ${env.signatures.map((s) => s.keyid || "an unnamed key").join(", ")}, or changed since)`, fix);
  if (plain !== null && !plain.equals(payload)) throw new VerificationError("E_SIGNATURE", `expected ${join(dir, file)} to be the payload ${envPath} signs, found different bytes`, fix);
  return payload.toString("utf8");
}

/** A build output folder's Statements, strictly; with `key`, only what that key signed. */
export async function readAttestedBuild(dir: string, key: VerifyingKey | null = null): Promise<AttestedBuild | null> {
  const manifest = await readSignedText(dir, MANIFEST_FILE, key);
  if (manifest === null) return null;
  const provenance = readProvenance(manifest, join(dir, MANIFEST_FILE));
  const verdictText = await readSignedText(dir, VERDICT_FILE, key);
  const verdict = verdictText === null ? null : readVerdict(verdictText, join(dir, VERDICT_FILE));
  if (verdict) {
    const a = provenance.binaries.map((b) => `${b.name}=${b.sha256}`).sort().join(" ");
    const b = verdict.statement.subject.map((s) => `${s.name}=${s.digest.sha256}`).sort().join(" ");
    if (a !== b) throw new VerificationError("E_MANIFEST", `expected ${join(dir, VERDICT_FILE)} to be about the subjects of ${MANIFEST_FILE}, found ${b}`, "rebuild; never mix files of two builds");
  }
  return { provenance, verdict, signature: key ? { keyid: key.keyid } : null };
}

/** Any in-toto Statement in a folder's manifest.json (audit --manifest), signed by `key` when one is given. */
export async function readManifestStatement(dir: string, key: VerifyingKey | null = null): Promise<Statement | null> {
  const text = await readSignedText(dir, MANIFEST_FILE, key);
  return text === null ? null : readStatement(text, join(dir, MANIFEST_FILE));
}
