/**
 * The two steps of a build that other stages own, as interfaces:
 *  - PatchStep (src/patch/): applies the strategy's patch series to the staged
 *    tree and writes the clean version file.
 *  - VerifyStep (src/audit/): inspects the built kubelet and says whether it is nokmem.
 *
 * The defaults are the real ones: `enginePatchStep` is the patch engine's
 * applyStrategy (the same as `kubelet-nokmem patch`), `auditVerifyStep` runs
 * the audit's detectors (the same as `kubelet-nokmem audit`). Two minimal
 * steps stay for tests that need the pipeline without those stages:
 * `versionFileOnlyPatchStep` writes the version file and applies no patch,
 * `markerStringVerifyStep` looks for the marker strings of DOMAIN.md only.
 */
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { auditFile } from "../audit/index.js";
import { applyStrategy } from "../patch/engine.js";
import type { Resolution } from "../catalog/resolve.js";
import type { Catalog } from "../catalog/types.js";
import { writeFileAtomic } from "../io/atomic.js";

export interface PatchOptions {
  /** Absolute path where the version file must be written (KUBE_GIT_VERSION_FILE). */
  versionFile: string;
  /** "v1.16.15" */
  gitVersion: string;
  /** Source commit, when known. */
  commit: string | null;
  /** Call before writing any file of the tree: it may be hard-linked to the user's own copy. */
  breakLink: (path: string) => Promise<boolean>;
  signal?: AbortSignal;
}

export interface PatchOutcome {
  versionFile: string;
  /** Each applied patch with the sha256 of its patch file (for the provenance). */
  patches: { name: string; sha256: string }[];
}

export type PatchStep = (tree: string, res: Resolution, opts: PatchOptions) => Promise<PatchOutcome>;

/**
 * - nokmem: the binary cannot enable kmem accounting
 * - kmem-enabled: it can (the build must fail)
 * - not-affected: the release never enables kmem, nothing to verify
 * - unknown: the evidence does not decide
 */
export type Verdict = "nokmem" | "kmem-enabled" | "not-affected" | "unknown";

export interface Evidence {
  check: string;
  found: boolean;
  detail?: string;
}

export interface VerifyOutcome {
  verdict: Verdict;
  evidence: Evidence[];
}

export type VerifyStep = (binary: string, res: Resolution) => Promise<VerifyOutcome>;

/** The version file hack/lib/version.sh sources when KUBE_GIT_VERSION_FILE is set (DOMAIN.md, version stamping). */
export function versionFileContent(gitVersion: string, commit: string | null): string {
  const m = /^v(\d+)\.(\d+)\./.exec(gitVersion);
  if (!m) throw new Error(`not a release version: ${gitVersion}`);
  const vars: [string, string][] = [
    ["KUBE_GIT_COMMIT", commit ?? ""],
    ["KUBE_GIT_TREE_STATE", "clean"],
    ["KUBE_GIT_VERSION", gitVersion],
    ["KUBE_GIT_MAJOR", m[1]!],
    ["KUBE_GIT_MINOR", m[2]!],
  ];
  return vars.map(([k, v]) => `${k}='${v.replace(/'/g, "'\\''")}'\n`).join("");
}

/** Stand-in PatchStep: writes the clean version file, applies no patch. */
export const versionFileOnlyPatchStep: PatchStep = async (_tree, _res, opts) => {
  await mkdir(dirname(opts.versionFile), { recursive: true });
  await writeFileAtomic(opts.versionFile, versionFileContent(opts.gitVersion, opts.commit));
  return { versionFile: opts.versionFile, patches: [] };
};

export const MARKERS = {
  /** Written by the enabling code (runc rc3 … rc93). */
  kmemLimitFile: "memory.kmem.limit_in_bytes",
  /** Error text of the enabling code path. */
  childrenJoined: "failed to set %s, because either tasks have already joined this cgroup or it has children",
  /** rc7+ enabled variant. */
  notSupported: "kernel memory accounting not supported by this kernel",
  /** rc7+ disabled variant (kmem_disabled.go). */
  disabledBuild: "kernel memory accounting disabled in this runc build",
} as const;

/** Judge a binary's bytes by the marker strings (DOMAIN.md, "Telling a nokmem kubelet from a normal one"). Pure. */
export function judgeByMarkers(bytes: Buffer, res: Pick<Resolution, "affected" | "kmemLayout">): VerifyOutcome {
  const evidence: Evidence[] = Object.entries(MARKERS).map(([check, s]) => ({ check: `string:${check}`, found: bytes.includes(s), detail: s }));
  const found = (k: keyof typeof MARKERS) => evidence.find((e) => e.check === `string:${k}`)!.found;
  if (!res.affected) return { verdict: "not-affected", evidence };
  if (found("kmemLimitFile") || found("childrenJoined") || found("notSupported")) return { verdict: "kmem-enabled", evidence };
  if (found("disabledBuild")) return { verdict: "nokmem", evidence };
  // Stubbed pre-split and rc6 disabled builds are known only by what is absent.
  if (res.kmemLayout === "pre-split" || res.kmemLayout === "split-rc6") return { verdict: "nokmem", evidence };
  return { verdict: "unknown", evidence };
}

/** Stand-in VerifyStep: the marker strings only. */
export const markerStringVerifyStep: VerifyStep = async (binary, res) => judgeByMarkers(await readFile(binary), res);

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

export interface BuildSteps {
  patch: PatchStep;
  verify: VerifyStep;
}

/** The audit's verdicts in the build's terms. */
const FROM_AUDIT: Record<string, Verdict> = { patched: "nokmem", unpatched: "kmem-enabled", "not-affected": "not-affected", unknown: "unknown" };

/** VerifyStep backed by the audit's detectors (ELF sections, build info, stamped version, markers). */
export function auditVerifyStep(catalog: Catalog): VerifyStep {
  return async (binary) => {
    const report = await auditFile(binary, { catalog });
    const evidence: Evidence[] = report.evidence.map((e) => ({ check: e.id, found: e.kind !== "absence", detail: e.detail }));
    for (const r of report.reasons) evidence.push({ check: "reason", found: true, detail: r });
    for (const e of report.errors) evidence.push({ check: `error:${e.code}`, found: true, detail: e.message });
    return { verdict: FROM_AUDIT[report.verdict] ?? "unknown", evidence };
  };
}

/**
 * PatchStep backed by the patch engine. The engine writes every file by
 * temp + rename, which replaces a hard-linked file instead of writing through
 * the link, so a staged tree's links to the user's files stay untouched.
 */
export const enginePatchStep: PatchStep = async (tree, res, opts) => {
  const record = await applyStrategy(tree, res, { versionFile: opts.versionFile, ...(opts.commit ? { commit: opts.commit } : {}) });
  return { versionFile: record.versionFile?.path ?? opts.versionFile, patches: record.patches };
};

export function defaultSteps(catalog: Catalog): BuildSteps {
  return { patch: enginePatchStep, verify: auditVerifyStep(catalog) };
}
