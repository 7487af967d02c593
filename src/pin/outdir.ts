/**
 * Reading what `build` published into an output folder: manifest.json (an
 * in-toto Statement with SLSA provenance), SHA256SUMS and the kubelets.
 */
import { join } from "node:path";
import type { Pin } from "../catalog/types.js";
import { settlePublication } from "../artifact/publish.js";
import { UsageError, VerificationError } from "../errors.js";
import { describeReadFailure, readRegularText } from "../io/read.js";

interface PublishedBinary {
  /** "linux/amd64" */
  platform: string;
  /** Path relative to the output folder: "linux/amd64/kubelet". */
  name: string;
  /** Digest the manifest records. */
  sha256: string;
}

interface PublishedBuild {
  dir: string;
  /** "1.16.15" (no leading v) */
  version: string;
  binaries: PublishedBinary[];
  /** The pin this build would record. */
  pin: Pin;
}

interface StatementShape {
  _type?: string;
  subject?: { name?: string; digest?: { sha256?: string } }[];
  predicate?: {
    buildDefinition?: {
      externalParameters?: { version?: string; strategy?: string; source?: { commit?: string | null } };
      internalParameters?: { image?: { ref?: string; id?: string | null } };
      resolvedDependencies?: { name?: string; digest?: Record<string, string> }[];
    };
  };
}

/** Parse manifest.json text. Pure; `where` names the file in messages. */
function parseManifest(text: string, where: string): Omit<PublishedBuild, "dir"> {
  let st: StatementShape;
  try {
    st = JSON.parse(text) as StatementShape;
  } catch (err) {
    throw new VerificationError("E_MANIFEST", `expected ${where} to be JSON, found a syntax error (${(err as Error).message})`, "rebuild, or restore manifest.json from the build's artifacts");
  }
  const bad = (what: string) => new VerificationError("E_MANIFEST", `expected ${where} to hold ${what}, found none`, "rebuild with `kubelet-nokmem build`: only its manifests can be pinned");
  if (st._type !== "https://in-toto.io/Statement/v1" || !Array.isArray(st.subject)) throw bad("an in-toto Statement v1 with subjects");
  const ext = st.predicate?.buildDefinition?.externalParameters;
  const version = ext?.version?.replace(/^v/, "");
  if (!version || !/^\d+\.\d+\.\d+$/.test(version)) throw bad("externalParameters.version (vX.Y.Z)");
  const binaries: PublishedBinary[] = [];
  for (const s of st.subject) {
    const m = /^(linux\/[a-z0-9]+)\/kubelet$/.exec(s.name ?? "");
    const sha = s.digest?.sha256;
    if (!m || !sha || !/^[0-9a-f]{64}$/.test(sha)) throw bad(`subjects named <os>/<arch>/kubelet with a sha256 digest (got ${JSON.stringify(s.name)})`);
    binaries.push({ platform: m[1]!, name: s.name!, sha256: sha });
  }
  if (!binaries.length) throw bad("at least one kubelet subject");
  const internal = st.predicate?.buildDefinition?.internalParameters;
  const patches = (st.predicate?.buildDefinition?.resolvedDependencies ?? [])
    .filter((d) => d.name?.startsWith("patch:") && d.digest?.sha256)
    .map((d) => ({ name: d.name!.slice("patch:".length), sha256: d.digest!.sha256! }));
  const pin: Pin = {
    commit: ext?.source?.commit ?? "",
    image: internal?.image?.ref ?? "",
    sha256: Object.fromEntries(binaries.map((b) => [b.platform, b.sha256])),
  };
  if (internal?.image?.id) pin.imageId = internal.image.id;
  if (ext?.strategy) pin.strategy = ext.strategy as Pin["strategy"];
  if (patches.length) pin.patches = patches;
  return { version, binaries, pin };
}

export async function readPublishedBuild(dir: string): Promise<PublishedBuild> {
  await settlePublication(dir); // a build killed while renaming into dir is finished first, never read half-way
  const path = join(dir, "manifest.json");
  let text: string;
  try {
    text = await readRegularText(path, { maxBytes: 16 * 1024 * 1024 });
  } catch (err) {
    const found = describeReadFailure(err);
    throw new UsageError("E_OUT_DIR", `expected a build output folder with manifest.json at ${dir}, found ${found === "no file" ? "no manifest.json" : `manifest.json is ${found}`}`, "pass the --out folder of `kubelet-nokmem build`");
  }
  return { dir, ...parseManifest(text, path) };
}
