/**
 * DSSE envelopes (https://github.com/secure-systems-lab/dsse, envelope.md +
 * protocol.md) around in-toto Statements, signed with Ed25519 or ECDSA P-256
 * (SHA-256, ASN.1 DER signatures: what cosign and in-toto's verifiers
 * expect). All cryptography is node:crypto.
 *
 * keyid is the SSH SHA256 fingerprint of the public key ("SHA256:" + base64
 * without padding), the id go-securesystemslib's DSSE verifier (used by
 * cosign and in-toto-golang) derives for a key that names none: a verifier
 * that compares keyids accepts ours.
 */
import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from "node:crypto";
import { UsageError, VerificationError } from "../errors.js";
import { describeJsonSyntax } from "../io/read.js";
import { expectObject, isObject, onlyFields, SchemaViolation } from "./intoto.js";

export const INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
/**
 * An envelope with more signatures than this is refused before any is
 * checked: a build signs with one key, a co-signed release with a few. (An
 * envelope of 600,000 signatures, each tried in turn, kept a verifier busy
 * for minutes.)
 */
export const MAX_ENVELOPE_SIGNATURES = 16;
/** Signatures naming the given key that are tried, at most. */
const MAX_SIGNATURE_TRIES = 4;

export interface Envelope {
  payloadType: string;
  /** base64 (standard) of the payload bytes */
  payload: string;
  signatures: { keyid?: string; sig: string }[];
}

/** The pre-authentication encoding: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body (lengths in ASCII decimal bytes). */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

export type KeyKind = "ed25519" | "ecdsa-p256";

export interface SigningKey {
  kind: KeyKind;
  keyid: string;
  private: KeyObject;
  public: KeyObject;
}

export interface VerifyingKey {
  kind: KeyKind;
  keyid: string;
  public: KeyObject;
}

function kindOf(k: KeyObject, where: string): KeyKind {
  if (k.asymmetricKeyType === "ed25519") return "ed25519";
  if (k.asymmetricKeyType === "ec" && k.asymmetricKeyDetails?.namedCurve === "prime256v1") return "ecdsa-p256";
  const found = k.asymmetricKeyType === "ec" ? `an EC key on ${k.asymmetricKeyDetails?.namedCurve}` : `a key of type ${k.asymmetricKeyType ?? "unknown"}`;
  throw new UsageError(
    "E_KEY_TYPE",
    `expected ${where} to hold an Ed25519 or ECDSA P-256 key, found ${found}`,
    "openssl genpkey -algorithm ed25519 -out kubelet-nokmem.key (or -algorithm EC -pkeyopt ec_paramgen_curve:P-256)",
  );
}

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** SSH SHA256 fingerprint of a public key, as `ssh-keygen -lf` prints it. */
function keyIdOf(pub: KeyObject): string {
  const jwk = pub.export({ format: "jwk" });
  const b64 = (s: string | undefined) => Buffer.from(s ?? "", "base64url");
  const wire =
    jwk.kty === "OKP"
      ? Buffer.concat([sshString(Buffer.from("ssh-ed25519")), sshString(b64(jwk.x))])
      : Buffer.concat([
          sshString(Buffer.from("ecdsa-sha2-nistp256")),
          sshString(Buffer.from("nistp256")),
          sshString(Buffer.concat([Buffer.from([4]), b64(jwk.x), b64(jwk.y)])),
        ]);
  return `SHA256:${createHash("sha256").update(wire).digest("base64").replace(/=+$/, "")}`;
}

/** A private key from PEM text (PKCS#8 or SEC1). `where` names its origin in messages. */
export function signingKeyFromPem(pem: string, where: string): SigningKey {
  let priv: KeyObject;
  try {
    priv = createPrivateKey(pem);
  } catch (err) {
    throw new UsageError(
      "E_KEY_READ",
      `expected ${where} to hold an unencrypted PEM private key, found none (${(err as Error).message})`,
      "pass a PEM file made by `openssl genpkey` (or cosign's key converted with `openssl pkey`)",
    );
  }
  const kind = kindOf(priv, where);
  const pub = createPublicKey(priv);
  return { kind, keyid: keyIdOf(pub), private: priv, public: pub };
}

