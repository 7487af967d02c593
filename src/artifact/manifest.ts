/**
 * The two Statements a build publishes about its kubelets, and their one
 * reader:
 *
 * - manifest.json: an in-toto Statement v1 whose predicate is SLSA
 *   Provenance v1.0 (https://slsa.dev/spec/v1.0/provenance): how the
 *   kubelets were built.
 * - verdict.json: a Statement about the same subjects with this project's
 *   predicate (VERDICT_TYPE, schema in docs/schemas/): the audit's verdict
 *   (src/verdict.ts) and its evidence. SLSA provenance says how something was built, not
 *   what a check of the result found; a separate predicate lets a policy
 *   require (and a key sign) each claim on its own.
 *
 * Writers are pure functions of what the build recorded; readers take text
 * and return typed records or throw one VerificationError (E_MANIFEST).
 */
import { pathToFileURL } from "node:url";
import { VerificationError } from "../errors.js";
import { parseExactRelease, releaseCore } from "../release.js";
import { formatRuncVersion, parseRuncVersion } from "../runc-version.js";
import { describeJsonSyntax } from "../io/read.js";
import { NOKMEM_VERDICTS, VERDICTS, type NokmemVerdict, type Verdict } from "../verdict.js";
import { PRODUCTS, type Product } from "../strategy/types.js";
import {
  checkResourceDescriptors,
  checkStatement,
  expectObject,
  isObject,
  onlyFields,
  optionalString,
  SchemaViolation,
  STATEMENT_TYPE,
  type ResourceDescriptor,
  type Statement,
} from "./intoto.js";

export { STATEMENT_TYPE, type ResourceDescriptor } from "./intoto.js";
export const PROVENANCE_TYPE = "https://slsa.dev/provenance/v1";
const PROJECT = "https://github.com/kubelet-nokmem/kubelet-nokmem";
/**
 * The page that documents the build type and the builders: this repository's
 * docs/build-type.md as the forge shows it, one anchor (a heading) per URI, so
 * each URI in a manifest opens its own definition (a test checks the file and
 * its headings exist).
 */
export const BUILD_TYPE_DOC = `${PROJECT}/blob/main/docs/build-type.md`;
/** buildType: defines externalParameters / internalParameters / resolvedDependencies. */
export const BUILD_TYPE = `${BUILD_TYPE_DOC}#build-type-v1`;
/** One builder id per build mode: a container offline from a pinned image, or whatever Go and make this host has. */
export const BUILDER_IDS = { docker: `${BUILD_TYPE_DOC}#builder-docker-v1`, local: `${BUILD_TYPE_DOC}#builder-local-v1` } as const;
export type BuildRunner = keyof typeof BUILDER_IDS;
/** The URIs kubelet-nokmem 0.1.0 wrote (they resolved to nothing): read, never written, so pin and verify keep reading its out dirs. */
const BUILD_TYPE_V0 = `${PROJECT}/build/v1`;
const BUILDER_IDS_V0: Record<BuildRunner, string> = { docker: `${PROJECT}/builders/docker/v1`, local: `${PROJECT}/builders/local/v1` };
/** predicateType of verdict.json (docs/schemas/verdict-v2.schema.json): the audit's words (src/verdict.ts). */
const VERDICT_TYPE = `${PROJECT}/verdict/v2`;
/**
 * predicateType of the verdict.json kubelet-nokmem 0.1.0 wrote, in the build's
 * former words (docs/schemas/verdict-v1.schema.json). Read, never written: pin
 * and verify keep working on output folders of that release.
 */
const VERDICT_TYPE_V1 = `${PROJECT}/verdict/v1`;

export const MANIFEST_FILE = "manifest.json";
export const VERDICT_FILE = "verdict.json";

