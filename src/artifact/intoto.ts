/**
 * The in-toto attestation layer (spec v1: Statement, ResourceDescriptor,
 * DigestSet), read strictly: the rules of the reference implementation's
 * Validate() (in-toto/attestation go/v1) plus protojson's rejection of
 * fields the schema does not have. Pure; parsers take text.
 *
 * https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md
 */

export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";

export type DigestSet = Record<string, string>;

export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: DigestSet;
  /** base64 */
  content?: string;
  downloadLocation?: string;
  mediaType?: string;
  annotations?: Record<string, unknown>;
}

export interface Subject extends ResourceDescriptor {
  digest: DigestSet;
}

export interface Statement<P = Record<string, unknown>> {
  _type: typeof STATEMENT_TYPE;
  subject: Subject[];
  predicateType: string;
  predicate: P;
}

/**
 * Digest algorithms whose values the spec defines as lowercase hex of a fixed
 * size (bytes). `dirHash` is sha256-sized, `gitCommit`/`gitTree` sha1 or sha256.
 */
const FIXED_SIZE: Record<string, number[]> = {
  md5: [16],
  sha1: [20],
  sha224: [28],
  sha512_224: [28],
  sha256: [32],
  sha512_256: [32],
  sha384: [48],
  sha512: [64],
  sha3_224: [28],
  sha3_256: [32],
  sha3_384: [48],
  sha3_512: [64],
  gitCommit: [20, 32],
  gitTree: [20, 32],
  gitBlob: [20, 32],
  gitTag: [20, 32],
  dirHash: [32],
};

const RD_FIELDS = new Set(["name", "uri", "digest", "content", "downloadLocation", "mediaType", "annotations"]);
const STATEMENT_FIELDS = new Set(["_type", "subject", "predicateType", "predicate"]);

/** A schema violation: `path` is a JSON pointer-ish location, `message` what is wrong there. */
export class SchemaViolation extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function expectObject(v: unknown, path: string): Record<string, unknown> {
  if (!isObject(v)) throw new SchemaViolation(path, `expected an object, found ${describe(v)}`);
  return v;
}

/** protojson's unknown-field rule: every key must be a field of the message. */
export function onlyFields(o: Record<string, unknown>, fields: ReadonlySet<string>, path: string): void {
  for (const k of Object.keys(o)) if (!fields.has(k)) throw new SchemaViolation(`${path}.${k}`, `is not a field of this message (unknown fields are rejected)`);
}

export function optionalString(o: Record<string, unknown>, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw new SchemaViolation(`${path}.${key}`, `expected a string, found ${describe(v)}`);
  return v;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "string" ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : typeof v;
}

/** A DigestSet: string values; for the algorithms the spec names, hex of the right size. */
function checkDigestSet(v: unknown, path: string): DigestSet {
  const o = expectObject(v, path);
  const out: DigestSet = {};
  for (const [alg, value] of Object.entries(o)) {
    if (typeof value !== "string") throw new SchemaViolation(`${path}.${alg}`, `expected a string, found ${describe(value)}`);
    const sizes = FIXED_SIZE[alg];
    if (sizes) {
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(value)) throw new SchemaViolation(`${path}.${alg}`, "expected hex");
      if (!sizes.includes(value.length / 2))
        throw new SchemaViolation(`${path}.${alg}`, `expected ${sizes.map((s) => s * 2).join(" or ")} hex digits, found ${value.length}`);
    }
    out[alg] = value;
  }
  return out;
}

function checkResourceDescriptor(v: unknown, path: string): ResourceDescriptor {
  const o = expectObject(v, path);
  onlyFields(o, RD_FIELDS, path);
  const rd: ResourceDescriptor = {};
  for (const key of ["name", "uri", "downloadLocation", "mediaType"] as const) {
    const s = optionalString(o, key, path);
    if (s !== undefined) rd[key] = s;
  }
  if (o.digest !== undefined) rd.digest = checkDigestSet(o.digest, `${path}.digest`);
  const content = optionalString(o, "content", path);
  if (content !== undefined) {
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(content)) throw new SchemaViolation(`${path}.content`, "expected base64");
    rd.content = content;
  }
  if (o.annotations !== undefined) rd.annotations = expectObject(o.annotations, `${path}.annotations`);
  // Validate(): at least one of name, uri or digest (the spec text: uri, digest or content).
  if (!rd.name && !rd.uri && !Object.keys(rd.digest ?? {}).length && !rd.content)
    throw new SchemaViolation(path, "expected at least one of name, uri, digest or content");
  return rd;
}

export function checkResourceDescriptors(v: unknown, path: string): ResourceDescriptor[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new SchemaViolation(path, `expected an array, found ${describe(v)}`);
  return v.map((x, i) => checkResourceDescriptor(x, `${path}[${i}]`));
}

/** A v1 Statement, its predicate left as an object for the predicate's own reader. Throws SchemaViolation. */
export function checkStatement(v: unknown): Statement {
  const o = expectObject(v, "$");
  onlyFields(o, STATEMENT_FIELDS, "$");
  if (o._type !== STATEMENT_TYPE) throw new SchemaViolation("$._type", `expected ${JSON.stringify(STATEMENT_TYPE)}, found ${describe(o._type)}`);
  if (!Array.isArray(o.subject) || !o.subject.length) throw new SchemaViolation("$.subject", "expected at least one subject");
  const subject = o.subject.map((s, i) => {
    const rd = checkResourceDescriptor(s, `$.subject[${i}]`);
    if (!rd.digest || !Object.keys(rd.digest).length) throw new SchemaViolation(`$.subject[${i}].digest`, "expected a digest: v1 subjects must have one");
    return rd as Subject;
  });
  if (typeof o.predicateType !== "string" || !o.predicateType)
    throw new SchemaViolation("$.predicateType", `expected a URI, found ${describe(o.predicateType)}`);
  // Validate() requires the predicate object (the prose allows it unset; the reference parser does not).
  const predicate = expectObject(o.predicate, "$.predicate");
  return { _type: STATEMENT_TYPE, subject, predicateType: o.predicateType, predicate };
}
