/**
 * manifest.json: an in-toto Statement v1 whose predicate is SLSA provenance
 * v1 (https://slsa.dev/spec/v1.0/provenance), plus the nokmem verdict. Built
 * by a pure function from what the build recorded.
 */

export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
export const PROVENANCE_TYPE = "https://slsa.dev/provenance/v1";
const BUILD_TYPE = "https://github.com/kubelet-nokmem/kubelet-nokmem/build/v1";
const BUILDER_ID = "https://github.com/kubelet-nokmem/kubelet-nokmem";

interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: Record<string, string>;
  annotations?: Record<string, unknown>;
}

interface ProvenanceInput {
  subjects: { name: string; sha256: string }[];
  version: string;
  strategy: string;
  line: string;
  platforms: string[];
  source: { kind: string; origin: string; ref: string | null; commit: string | null; treeDigest: string; gitTree: string | null };
  sourceDateEpoch: number;
  env: [string, string][];
  command: string[];
  runner: string;
  image: { ref: string; id: string | null };
  go: string | null;
  patches: { name: string; sha256: string }[];
  verdict: { verdict: string; evidence: unknown };
  tool: { name: string; version: string };
  invocationId: string;
  startedOn: Date;
  finishedOn: Date;
  byproducts: ResourceDescriptor[];
}

interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: typeof PROVENANCE_TYPE;
  predicate: {
    buildDefinition: {
      buildType: string;
      externalParameters: Record<string, unknown>;
      internalParameters: Record<string, unknown>;
      resolvedDependencies: ResourceDescriptor[];
    };
    runDetails: {
      builder: { id: string; version: Record<string, string> };
      metadata: { invocationId: string; startedOn: string; finishedOn: string };
      byproducts: ResourceDescriptor[];
    };
  };
  /** The nokmem verification of the subjects (outside the SLSA predicate: SLSA has no field for it). */
  verdict: { verdict: string; evidence: unknown };
}

export function provenanceStatement(p: ProvenanceInput): Statement {
  const sourceDigest: Record<string, string> = { sha256: p.source.treeDigest.replace(/^sha256:/, "") };
  if (p.source.commit) sourceDigest.gitCommit = p.source.commit;
  if (p.source.gitTree) sourceDigest.gitTree = p.source.gitTree;
  const imageDigest: Record<string, string> = p.image.id ? { sha256: p.image.id.replace(/^sha256:/, "") } : {};
  return {
    _type: STATEMENT_TYPE,
    subject: p.subjects.map((s) => ({ name: s.name, digest: { sha256: s.sha256 } })),
    predicateType: PROVENANCE_TYPE,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          version: `v${p.version}`,
          strategy: p.strategy,
          platforms: p.platforms,
          source: {
            kind: p.source.kind,
            uri: p.source.origin,
            ref: p.source.ref,
            commit: p.source.commit,
            treeDigest: p.source.treeDigest,
          },
          sourceDateEpoch: p.sourceDateEpoch,
        },
        internalParameters: {
          line: p.line,
          runner: p.runner,
          env: Object.fromEntries(p.env),
          command: p.command,
          image: { ref: p.image.ref, id: p.image.id },
          goVersion: p.go,
        },
        resolvedDependencies: [
          { name: "source", uri: p.source.origin, digest: sourceDigest, annotations: { kind: p.source.kind, ref: p.source.ref } },
          ...p.patches.map((x) => ({ name: `patch:${x.name}`, digest: { sha256: x.sha256 } })),
          { name: "image", uri: p.image.ref, digest: imageDigest, annotations: { goVersion: p.go } },
        ],
      },
      runDetails: {
        builder: { id: BUILDER_ID, version: { [p.tool.name]: p.tool.version } },
        metadata: { invocationId: p.invocationId, startedOn: p.startedOn.toISOString(), finishedOn: p.finishedOn.toISOString() },
        byproducts: p.byproducts,
      },
    },
    verdict: p.verdict,
  };
}