export interface ProvenanceInput {
  product: Product;
  subjects: { name: string; sha256: string }[];
  version: string;
  strategy: string;
  line: string;
  platforms: string[];
  /** commit: for an archive, what its `git archive` header claims (an annotation, not a digest of the file); archiveSha256: the archive file's own digest. */
  source: {
    kind: string;
    origin: string;
    ref: string | null;
    commit: string | null;
    treeDigest: string;
    dirHash: string | null;
    gitTree: string | null;
    archiveSha256?: string | null;
  };
  sourceDateEpoch: number;
  env: [string, string][];
  command: string[];
  runner: BuildRunner;
  /** Docker: the build image as it ran (a digest reference when it has one), and how it was chosen. */
  image: { ref: string; id: string | null; rule?: string; requested?: string } | null;
  go: string | null;
  /** Local: the `go` binary that ran, when found on PATH. */
  goBinary?: { path: string; sha256: string } | null;
  /** The builder's Go against the Go the release was built with. */
  toolchain?: { expected: string | null; found: string | null; matches: boolean | null; note: string };
  patches: { name: string; sha256: string }[];
  tool: { name: string; version: string };
  invocationId: string;
  startedOn: Date;
  finishedOn: Date;
  byproducts: ResourceDescriptor[];
}

interface ProvenancePredicate {
  buildDefinition: {
    buildType: string;
    externalParameters: Record<string, unknown>;
    internalParameters?: Record<string, unknown>;
    resolvedDependencies?: ResourceDescriptor[];
  };
  runDetails: {
    builder: { id: string; version?: Record<string, string>; builderDependencies?: ResourceDescriptor[] };
    metadata?: { invocationId?: string; startedOn?: string; finishedOn?: string };
    byproducts?: ResourceDescriptor[];
  };
}

export type ProvenanceStatement = Statement<ProvenancePredicate>;

/** `git+https://host/repo@<commit>`, `git+file:///path@<commit>`, `file:///path` (ResourceURI forms the spec recommends). */
export function sourceUri(kind: string, origin: string, commit: string | null): string {
  const at = commit ? `@${commit}` : "";
  if (kind !== "git") return pathToFileURL(origin).href;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(origin)) return `git+${origin.replace(/^git\+/, "")}${at}`;
  const scp = /^([^@/]+@)?([^:/]+):(.+)$/.exec(origin);
  if (scp) return `git+ssh://${scp[1] ?? ""}${scp[2]}/${scp[3]}${at}`;
  return `git+${pathToFileURL(origin).href}${at}`;
}

/**
 * `pkg:docker/name@tag?repository_url=registry` (or `@sha256:…` for a ref by
 * digest), encoded as packageurl-js encodes it (test/artifact/statement.test.ts
 * compares the two on every shape of reference). Written out here so that
 * reading a manifest (the audit does) never loads the purl library.
 */
export function imagePurl(ref: string): string {
  let rest = ref;
  let version: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    version = rest.slice(at + 1);
    rest = rest.slice(0, at);
  } else {
    const colon = rest.lastIndexOf(":");
    if (colon > rest.lastIndexOf("/")) {
      version = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
  }
  const parts = rest.split("/");
  const registry = parts.length > 1 && /[.:]|^localhost$/.test(parts[0]!) ? parts.shift()! : undefined;
  const name = parts.pop()!;
  const namespace = parts.length ? parts.join("/") : undefined;
  const ns = namespace ? `${encodeURIComponent(namespace).replace(/%3A/g, ":").replace(/%2F/g, "/")}/` : "";
  const v = encodeURIComponent(version ?? "latest")
    .replace(/%3A/g, ":")
    .replace(/%2B/g, "+");
  // Qualifier values as application/x-www-form-urlencoded, a space as %20.
  const q = registry ? `?${new URLSearchParams({ repository_url: registry }).toString().replace(/\+/g, "%20")}` : "";
  return `pkg:docker/${ns}${encodeURIComponent(name)}@${v}${q}`;
}

const hex = (d: string) => d.replace(/^sha256:/, "");

/**
 * The source as a resolved dependency whose digest is of the thing its URI
 * names, so a third party can check it: a git source by its commit (and tree,
 * and the checkout's dirHash); an archive by the sha256 of the archive file
 * (what the build extracted, and what its pax header claims, are
 * annotations); a directory by the dirHash of its files.
 */