/** A public key from PEM text (a private key's PEM gives its public half). */
export function verifyingKeyFromPem(pem: string, where: string): VerifyingKey {
  let pub: KeyObject;
  try {
    pub = createPublicKey(pem);
  } catch (err) {
    throw new UsageError(
      "E_KEY_READ",
      `expected ${where} to hold a PEM public key, found none (${(err as Error).message})`,
      "pass the PEM public key: openssl pkey -in KEY -pubout -out KEY.pub",
    );
  }
  return { kind: kindOf(pub, where), keyid: keyIdOf(pub), public: pub };
}

export function signEnvelope(payload: Buffer, key: SigningKey, payloadType = INTOTO_PAYLOAD_TYPE): Envelope {
  const msg = pae(payloadType, payload);
  const sig = key.kind === "ed25519" ? cryptoSign(null, msg, key.private) : cryptoSign("sha256", msg, { key: key.private, dsaEncoding: "der" });
  return { payloadType, payload: payload.toString("base64"), signatures: [{ keyid: key.keyid, sig: sig.toString("base64") }] };
}

/** Envelope text → envelope; throws VerificationError on anything but the envelope's three fields. */
export function parseEnvelope(text: string, where: string): Envelope {
  const fail = (found: string) =>
    new VerificationError(
      "E_ENVELOPE",
      `expected ${where} to be a DSSE envelope, found ${found}`,
      "rebuild with `kubelet-nokmem build --sign-key KEY`, or restore the file from the build's artifacts",
    );
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw fail(describeJsonSyntax(err));
  }
  try {
    const o = expectObject(data, "$");
    onlyFields(o, new Set(["payloadType", "payload", "signatures"]), "$");
    if (typeof o.payloadType !== "string" || typeof o.payload !== "string" || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(o.payload))
      throw new SchemaViolation("$", "payloadType and a base64 payload");
    if (!Array.isArray(o.signatures) || !o.signatures.length) throw new SchemaViolation("$.signatures", "expected at least one signature");
    if (o.signatures.length > MAX_ENVELOPE_SIGNATURES)
      throw new SchemaViolation("$.signatures", `expected at most ${MAX_ENVELOPE_SIGNATURES} signatures, found ${o.signatures.length}`);
    const signatures = o.signatures.map((s: unknown, i: number) => {
      if (!isObject(s) || typeof s.sig !== "string" || (s.keyid !== undefined && typeof s.keyid !== "string"))
        throw new SchemaViolation(`$.signatures[${i}]`, "expected {keyid?, sig}");
      return { ...(typeof s.keyid === "string" ? { keyid: s.keyid } : {}), sig: s.sig };
    });
    return { payloadType: o.payloadType, payload: o.payload, signatures };
  } catch (err) {
    if (err instanceof SchemaViolation) throw fail(err.message);
    throw err;
  }
}

/** The signatures of an envelope that name `key`: the only ones tried, at most MAX_SIGNATURE_TRIES of them. */
export function signaturesBy(env: Envelope, key: VerifyingKey): Envelope["signatures"] {
  return env.signatures.filter((s) => s.keyid === key.keyid).slice(0, MAX_SIGNATURE_TRIES);
}

/**
 * The payload, if a signature by `key` verifies over its PAE; null when none
 * does. Only signatures whose keyid is the key's are tried (DSSE lets a
 * verifier select by keyid; this tool's envelopes always name theirs), so a
 * crowd of foreign or unnamed signatures costs nothing.
 */
export function openEnvelope(env: Envelope, key: VerifyingKey): Buffer | null {
  const candidates = signaturesBy(env, key);
  if (!candidates.length) return null;
  const payload = envelopePayload(env);
  const msg = pae(env.payloadType, payload);
  for (const s of candidates) {
    const sig = Buffer.from(s.sig.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    const ok = key.kind === "ed25519" ? cryptoVerify(null, msg, key.public, sig) : cryptoVerify("sha256", msg, { key: key.public, dsaEncoding: "der" }, sig);
    if (ok) return payload;
  }
  return null;
}

/** The payload bytes an envelope carries, whoever signed it. Both base64 alphabets are allowed (envelope.md). */
export function envelopePayload(env: Envelope): Buffer {
  return Buffer.from(env.payload.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}
