/**
 * The hostile suites' signed output folder (1.20.15, build-tag, one
 * platform, a build.log), written by test/helpers/signed-out-dir.ts; the key
 * an Ed25519 pair from node:crypto.
 */
import { generateKeyPairSync } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { envelopeFile } from "../../src/artifact/keys.js";
import { signEnvelope, signingKeyFromPem, type SigningKey } from "../../src/artifact/dsse.js";
import { writeSignedOutDir as writeSignedFolder } from "../helpers/signed-out-dir.js";
import { fakeKubelet } from "../pin/outdir-fixture.js";

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
  const out = join(parent, "out");
  const kubelet = fakeKubelet("signed");
  await writeSignedFolder({
    out,
    tree: join(parent, "tree"),
    era: "1.20",
    version: VERSION,
    strategy: "build-tag",
    binaries: { "linux/amd64": kubelet },
    signKey: key,
    log: "make WHAT=cmd/kubelet\n",
    invocationId: "hostile",
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