function sourceDescriptor(s: ProvenanceInput["source"]): ResourceDescriptor {
  const uri = sourceUri(s.kind, s.origin, s.commit);
  const annotations: Record<string, unknown> = { kind: s.kind, ...(s.ref ? { ref: s.ref } : {}), treeDigest: s.treeDigest };
  const digest: Record<string, string> = {};
  if (s.kind === "archive") {
    if (s.archiveSha256) digest.sha256 = s.archiveSha256;
    if (s.dirHash) annotations.dirHash = s.dirHash;
    if (s.commit) annotations.archiveCommit = s.commit;
  } else {
    if (s.commit) digest.gitCommit = s.commit;
    if (s.gitTree) digest.gitTree = s.gitTree;
    if (s.dirHash) digest.dirHash = s.dirHash;
  }
  return { name: "source", uri, digest, annotations };
}

export function provenanceStatement(p: ProvenanceInput): ProvenanceStatement {
  const source = sourceDescriptor(p.source);
  const toolchain: ResourceDescriptor[] = [];
  if (p.runner === "docker" && p.image) {
    toolchain.push({
      name: "image",
      uri: imagePurl(p.image.ref),
      ...(p.image.id ? { digest: { sha256: hex(p.image.id) } } : {}),
      annotations: { ref: p.image.ref, ...(p.go ? { goVersion: p.go } : {}) },
    });
  } else if (p.runner === "local" && p.goBinary) {
    toolchain.push({
      name: "go",
      uri: pathToFileURL(p.goBinary.path).href,
      digest: { sha256: p.goBinary.sha256 },
      ...(p.go ? { annotations: { goVersion: p.go } } : {}),
    });
  }
  return {
    _type: STATEMENT_TYPE,
    subject: p.subjects.map((s) => ({ name: s.name, digest: { sha256: s.sha256 } })),
    predicateType: PROVENANCE_TYPE,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          product: p.product,
          version: `v${p.version}`,
          strategy: p.strategy,
          platforms: p.platforms,
          source: { kind: p.source.kind, uri: source.uri, ref: p.source.ref },
          sourceDateEpoch: p.sourceDateEpoch,
          runner: p.runner,
          ...(p.image ? { image: p.image.ref } : {}),
        },
        internalParameters: {
          line: p.line,
          env: Object.fromEntries(p.env),
          command: p.command,
          ...(p.image ? { image: { ref: p.image.ref, id: p.image.id, ...(p.image.rule ? { rule: p.image.rule, requested: p.image.requested } : {}) } } : {}),
          goVersion: p.go,
          ...(p.toolchain ? { toolchain: p.toolchain } : {}),
        },
        resolvedDependencies: [source, ...p.patches.map((x) => ({ name: `patch:${x.name}`, digest: { sha256: x.sha256 } })), ...toolchain],
      },
      runDetails: {
        builder: { id: BUILDER_IDS[p.runner], version: { [p.tool.name]: p.tool.version } },
        metadata: { invocationId: p.invocationId, startedOn: p.startedOn.toISOString(), finishedOn: p.finishedOn.toISOString() },
        byproducts: p.byproducts,
      },
    },
  };
}

// ── the verdict Statement

export interface VerdictPredicate {
  /** What was built; absent means kubelet (every file before runc was a product). */
  product?: Product;
  /** "v1.20.2" (kubelet) or "1.0.0-rc93" (runc, as its VERSION file says it) */
  release: string;
  strategy: string;
  /** The build's verdict over all subjects: a build publishes only kubelets that cannot enable kmem. */
  verdict: NokmemVerdict;
  binaries: {
    name: string;
    verdict: Verdict;
    gitVersion?: string;
    /** runc: the `runc --version` stamp read from the binary (-X main.version, main.gitCommit). */
    runcVersion?: { version: string; commit: string | null };
    evidence: { check: string; found: boolean; detail?: string }[];
  }[];
  verifier: { id: string; version: Record<string, string> };
  timeVerified: string;
}

