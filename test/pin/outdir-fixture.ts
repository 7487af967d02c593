/** A build output folder as `build` publishes it, for pin and verify tests. */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { provenanceStatement } from "../../src/artifact/manifest.js";

export function fakeKubelet(seed: string): Buffer {
  // An ELF header for x86-64 followed by payload bytes: enough for platform detection.
  const head = Buffer.alloc(64);
  head.writeUInt32BE(0x7f454c46, 0);
  head[4] = 2;
  head[5] = 1;
  head.writeUInt16LE(2, 16);
  head.writeUInt16LE(0x3e, 18);
  return Buffer.concat([head, Buffer.from(`kubelet payload ${seed}\n`.repeat(100))]);
}

export const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

export function writeOutDir(dir: string, version: string, binaries: Record<string, Buffer>, extra: { commit?: string; image?: string } = {}): void {
  mkdirSync(dir, { recursive: true });
  const subjects = Object.entries(binaries).map(([platform, bytes]) => {
    mkdirSync(join(dir, platform), { recursive: true });
    writeFileSync(join(dir, platform, "kubelet"), bytes);
    return { name: `${platform}/kubelet`, digest: { sha256: sha(bytes) } };
  });
  writeFileSync(join(dir, "SHA256SUMS"), subjects.map((s) => `${s.digest.sha256}  ${s.name}\n`).join(""));
  // Written by the build's own writer: the reader under test is strict.
  const image = extra.image ?? "kubelet-nokmem-toolchain:go1.19";
  const statement = provenanceStatement({
    product: "kubelet",
    subjects: subjects.map((s) => ({ name: s.name, sha256: s.digest.sha256 })),
    version,
    strategy: "build-tag",
    line: version.split(".").slice(0, 2).join("."),
    platforms: Object.keys(binaries),
    source: {
      kind: "git",
      origin: "https://github.com/kubernetes/kubernetes.git",
      ref: `v${version}`,
      commit: extra.commit ?? "a".repeat(40),
      treeDigest: `sha256:${"d".repeat(64)}`,
      dirHash: "e".repeat(64),
      gitTree: null,
    },
    sourceDateEpoch: 1600000000,
    env: [["GOFLAGS", "-tags=nokmem"]],
    command: ["make", "WHAT=cmd/kubelet"],
    runner: "docker",
    image: { ref: image, id: "sha256:" + "b".repeat(64) },
    go: "1.19.8",
    patches: [{ name: "none", sha256: "c".repeat(64) }],
    tool: { name: "kubelet-nokmem", version: "0.1.0" },
    invocationId: "fixture",
    startedOn: new Date("2024-01-01T00:00:00Z"),
    finishedOn: new Date("2024-01-01T00:03:00Z"),
    byproducts: [],
  });
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(statement, null, 2));
}

/**
 * verdict.json exactly as kubelet-nokmem 0.1.0 wrote it (predicateType
 * verdict/v1, the build's former words), written by hand: the writer of this
 * version no longer produces it. `words` overrides the build's and each
 * binary's word.
 */
export function writeV1Verdict(dir: string, version: string, binaries: Record<string, Buffer>, words: { build?: string; binary?: string } = {}): void {
  const statement = {
    _type: "https://in-toto.io/Statement/v1",
    subject: Object.entries(binaries).map(([platform, bytes]) => ({ name: `${platform}/kubelet`, digest: { sha256: sha(bytes) } })),
    predicateType: "https://github.com/kubelet-nokmem/kubelet-nokmem/verdict/v1",
    predicate: {
      release: `v${version}`,
      strategy: "build-tag",
      verdict: words.build ?? "nokmem",
      binaries: Object.keys(binaries).map((platform) => ({
        name: `${platform}/kubelet`,
        verdict: words.binary ?? "nokmem",
        gitVersion: `v${version}`,
        evidence: [
          { check: "build-tag:nokmem", found: true, detail: "the Go build info records -tags=nokmem" },
          { check: "enabled-string:kmem-limit-file", found: false },
        ],
      })),
      verifier: { id: "https://github.com/kubelet-nokmem/kubelet-nokmem/verifiers/audit/v1", version: { "kubelet-nokmem": "0.1.0" } },
      timeVerified: "2024-01-01T00:03:00.000Z",
    },
  };
  writeFileSync(join(dir, "verdict.json"), `${JSON.stringify(statement, null, 2)}\n`);
}
