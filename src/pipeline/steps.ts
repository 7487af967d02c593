/**
 * The two steps of a build that other stages own, as interfaces:
 *  - PatchStep (src/patch/): applies the strategy's patch series to the staged
 *    tree and writes the clean version file.
 *  - VerifyStep (src/audit/): inspects the built kubelet and gives the audit's
 *    verdict on it (src/verdict.ts: patched means nokmem).
 *
 * The defaults are the real ones: `enginePatchStep` is the patch engine's
 * applyStrategy (the same as `kubelet-nokmem patch`), `auditVerifyStep` runs
 * the audit's detectors (the same as `kubelet-nokmem audit`). Tests may pass
 * other steps through BuildSteps.
 */
import type { LinkedModules } from "../artifact/sbom.js";
import type { GoBuildInfo } from "../audit/buildinfo.js";
import { auditFile } from "../audit/index.js";
import { BuildError } from "../errors.js";
import { applyStrategy, type PatchTarget } from "../patch/engine.js";
import type { Verdict } from "../verdict.js";
import type { Catalog } from "../catalog/types.js";
import type { TreeFacts } from "../tree/assess.js";

interface PatchOptions {
  /** Absolute path where the version file must be written (KUBE_GIT_VERSION_FILE). */
  versionFile: string;
  /** "v1.16.15" */
  gitVersion: string;
  /** Source commit, when known. */
  commit: string | null;
  /** The staged tree's facts, read once by the stage step. */
  facts: TreeFacts;
  /** SIGINT/SIGTERM: ends a wait for the staged tree's lock, honoured between the engine's steps. */
  signal?: AbortSignal;
}

export interface PatchOutcome {
  versionFile: string;
  /** Each applied patch with the sha256 of its patch file (for the provenance) and its text (for the SBOMs). */
  patches: { name: string; sha256: string; text: string }[];
}

/** Apply the plan's series for its release to the staged tree and write the version file. */
export type PatchStep = (tree: string, target: PatchTarget, opts: PatchOptions) => Promise<PatchOutcome>;

export interface Evidence {
  check: string;
  found: boolean;
  detail?: string;
}

export interface VerifyOutcome {
  /** The audit's verdict, in its words: a build must find `patched` (or `not-affected` for a release that never enables kmem). */
  verdict: Verdict;
  evidence: Evidence[];
  /**
   * The gitVersion the binary is stamped with, when read from its symbols or
   * recorded ldflags (not a heuristic guess); undefined when unknown.
   */
  gitVersion?: string;
  /** sha256 of the binary, when the verifier read it whole (the audit does). */
  sha256?: string;
  /** The modules the binary's Go build info lists as linked in (for the SBOM's dependsOn), or why it lists none. */
  linked?: LinkedModules;
  /** What the audit found the binary to be (kubelet, runc, other), when it tells. */
  program?: string | null;
  /** A runc's `runc --version` stamp, as the audit read it. */
  runcVersion?: { version: string; commit: string | null; source: "symbols" | "buildinfo-ldflags" | "heuristic" } | null;
}

export type VerifyStep = (binary: string) => Promise<VerifyOutcome>;

/**
 * The binary must carry the clean version: `v1.16.15` present and no
 * `v1.16.15-dirty` (a patched tree without the version file stamps -dirty).
 */
export function checkVersionStamp(bytes: Buffer, gitVersion: string): { ok: boolean; found: string } {
  if (bytes.includes(`${gitVersion}-dirty`)) return { ok: false, found: `${gitVersion}-dirty` };
  if (!bytes.includes(gitVersion)) return { ok: false, found: "no version string" };
  // A longer version with our prefix (v1.16.1 inside v1.16.15) must not count.
  let at = bytes.indexOf(gitVersion);
  while (at >= 0) {
    const next = bytes[at + gitVersion.length];
    if (next === undefined || !/[0-9]/.test(String.fromCharCode(next))) return { ok: true, found: gitVersion };
    at = bytes.indexOf(gitVersion, at + 1);
  }
  return { ok: false, found: "no exact version string" };
}

/**
 * What the Go build info says was linked: the `dep` lines' module paths. A
 * GOPATH-mode build (how every Kubernetes release up to 1.24 builds) records
 * no main module and no deps, and that is not "no dependencies".
 */
export function linkedModules(info: GoBuildInfo | null): LinkedModules {
  if (!info) return { known: false, reason: "the binary carries no Go build information" };
  if (!info.main) return { known: false, reason: "the binary's Go build information has no module list (a GOPATH-mode build)" };
  return { known: true, paths: info.deps.map((d) => d.split(" ")[0]!).filter(Boolean) };
}

export interface BuildSteps {
  patch: PatchStep;
  verify: VerifyStep;
}

/** VerifyStep backed by the audit's detectors (ELF sections, build info, stamped version, markers). */
function auditVerifyStep(catalog: Catalog): VerifyStep {
  return async (binary) => {
    const report = await auditFile(binary, { catalog });
    const evidence: Evidence[] = report.evidence.map((e) => ({ check: e.id, found: e.kind !== "absence", detail: e.detail }));
    for (const r of report.reasons) evidence.push({ check: "reason", found: true, detail: r });
    for (const e of report.errors) evidence.push({ check: `error:${e.code}`, found: true, detail: e.message });
    const stamped = report.kubernetesVersion;
    const exact = stamped && stamped.source !== "heuristic" && stamped.gitVersion ? { gitVersion: stamped.gitVersion } : {};
    return {
      verdict: report.verdict,
      evidence,
      ...exact,
      ...(report.sha256 ? { sha256: report.sha256 } : {}),
      linked: linkedModules(report.goBuildInfo),
      program: report.program,
      runcVersion: report.runcVersion,
    };
  };
}

/**
 * PatchStep backed by the patch engine. The engine writes every file by
 * temp + rename, which replaces a hard-linked file instead of writing through
 * the link, so a staged tree's links to the user's files stay untouched (no
 * link needs breaking first). The version file must stamp the plan's version.
 */
const enginePatchStep: PatchStep = async (tree, target, opts) => {
  const record = await applyStrategy(tree, target, {
    versionFile: opts.versionFile,
    facts: opts.facts,
    signal: opts.signal,
    ...(opts.commit ? { commit: opts.commit } : {}),
  });
  const stamped = record.versionFile?.gitVersion;
  if (stamped !== undefined && stamped !== opts.gitVersion) {
    throw new BuildError(
      "E_VERSION_STAMP",
      `expected the version file to stamp ${opts.gitVersion}, found ${stamped}`,
      "report this: the plan and the patch engine disagree on the release",
    );
  }
  return { versionFile: record.versionFile?.path ?? opts.versionFile, patches: record.patches };
};

export function defaultSteps(catalog: Catalog): BuildSteps {
  return { patch: enginePatchStep, verify: auditVerifyStep(catalog) };
}
