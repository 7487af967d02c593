/**
 * The node's kubelet and the runtime's runc, judged by a BinaryAuditor the
 * doctor is given. The auditor decides patched / unpatched; this module finds
 * the binaries and turns the audit into findings.
 */
import type { KernelRisk } from "./kernel.js";
import { remedies } from "./remedy.js";
import type { Finding, Severity } from "./types.js";
import type { Verdict } from "../verdict.js";

export interface BinaryAudit {
  verdict: Verdict;
  /** "1.17.9" when the auditor could read the version stamp. */
  kubernetesVersion?: string;
  /** runc's `runc --version` stamp ("1.0.0-rc93") when the auditor could read it. */
  runcVersion?: string;
  evidence: { id: string; detail?: string }[];
  /** The binary's pin check against the catalog, when the auditor made one. */
  pin?: "match" | "mismatch" | "unpinned";
}

/** Judge one binary on this machine. Must not run it; may throw (the doctor reports unknown). */
export type BinaryAuditor = (path: string) => Promise<BinaryAudit>;

/** Where kubelet lives on the usual distributions and installers. */
export const KUBELET_PATHS = ["/usr/bin/kubelet", "/usr/local/bin/kubelet", "/opt/bin/kubelet"] as const;
/** runc, and the names Docker packages used for their own copy (docker-runc on 17.x/18.x, RHEL's docker 1.13). */
export const RUNC_PATHS = [
  "/usr/bin/runc",
  "/usr/sbin/runc",
  "/usr/local/bin/runc",
  "/usr/local/sbin/runc",
  "/usr/bin/docker-runc",
  "/usr/libexec/docker/docker-runc-current",
] as const;

export type BinaryKind = "kubelet" | "runc";

export interface BinaryResult {
  kind: BinaryKind;
  /** The node path audited, or null when none was found. */
  path: string | null;
  /** Paths looked at when none was found. */
  searched: string[];
  audit: BinaryAudit | null;
  /** Why the audit could not be done. */
  error: string | null;
}

export function assessBinary(r: BinaryResult, risk: KernelRisk, protectedNow: boolean): Finding {
  const id = r.kind === "kubelet" ? "kubelet-binary" : "runc-binary";
  if (!r.path) {
    return { id, severity: "unknown", title: `no ${r.kind} found (pass --${r.kind} PATH)`, evidence: r.searched.map((p) => `${p}: not found`), remedy: null };
  }
  if (!r.audit) {
    return {
      id,
      severity: "unknown",
      title: `${r.kind} ${r.path} not audited: ${r.error ?? "no result"}`,
      evidence: [`${r.path}: ${r.error ?? "no result"}`],
      remedy: null,
    };
  }
  const a = r.audit;
  const evidence = [
    `${r.path}: ${a.verdict}${a.kubernetesVersion ? ` (v${a.kubernetesVersion.replace(/^v/, "")})` : ""}`,
    ...a.evidence.map((e) => `${e.id}${e.detail ? `: ${e.detail}` : ""}`),
  ];
  const version = a.kubernetesVersion ? ` v${a.kubernetesVersion.replace(/^v/, "")}` : a.runcVersion ? ` ${a.runcVersion}` : "";
  switch (a.verdict) {
    case "patched":
      return { id, severity: "ok", title: `${r.kind}${version} never enables kmem (nokmem build)`, evidence, remedy: null };
    case "not-affected":
      return { id, severity: "ok", title: `${r.kind}${version} has no kmem-enabling code`, evidence, remedy: null };
    case "unknown":
      return { id, severity: "unknown", title: `${r.kind}${version}: kmem behaviour could not be told from the binary`, evidence, remedy: null };
    case "unpatched": {
      const severity: Severity = protectedNow || risk === "none" ? "info" : risk === "strong" || risk === "affected" ? "critical" : "warning";
      const remedy = r.kind === "kubelet" ? remedies.nokmemKubelet(a.kubernetesVersion, r.path) : remedies.nokmemRunc(r.path, a.runcVersion);
      const harmless = severity === "info" ? " (harmless here: kmem cannot leak on this node)" : "";
      return { id, severity, title: `${r.kind}${version} enables kmem accounting${harmless}`, evidence, remedy: severity === "info" ? null : remedy };
    }
  }
}