type VerdictStatement = Statement<VerdictPredicate>;

export function verdictStatement(subjects: { name: string; sha256: string }[], predicate: VerdictPredicate): VerdictStatement {
  return { _type: STATEMENT_TYPE, subject: subjects.map((s) => ({ name: s.name, digest: { sha256: s.sha256 } })), predicateType: VERDICT_TYPE, predicate };
}

/** The bytes written for a Statement: the same bytes a DSSE envelope carries as its payload. */
export function statementBytes(st: Statement<unknown>): Buffer {
  return Buffer.from(`${JSON.stringify(st, null, 2)}\n`);
}

// ── the reader

export interface PublishedBinary {
  /** "linux/amd64" */
  platform: string;
  /** Path relative to the output folder: "linux/amd64/kubelet". */
  name: string;
  sha256: string;
}

export interface ProvenanceRecord {
  statement: ProvenanceStatement;
  /** externalParameters.product; a manifest without one (every manifest before runc was a product) is a kubelet's. */
  product: Product;
  /** "1.16.15", "1.0.0-rc93" (no leading v) */
  version: string;
  strategy: string | null;
  runner: BuildRunner;
  builderId: string;
  binaries: PublishedBinary[];
  source: { uri: string | null; commit: string | null };
  image: { ref: string; id: string | null } | null;
  patches: { name: string; sha256: string }[];
}

function manifestError(where: string, what: string, found: string): VerificationError {
  return new VerificationError(
    "E_MANIFEST",
    `expected ${where} to be ${what}, found ${found}`,
    "rebuild with `kubelet-nokmem build`, or restore the file from the build's artifacts",
  );
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw manifestError(where, "JSON", describeJsonSyntax(err));
  }
}

/** Any in-toto v1 Statement, strictly. */
export function readStatement(text: string, where: string): Statement {
  const data = parseJson(text, where);
  try {
    return checkStatement(data);
  } catch (err) {
    if (err instanceof SchemaViolation) throw manifestError(where, "an in-toto Statement v1 (with a subject array)", err.message);
    throw err;
  }
}

const PROVENANCE_FIELDS = new Set(["buildDefinition", "runDetails"]);
const BUILD_DEFINITION_FIELDS = new Set(["buildType", "externalParameters", "internalParameters", "resolvedDependencies"]);
const RUN_DETAILS_FIELDS = new Set(["builder", "metadata", "byproducts"]);
const BUILDER_FIELDS = new Set(["id", "version", "builderDependencies"]);
const METADATA_FIELDS = new Set(["invocationId", "startedOn", "finishedOn"]);
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** SLSA Provenance v1 predicate: the fields of its proto, the rules of its Validate(). */
function checkProvenancePredicate(v: unknown): ProvenancePredicate {
  const o = expectObject(v, "$.predicate");
  onlyFields(o, PROVENANCE_FIELDS, "$.predicate");
  const bd = expectObject(o.buildDefinition, "$.predicate.buildDefinition");
  onlyFields(bd, BUILD_DEFINITION_FIELDS, "$.predicate.buildDefinition");
  const buildType = optionalString(bd, "buildType", "$.predicate.buildDefinition");
  if (!buildType) throw new SchemaViolation("$.predicate.buildDefinition.buildType", "expected a URI");
  const externalParameters = expectObject(bd.externalParameters, "$.predicate.buildDefinition.externalParameters");
  if (bd.internalParameters !== undefined) expectObject(bd.internalParameters, "$.predicate.buildDefinition.internalParameters");
  const resolvedDependencies = checkResourceDescriptors(bd.resolvedDependencies, "$.predicate.buildDefinition.resolvedDependencies");
  const rd = expectObject(o.runDetails, "$.predicate.runDetails");
  onlyFields(rd, RUN_DETAILS_FIELDS, "$.predicate.runDetails");
  const b = expectObject(rd.builder, "$.predicate.runDetails.builder");
  onlyFields(b, BUILDER_FIELDS, "$.predicate.runDetails.builder");
  const id = optionalString(b, "id", "$.predicate.runDetails.builder");
  if (!id) throw new SchemaViolation("$.predicate.runDetails.builder.id", "expected a URI");
  if (b.version !== undefined) {
    for (const [k, val] of Object.entries(expectObject(b.version, "$.predicate.runDetails.builder.version"))) {
      if (typeof val !== "string") throw new SchemaViolation(`$.predicate.runDetails.builder.version.${k}`, "expected a string");
    }
  }
  checkResourceDescriptors(b.builderDependencies, "$.predicate.runDetails.builder.builderDependencies");
  if (rd.metadata !== undefined) {
    const m = expectObject(rd.metadata, "$.predicate.runDetails.metadata");
    onlyFields(m, METADATA_FIELDS, "$.predicate.runDetails.metadata");
    optionalString(m, "invocationId", "$.predicate.runDetails.metadata");
    for (const k of ["startedOn", "finishedOn"]) {
      const t = optionalString(m, k, "$.predicate.runDetails.metadata");
      if (t !== undefined && !RFC3339.test(t)) throw new SchemaViolation(`$.predicate.runDetails.metadata.${k}`, "expected an RFC 3339 timestamp");
    }
  }
  checkResourceDescriptors(rd.byproducts, "$.predicate.runDetails.byproducts");
  return {
    ...(o as unknown as ProvenancePredicate),
    buildDefinition: { ...(bd as unknown as ProvenancePredicate["buildDefinition"]), externalParameters, resolvedDependencies },
  };
}

