/**
 * An in-toto v1 / SLSA v1 parser this project's reader is checked against:
 * the spec's protobuf messages (the .proto files beside this one) compiled by
 * protobufjs, decoded from JSON by @bufbuild/protobuf's protojson (unknown
 * fields rejected, RFC 3339 timestamps, Struct as JSON object), then the
 * Validate() rules of in-toto/attestation's Go package, ported over the
 * decoded messages. Nothing here imports src/.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createFileRegistry, fromBinary, fromJson, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema, file_google_protobuf_struct, file_google_protobuf_timestamp, type DescriptorProto } from "@bufbuild/protobuf/wkt";
import protobuf from "protobufjs";
import descriptorExt from "protobufjs/ext/descriptor/index.js";

// The extension adds Root#toDescriptor and the descriptor.proto messages; its .d.ts declares neither.
const descriptor = descriptorExt as unknown as { FileDescriptorSet: { encode(message: unknown): { finish(): Uint8Array } } };

const HERE = dirname(fileURLToPath(import.meta.url));
const SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1";

function compile(): { statement: DescMessage; resourceDescriptor: DescMessage; provenance: DescMessage } {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith("google/") ? target : join(HERE, target.replace(/^.*\//, "")));
  root.loadSync([join(HERE, "statement.proto"), join(HERE, "provenance.proto")]);
  root.resolveAll();
  const set = descriptor.FileDescriptorSet.encode((root as unknown as { toDescriptor(syntax: string): unknown }).toDescriptor("proto3")).finish();
  const files = fromBinary(FileDescriptorSetSchema, set).file.filter((f) => f.package !== "google.protobuf");
  // protobufjs writes type names relative and leaves json_name empty; protoc writes them qualified and lowerCamelCase.
  const qualify = (msgs: DescriptorProto[], scope: string) => {
    for (const m of msgs) {
      const full = `${scope}.${m.name}`;
      const type = m.options?.mapEntry ? null : root.lookupType(full);
      for (const f of m.field) {
        const pf = type && Object.values(type.fields).find((x) => x.id === f.number);
        if (pf?.resolvedType) f.typeName = pf.resolvedType.fullName;
        else if (f.typeName && !f.typeName.startsWith(".")) f.typeName = `.${full}.${f.typeName}`;
        if (!f.jsonName) f.jsonName = f.name.replace(/_([a-z0-9])/g, (_s, c: string) => c.toUpperCase());
      }
      qualify(m.nestedType, full);
    }
  };
  const wkt: Record<string, typeof file_google_protobuf_struct> = {
    "google/protobuf/struct.proto": file_google_protobuf_struct,
    "google/protobuf/timestamp.proto": file_google_protobuf_timestamp,
  };
  for (const f of files) {
    qualify(f.messageType, f.package);
    f.dependency = Object.keys(wkt);
  }
  const intoto = files.find((f) => f.package === "in_toto_attestation.v1")!;
  const slsa = files.find((f) => f.package === "slsa.provenance.v1")!;
  slsa.dependency.push(intoto.name);
  const r1 = createFileRegistry(intoto, (n) => wkt[n]);
  const r2 = createFileRegistry(slsa, (n) => wkt[n] ?? r1.getFile(n));
  return {
    statement: r1.getMessage("in_toto_attestation.v1.Statement")!,
    resourceDescriptor: r1.getMessage("in_toto_attestation.v1.ResourceDescriptor")!,
    provenance: r2.getMessage("slsa.provenance.v1.Provenance")!,
  };
}

const schema = compile();

interface RD {
  name: string;
  uri: string;
  digest: Record<string, string>;
  content: Uint8Array;
}

// go/v1/resource_descriptor.go: hex digests of the named fixed-size algorithms.
const SIZES: Record<string, number> = {
  md5: 16,
  sha1: 20,
  sha224: 28,
  sha512_224: 28,
  sha256: 32,
  sha512_256: 32,
  sha384: 48,
  sha512: 64,
  sha3_224: 28,
  sha3_256: 32,
  sha3_384: 48,
  sha3_512: 64,
  gitCommit: 20,
  dirHash: 32,
};

function validateRD(rd: RD, where: string): void {
  if (!rd.name && !rd.uri && !Object.keys(rd.digest).length) throw new Error(`${where}: at least one of name, URI, or digest are required`);
  for (const [alg, value] of Object.entries(rd.digest)) {
    const size = SIZES[alg];
    if (size === undefined) continue;
    if (!/^([0-9a-fA-F]{2})*$/.test(value)) throw new Error(`${where}: digest is not valid hex-encoded string: ${alg}`);
    if (value.length / 2 !== size) throw new Error(`${where}: digest has incorrect length: ${alg}`);
  }
}

/** Parse and validate a Statement JSON text as the reference implementation would; returns the decoded messages. Throws on any violation. */
export function strictParseStatement(text: string): { statement: Record<string, unknown>; provenance: Record<string, unknown> | null } {
  const json = JSON.parse(text) as JsonValue;
  const st = fromJson(schema.statement, json) as unknown as { type: string; subject: RD[]; predicateType: string; predicate?: unknown };
  // go/v1/statement.go Validate()
  if (st.type !== "https://in-toto.io/Statement/v1") throw new Error("Wrong statement type");
  if (!st.subject.length) throw new Error("At least one subject required");
  st.subject.forEach((s, i) => {
    validateRD(s, `subject[${i}]`);
    if (!Object.keys(s.digest).length) throw new Error("At least one digest required");
  });
  if (!st.predicateType) throw new Error("Predicate type required");
  if (st.predicate === undefined) throw new Error("Predicate object required");
  let provenance: Record<string, unknown> | null = null;
  if (st.predicateType === SLSA_PROVENANCE_V1) {
    const p = fromJson(schema.provenance, (json as { predicate: JsonValue }).predicate) as unknown as {
      buildDefinition?: { buildType: string; externalParameters?: unknown; resolvedDependencies: RD[] };
      runDetails?: { builder?: { id: string; builderDependencies: RD[] }; byproducts: RD[] };
    };
    // go/predicates/provenance/v1/provenance.go Validate()
    const bd = p.buildDefinition;
    if (!bd) throw new Error("BuildDefinition required");
    if (!bd.buildType) throw new Error("BuildDefinition.BuildType required");
    if (bd.externalParameters === undefined) throw new Error("BuildDefinition.ExternalParameters required");
    bd.resolvedDependencies.forEach((rd, i) => validateRD(rd, `resolvedDependencies[${i}]`));
    const rd = p.runDetails;
    if (!rd) throw new Error("RunDetails required");
    if (!rd.builder) throw new Error("RunDetails.Builder required");
    if (!rd.builder.id) throw new Error("Builder.Id required");
    rd.builder.builderDependencies.forEach((d, i) => validateRD(d, `builderDependencies[${i}]`));
    rd.byproducts.forEach((d, i) => validateRD(d, `byproducts[${i}]`));
    provenance = p;
  }
  return { statement: st, provenance };
}
