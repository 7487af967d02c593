/** A build output folder as `build` publishes it, for pin and verify tests. */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

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
  const statement = {
    _type: "https://in-toto.io/Statement/v1",
    subject: subjects,
    predicateType: "https://slsa.dev/provenance/v1",
    predicate: {
      buildDefinition: {
        buildType: "https://example.invalid/build/v1",
        externalParameters: { version: `v${version}`, strategy: "build-tag", platforms: Object.keys(binaries), source: { commit: extra.commit ?? "a".repeat(40) } },
        internalParameters: { image: { ref: extra.image ?? "kubelet-nokmem-toolchain:go1.19", id: "sha256:" + "b".repeat(64) } },
        resolvedDependencies: [{ name: "patch:none", digest: { sha256: "c".repeat(64) } }],
      },
      runDetails: {},
    },
    verdict: { verdict: "patched", evidence: [] },
  };
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(statement, null, 2));
}
