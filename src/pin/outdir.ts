/**
 * The pin a build output folder implies, from artifact/'s one check of the
 * folder (artifact/outdir.ts: the same check verify and audit --manifest make).
 */
import type { VerifyingKey } from "../artifact/dsse.js";
import { checkOutDir, type CheckedOutDir } from "../artifact/outdir.js";
import type { AnyPin } from "./pins.js";

interface PublishedBuild extends CheckedOutDir {
  /** The pin this build would record: in `pins` for a kubelet, `runcPins` for runc (the manifest's product). */
  pin: AnyPin;
  /** keyid of the key whose signatures were checked, null without one. */
  keyid: string | null;
}

export async function readPublishedBuild(dir: string, key: VerifyingKey | null = null): Promise<PublishedBuild> {
  const build = await checkOutDir(dir, key);
  const p = build.provenance;
  const pin: AnyPin = {
    commit: p.source.commit ?? "",
    image: p.image?.ref ?? "local",
    sha256: Object.fromEntries(p.binaries.map((b) => [b.platform, b.sha256])),
  };
  if (p.image?.id) pin.imageId = p.image.id;
  if (p.strategy) pin.strategy = p.strategy as AnyPin["strategy"];
  if (p.patches.length) pin.patches = p.patches;
  if (build.signature) pin.keyid = build.signature.keyid;
  return { ...build, pin, keyid: build.signature?.keyid ?? null };
}
