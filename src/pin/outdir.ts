/**
 * Reading what `build` published into an output folder, for pin and verify:
 * the Statements through artifact/'s one reader (strict in-toto + SLSA v1;
 * with a key, only what the key signed), turned into the pin they imply.
 */
import type { Pin } from "../catalog/types.js";
import { readAttestedBuild } from "../artifact/attestations.js";
import type { VerifyingKey } from "../artifact/dsse.js";
import type { PublishedBinary } from "../artifact/manifest.js";
import { checkPublicationFinished } from "../artifact/publish.js";
import { ToolError, UsageError } from "../errors.js";
import { describeReadFailure } from "../io/read.js";

interface PublishedBuild {
  dir: string;
  /** "1.16.15" (no leading v) */
  version: string;
  binaries: PublishedBinary[];
  /** The pin this build would record. */
  pin: Pin;
  /** keyid of the key whose signature was checked, when one was given. */
  keyid: string | null;
}

export async function readPublishedBuild(dir: string, key: VerifyingKey | null = null): Promise<PublishedBuild> {
  await checkPublicationFinished(dir); // a folder a build left half-way is refused, never read (nor finished: readers write nothing)
  const build = await readAttestedBuild(dir, key).catch((err: unknown) => {
    if (err instanceof ToolError) throw err;
    throw new UsageError("E_OUT_DIR", `expected a build output folder with a readable manifest.json at ${dir}, found ${describeReadFailure(err)}`, "pass the --out folder of `kubelet-nokmem build`");
  });
  if (!build) throw new UsageError("E_OUT_DIR", `expected a build output folder with manifest.json at ${dir}, found no manifest.json`, "pass the --out folder of `kubelet-nokmem build`");
  const p = build.provenance;
  const pin: Pin = { commit: p.source.commit ?? "", image: p.image?.ref ?? "local", sha256: Object.fromEntries(p.binaries.map((b) => [b.platform, b.sha256])) };
  if (p.image?.id) pin.imageId = p.image.id;
  if (p.strategy) pin.strategy = p.strategy as Pin["strategy"];
  if (p.patches.length) pin.patches = p.patches;
  if (build.signature) pin.keyid = build.signature.keyid;
  return { dir, version: p.version, binaries: p.binaries, pin, keyid: build.signature?.keyid ?? null };
}