/** manifest.json of a kubelet-nokmem build: strict in-toto + SLSA v1, then the fields this project's buildType defines. */
export function readProvenance(text: string, where: string): ProvenanceRecord {
  const st = readStatement(text, where);
  if (st.predicateType !== PROVENANCE_TYPE) throw manifestError(where, `a Statement with predicateType ${PROVENANCE_TYPE}`, JSON.stringify(st.predicateType));
  let predicate: ProvenancePredicate;
  try {
    predicate = checkProvenancePredicate(st.predicate);
  } catch (err) {
    if (err instanceof SchemaViolation) throw manifestError(where, "SLSA Provenance v1", err.message);
    throw err;
  }
  const bad = (what: string, found: string) => manifestError(where, `a kubelet-nokmem build provenance with ${what}`, found);
  if (predicate.buildDefinition.buildType !== BUILD_TYPE && predicate.buildDefinition.buildType !== BUILD_TYPE_V0)
    throw bad(`buildType ${BUILD_TYPE}`, JSON.stringify(predicate.buildDefinition.buildType));
  const ext = predicate.buildDefinition.externalParameters;
  if (ext.product !== undefined && !(PRODUCTS as readonly unknown[]).includes(ext.product))
    throw bad(`externalParameters.product one of ${PRODUCTS.join(", ")}`, "another value");
  const product: Product = ext.product === "runc" ? "runc" : "kubelet";
  const version = productVersion(product, ext.version);
  if (version === null)
    throw bad(product === "runc" ? "externalParameters.version (vX.Y.Z or vX.Y.Z-rcN)" : "externalParameters.version (vX.Y.Z)", JSON.stringify(ext.version));
  const builderId = predicate.runDetails.builder.id;
  const runner = (Object.keys(BUILDER_IDS) as BuildRunner[]).find((r) => BUILDER_IDS[r] === builderId || BUILDER_IDS_V0[r] === builderId);
  if (!runner) throw bad(`builder.id one of ${Object.values(BUILDER_IDS).join(", ")}`, JSON.stringify(predicate.runDetails.builder.id));
  const binaries: PublishedBinary[] = [];
  for (const [i, s] of st.subject.entries()) {
    const m = /^(linux\/[a-z0-9]+)\/([a-z]+)$/.exec(s.name ?? "");
    const sha = s.digest.sha256;
    // The subject is named by its place, never quoted: a message must not echo what a file holds.
    if (!m || m[2] !== product || !sha || !/^[0-9a-f]{64}$/.test(sha))
      throw bad(`subjects named <os>/<arch>/${product} with a lowercase sha256 digest`, `$.subject[${i}] is not`);
    if (binaries.some((b) => b.name === s.name)) throw bad(`one subject per ${product}`, `$.subject[${i}] naming a ${product} twice`);
    binaries.push({ platform: m[1]!, name: s.name!, sha256: sha });
  }
  const deps = predicate.buildDefinition.resolvedDependencies ?? [];
  const source = deps.find((d) => d.name === "source");
  const imageDep = deps.find((d) => d.name === "image");
  const internal = isObject(predicate.buildDefinition.internalParameters) ? predicate.buildDefinition.internalParameters : {};
  const imageParam = isObject(internal.image) ? internal.image : null;
  const imageRef = typeof imageParam?.ref === "string" ? imageParam.ref : typeof imageDep?.annotations?.ref === "string" ? imageDep.annotations.ref : null;
  const imageId = imageDep?.digest?.sha256 ? `sha256:${imageDep.digest.sha256}` : null;
  return {
    statement: { ...st, predicate },
    product,
    version,
    strategy: typeof ext.strategy === "string" ? ext.strategy : null,
    runner,
    builderId: predicate.runDetails.builder.id,
    binaries,
    source: {
      uri: source?.uri ?? null,
      commit: source?.digest?.gitCommit ?? (typeof source?.annotations?.archiveCommit === "string" ? source.annotations.archiveCommit : null),
    },
    image: imageRef ? { ref: imageRef, id: imageId } : null,
    patches: deps
      .filter((d) => d.name?.startsWith("patch:") && d.digest?.sha256)
      .map((d) => ({ name: d.name!.slice("patch:".length), sha256: d.digest!.sha256! })),
  };
}

