/**
 * One verdict for the node from its findings: leaking (the leak is visible now),
 * at-risk (it can start), healthy (it cannot, or nothing turns kmem on), or
 * unknown (the kernel could not be judged and nothing else settles it).
 */
import { isNokmem, type Verdict } from "../verdict.js";
import type { KernelRisk } from "./kernel.js";
import type { KmemState } from "./kmem.js";
import { severityRank, type Finding, type FindingId, type NodeVerdict } from "./types.js";

export interface VerdictInputs {
  risk: KernelRisk;
  /** cgroup.memory=nokmem or cgroup_disable=memory on the command line. */
  bootProtected: boolean;
  kmemBuiltIn: boolean | null;
  kmem: KmemState;
  kubelet: Verdict | null;
  runc: Verdict | null;
  findings: Finding[];
}

interface VerdictDecision {
  verdict: NodeVerdict;
  /** The finding that decided it (the summary leads with it). */
  because: Finding | null;
}

/** Findings that show the leak itself rather than the conditions for it. */
const LEAK_EVIDENCE: FindingId[] = ["memory-cgroup-ids", "memory-cgroup-gap", "kernel-log"];

/**
 * Whether kmem accounting cannot leak on this boot. A boot parameter that the
 * kubepods check contradicts does not count: old kernels ignore it.
 */
export function leakImpossible(i: Pick<VerdictInputs, "bootProtected" | "kmemBuiltIn" | "kmem">): boolean {
  return (i.bootProtected && i.kmem !== "on") || i.kmemBuiltIn === false || i.kmem === "cgroup-v2";
}

function worst(findings: Finding[], ids?: FindingId[]): Finding | null {
  let best: Finding | null = null;
  for (const f of findings) {
    if (ids && !ids.includes(f.id)) continue;
    if (!best || severityRank(f.severity) > severityRank(best.severity)) best = f;
  }
  return best;
}

const find = (findings: Finding[], id: FindingId) => findings.find((f) => f.id === id) ?? null;

export function decideVerdict(i: VerdictInputs): VerdictDecision {
  const leak = worst(i.findings.filter((f) => LEAK_EVIDENCE.includes(f.id) && (f.severity === "warning" || f.severity === "critical")));
  if (leak) return { verdict: "leaking", because: leak };
  if (leakImpossible(i)) {
    const why =
      i.kmem === "cgroup-v2" ? find(i.findings, "kubepods-kmem") : i.bootProtected ? find(i.findings, "boot-nokmem") : find(i.findings, "kernel-config-kmem");
    return { verdict: "healthy", because: why };
  }
  if (i.risk === "none") return { verdict: "healthy", because: find(i.findings, "kernel-release") };
  if (i.risk === "unknown") return { verdict: "unknown", because: find(i.findings, "kernel-release") };
  // A kernel that leaks, booted without protection: at risk unless nothing turns kmem on.
  if (i.kmem === "off" && isNokmem(i.kubelet) && isNokmem(i.runc)) {
    return { verdict: "healthy", because: find(i.findings, "kubepods-kmem") };
  }
  return { verdict: "at-risk", because: worst(i.findings, ["kubepods-kmem", "kubelet-binary", "runc-binary", "kernel-release"]) };
}
