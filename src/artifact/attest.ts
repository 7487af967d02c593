/**
 * What a build publishes beside its binaries (kubelets, or the runtime's
 * runc: the product is part of the input and of every Statement) to say what
 * they are:
 *
 *   OUT/manifest.json            SLSA provenance Statement (manifest.ts)
 *   OUT/verdict.json             nokmem verdict Statement (manifest.ts)
 *   OUT/<os>/<arch>/sbom.cdx.json  CycloneDX SBOM per binary (sbom.ts)
 *   OUT/manifest.dsse.json       DSSE envelope of manifest.json  } with
 *   OUT/verdict.dsse.json        DSSE envelope of verdict.json   } --sign-key
 *
 * Each envelope's payload is byte for byte the Statement file beside it.
 * outdir.ts reads them back.
 */
import { createHash } from "node:crypto";
import { realpath, stat } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { sha256File } from "./checksums.js";
import { envelopeFile } from "./keys.js";
import { signEnvelope, type SigningKey } from "./dsse.js";
import type { Statement } from "./intoto.js";
import { MANIFEST_FILE, provenanceStatement, statementBytes, VERDICT_FILE, verdictStatement, type ProvenanceInput, type VerdictPredicate } from "./manifest.js";
import { productSbom, SBOM_FILE, type LinkedModules, type NokmemChange } from "./sbom.js";
import { writeFileAtomic } from "../io/atomic.js";
import { readVendoredModules } from "../tree/vendored-modules.js";

const sbomFile = (platform: string) => `${platform}/${SBOM_FILE}`;
const VERIFIER_ID = "https://github.com/kubelet-nokmem/kubelet-nokmem/verifiers/audit/v1";

// ── writing

interface AttestationInput extends Omit<ProvenanceInput, "goBinary" | "subjects"> {
  /** Each kubelet: its platform, its name under --out and its digest. */
  subjects: { platform: string; name: string; sha256: string }[];
  /** The staged (patched) tree: its vendored modules go into the SBOMs. */
  tree: string;
  /** What made the kubelets nokmem, as the strategy declares it (with the applied patches' text for `patches`). */
  change: NokmemChange;
  verdict: {
    verdict: VerdictPredicate["verdict"];
    binaries: {
      platform: string;
      verdict: VerdictPredicate["binaries"][number]["verdict"];
      gitVersion?: string;
      runcVersion?: { version: string; commit: string | null };
      evidence: VerdictPredicate["binaries"][number]["evidence"];
    }[];
  };
  /** Per platform: the modules its binary's Go build info lists as linked (the SBOM's dependsOn), or why none are known. */
  linked: Record<string, LinkedModules>;
  signKey: SigningKey | null;
  /** Where a file published as `rel` is written before the publication commits (Publication.stagedPath). */
  stage: (rel: string) => Promise<string>;
}

/** Write the SBOMs, both Statements and (when signing) their envelopes; returns the names to publish, in order. */
export async function writeAttestations(a: AttestationInput): Promise<string[]> {
  const files: string[] = [];
  const put = async (rel: string, data: string | Buffer) => {
    await writeFileAtomic(await a.stage(rel), data);
    files.push(rel);
  };
  const vendored = await readVendoredModules(a.tree);
  const sbomDigests = [];
  for (const s of a.subjects) {
    const linked = a.linked[s.platform] ?? { known: false as const, reason: "the build's verify step did not read the binary's Go build information" };
    const text = productSbom({
      product: a.product,
      version: a.version,
      platform: s.platform,
      sha256: s.sha256,
      strategy: a.strategy,
      go: a.go,
      vendored,
      linked,
      change: a.change,
      tool: a.tool,
      timestamp: a.finishedOn,
    });
    await put(sbomFile(s.platform), text);
    sbomDigests.push({
      name: sbomFile(s.platform),
      digest: { sha256: await sha256File(await a.stage(sbomFile(s.platform))) },
      mediaType: "application/vnd.cyclonedx+json",
    });
  }
  const subjects = a.subjects.map((s) => ({ name: s.name, sha256: s.sha256 }));
  const verdict = verdictStatement(subjects, {
    product: a.product,
    // A kubelet's release as Kubernetes tags it (v1.20.2), runc's as its VERSION file says it (1.0.0-rc93).
    release: a.product === "runc" ? a.version : `v${a.version}`,
    strategy: a.strategy,
    verdict: a.verdict.verdict,
    binaries: a.verdict.binaries.map((b) => ({
      name: `${b.platform}/${a.product}`,
      verdict: b.verdict,
      ...(b.gitVersion ? { gitVersion: b.gitVersion } : {}),
      ...(b.runcVersion ? { runcVersion: b.runcVersion } : {}),
      evidence: b.evidence,
    })),
    verifier: { id: VERIFIER_ID, version: { [a.tool.name]: a.tool.version } },
    timeVerified: a.finishedOn.toISOString(),
  });
  const goBinary = a.runner === "local" ? await findGo() : null;
  // The verdict's digest in the provenance: a verifier holding the signed manifest notices a changed verdict.json (outdir.ts).
  const verdictDigest = {
    name: VERDICT_FILE,
    digest: { sha256: createHash("sha256").update(statementBytes(verdict)).digest("hex") },
    mediaType: "application/vnd.in-toto+json",
  };
  const provenance = provenanceStatement({ ...a, subjects, goBinary, byproducts: [...a.byproducts, ...sbomDigests, verdictDigest] });
  const statements: [string, Statement<unknown>][] = [
    [VERDICT_FILE, verdict],
    [MANIFEST_FILE, provenance],
  ];
  for (const [file, st] of statements) {
    const bytes = statementBytes(st);
    await put(file, bytes);
    if (a.signKey) await put(envelopeFile(file), `${JSON.stringify(signEnvelope(bytes, a.signKey))}\n`);
  }
  return files;
}

/** The `go` that `--runner local` ran: the first on PATH, resolved through symlinks. */
async function findGo(): Promise<{ path: string; sha256: string } | null> {
  for (const dir of (process.env.PATH ?? "").split(delimiter).filter(Boolean)) {
    const candidate = join(dir, "go");
    const st = await stat(candidate).catch(() => null);
    if (st?.isFile() && st.mode & 0o111) {
      const path = await realpath(candidate);
      return { path, sha256: await sha256File(path) };
    }
  }
  return null;
}