/** externalParameters.version of a product's manifest, without its leading v; null when it is not one. */
function productVersion(product: Product, v: unknown): string | null {
  if (typeof v !== "string") return null;
  if (product === "runc") {
    const r = parseRuncVersion(v);
    return r ? formatRuncVersion(r) : null;
  }
  const release = parseExactRelease(v);
  return release ? releaseCore(release) : null;
}

const VERDICT_FIELDS = new Set(["product", "release", "strategy", "verdict", "binaries", "verifier", "timeVerified"]);
const BINARY_FIELDS = new Set(["name", "verdict", "gitVersion", "runcVersion", "evidence"]);
const EVIDENCE_FIELDS = new Set(["check", "found", "detail"]);

/** The words verdict/v1 used for a binary. */
type V1Word = "nokmem" | "kmem-enabled" | "not-affected" | "unknown";
/** verdict/v1's words in src/verdict.ts's: the one translation, total, with no fallback. */
const FROM_V1: Record<V1Word, Verdict> = { nokmem: "patched", "kmem-enabled": "unpatched", "not-affected": "not-affected", unknown: "unknown" };

/** How each version of the predicate spells a verdict: its words, each read in src/verdict.ts's words. */
type Vocabulary = Readonly<Record<string, Verdict>>;
const VOCABULARIES = new Map<string, Vocabulary>([
  [VERDICT_TYPE, Object.fromEntries(VERDICTS.map((v) => [v, v]))],
  [VERDICT_TYPE_V1, FROM_V1],
]);

export interface VerdictRecord {
  /** The Statement as read: its predicate in the words of its own predicateType. */
  statement: Statement;
  /** The predicate in src/verdict.ts's words, whichever version was read. */
  predicate: VerdictPredicate;
}

/** The verdict word at `path`, in src/verdict.ts's words; `allowed` is what may stand there. */
function verdictAt<V extends Verdict>(v: unknown, path: string, vocabulary: Vocabulary, allowed: readonly V[]): V {
  const may = (w: Verdict): w is V => (allowed as readonly Verdict[]).includes(w);
  const found = typeof v === "string" && Object.hasOwn(vocabulary, v) ? vocabulary[v] : undefined;
  if (found !== undefined && may(found)) return found;
  const words = Object.keys(vocabulary).filter((w) => may(vocabulary[w]!));
  throw new SchemaViolation(path, `expected one of ${words.join(", ")}, found ${JSON.stringify(v) ?? "nothing"}`);
}

