/**
 * A signed build output folder as `build --sign-key` publishes it (1.20.15,
 * build-tag, one platform), written by the build's own writers
 * (artifact/attest.ts): kubelet, SHA256SUMS, build.log, the SBOM, both
 * Statements and both envelopes. No Go, no Docker: the kubelet is a small
 * ELF-headed file, the key an Ed25519 pair from node:crypto.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeAttestations } from "../../src/artifact/attest.js";
import { envelopeFile } from "../../src/artifact/keys.js";
import { signEnvelope, signingKeyFromPem, type SigningKey } from "../../src/artifact/dsse.js";
import { treeFiles } from "../fixtures/k8s-tree.js";
import { fakeKubelet, sha } from "../pin/outdir-fixture.js";

export const VERSION = "1.20.15";
export const KUBELET = "linux/amd64/kubelet";

export interface SignedOutDir {
  out: string;
  /** The PEM public key file. */
  pub: string;
  key: SigningKey;
  kubelet: Buffer;
}

export async function writeSignedOutDir(parent: string): Promise<SignedOutDir> {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const pub = join(parent, "key.pub");
  writeFileSync(pub, publicKey.export({ type: "spki", format: "pem" }));
  const key = signingKeyFromPem(privateKey.export({ type: "pkcs8", format: "pem" }).toString(), "test key");
  const tree = join(parent, "tree");
  for (const [rel, text] of Object.entries(treeFiles({ era: "1.20", version: VERSION }).files)) {
    mkdirSync(dirname(join(tree, rel)), { recursive: true });
    writeFileSync(join(tree, rel), text);
  }
  const out = join(parent, "out");
  const kubelet = fakeKubelet("signed");
  mkdirSync(join(out, "linux/amd64"), { recursive: true });
  writeFileSync(join(out, KUBELET), kubelet);
  writeFileSync(join(out, "SHA256SUMS"), `${sha(kubelet)} *${KUBELET}\n`);
  const log = "make WHAT=cmd/kubelet\n";
  writeFileSync(join(out, "build.log"), log);
  await writeAttestations({
    product: "kubelet",
    subjects: [{ platform: "linux/amd64", name: KUBELET, sha256: sha(kubelet) }],
    version: VERSION,
    strategy: "build-tag",
    line: "1.20",
    platforms: ["linux/amd64"],
    source: {
      kind: "git",
      origin: "https://github.com/kubernetes/kubernetes.git",
      ref: `v${VERSION}`,
      commit: "c".repeat(40),
      treeDigest: `sha256:${"d".repeat(64)}`,
      dirHash: "e".repeat(64),
      gitTree: "f".repeat(40),
    },
    sourceDateEpoch: 1600000000,
    env: [["GOFLAGS", "-tags=nokmem"]],
    command: ["make", "WHAT=cmd/kubelet"],
    runner: "docker",
    image: { ref: "kubelet-nokmem-toolchain:go1.19", id: `sha256:${"a".repeat(64)}` },
    go: "1.19.8",
    patches: [],
    tree,
    change: { kind: "build-setting", env: [["GOFLAGS", "-tags=nokmem"]] },
    verdict: {
      verdict: "patched",
      binaries: [{ platform: "linux/amd64", verdict: "patched", gitVersion: `v${VERSION}`, evidence: [{ check: "disabled-string:runc-build", found: true }] }],
    },
    linked: {},
    signKey: key,
    stage: async (rel) => {
      mkdirSync(dirname(join(out, rel)), { recursive: true });
      return join(out, rel);
    },
    tool: { name: "kubelet-nokmem", version: "0.1.0" },
    invocationId: "hostile",
    startedOn: new Date("2024-01-01T00:00:00Z"),
    finishedOn: new Date("2024-01-01T00:03:00Z"),
    byproducts: [{ name: "build.log", digest: { sha256: sha(log) } }],
  });
  return { out, pub, key, kubelet };
}

/** Every regular file of a folder, relative, sorted: what a hostile folder can replace. */
export function filesOf(dir: string, rel = ""): string[] {
  return readdirSync(join(dir, rel))
    .sort()
    .flatMap((name) => {
      const r = rel ? `${rel}/${name}` : name;
      return statSync(join(dir, r)).isDirectory() ? filesOf(dir, r) : [r];
    });
}

/** Sign a Statement file of the folder again (after a deliberate change), as a build holding the key would. */
export function resign(out: string, file: string, key: SigningKey): void {
  writeFileSync(join(out, envelopeFile(file)), `${JSON.stringify(signEnvelope(readFileSync(join(out, file)), key))}\n`);
}