/**
 * verdict.json: strict in-toto, then the predicate's schema
 * (docs/schemas/verdict-v2.schema.json; verdict-v1.schema.json for a file of
 * 0.1.0, whose words are translated by FROM_V1).
 */
export function readVerdict(text: string, where: string): VerdictRecord {
  const st = readStatement(text, where);
  const vocabulary = VOCABULARIES.get(st.predicateType);
  if (!vocabulary) throw manifestError(where, `a Statement with predicateType ${VERDICT_TYPE} (or ${VERDICT_TYPE_V1})`, JSON.stringify(st.predicateType));
  try {
    const p = st.predicate;
    onlyFields(p, VERDICT_FIELDS, "$.predicate");
    for (const k of ["release", "strategy", "timeVerified"])
      if (!optionalString(p, k, "$.predicate")) throw new SchemaViolation(`$.predicate.${k}`, "expected a string");
    if (p.product !== undefined && p.product !== "kubelet" && p.product !== "runc")
      throw new SchemaViolation("$.predicate.product", `expected kubelet or runc, found ${JSON.stringify(p.product)}`);
    const verdict = verdictAt(p.verdict, "$.predicate.verdict", vocabulary, NOKMEM_VERDICTS);
    if (!Array.isArray(p.binaries)) throw new SchemaViolation("$.predicate.binaries", "expected an array");
    const binaries = p.binaries.map((b: unknown, i: number): VerdictPredicate["binaries"][number] => {
      const at = `$.predicate.binaries[${i}]`;
      const o = expectObject(b, at);
      onlyFields(o, BINARY_FIELDS, at);
      const name = optionalString(o, "name", at);
      if (!name) throw new SchemaViolation(`${at}.name`, "expected a string");
      const gitVersion = optionalString(o, "gitVersion", at);
      if (!Array.isArray(o.evidence)) throw new SchemaViolation(`${at}.evidence`, "expected an array");
      const evidence = o.evidence.map((e: unknown, j: number) => {
        const eat = `${at}.evidence[${j}]`;
        const x = expectObject(e, eat);
        onlyFields(x, EVIDENCE_FIELDS, eat);
        const check = optionalString(x, "check", eat);
        if (check === undefined) throw new SchemaViolation(`${eat}.check`, "expected a string");
        if (typeof x.found !== "boolean") throw new SchemaViolation(`${eat}.found`, "expected a boolean");
        const detail = optionalString(x, "detail", eat);
        return { check, found: x.found, ...(detail !== undefined ? { detail } : {}) };
      });
      const runcVersion = o.runcVersion === undefined ? undefined : expectObject(o.runcVersion, `${at}.runcVersion`);
      if (runcVersion && !optionalString(runcVersion, "version", `${at}.runcVersion`))
        throw new SchemaViolation(`${at}.runcVersion.version`, "expected a string");
      return {
        name,
        verdict: verdictAt(o.verdict, `${at}.verdict`, vocabulary, VERDICTS),
        ...(gitVersion !== undefined ? { gitVersion } : {}),
        ...(runcVersion
          ? { runcVersion: { version: runcVersion.version as string, commit: typeof runcVersion.commit === "string" ? runcVersion.commit : null } }
          : {}),
        evidence,
      };
    });
    const verifier = expectObject(p.verifier, "$.predicate.verifier");
    if (!optionalString(verifier, "id", "$.predicate.verifier")) throw new SchemaViolation("$.predicate.verifier.id", "expected a URI");
    const predicate = { ...(p as unknown as VerdictPredicate), verdict, binaries };
    return { statement: st, predicate };
  } catch (err) {
    if (err instanceof SchemaViolation) throw manifestError(where, `a ${st.predicateType} predicate`, err.message);
    throw err;
  }
}
