/**
 * Is kmem accounting active on the kubepods memory cgroup? On the affected
 * kernels `memory.kmem.slabinfo` answers a read with EIO while kmem is off and
 * with the slab table once it has been turned on; `memory.kmem.usage_in_bytes`
 * stays 0 while it is off. Children inherit the activation, so kubepods speaks
 * for every pod under it.
 */
import type { KernelRisk } from "./kernel.js";
import { describeUnusable, type Finding, type NodeRead, type Severity } from "./types.js";

/** Where kubelet puts its memory cgroup: cgroupfs driver, then systemd driver. */
export const KUBEPODS_CGROUPS = ["/sys/fs/cgroup/memory/kubepods", "/sys/fs/cgroup/memory/kubepods.slice"] as const;

export type KmemState = "on" | "off" | "cgroup-v2" | "unknown";

interface KubepodsReads {
  /** The kubepods cgroup found, or null when none of KUBEPODS_CGROUPS exists. */
  cgroup: string | null;
  /** /sys/fs/cgroup is a cgroup v2 mount (cgroup.controllers at its top, no memory/). */
  cgroupV2: boolean;
  slabinfo: NodeRead | null;
  usage: NodeRead | null;
}

export function assessKubepodsKmem(reads: KubepodsReads, risk: KernelRisk, bootNokmem: boolean, remedy: string): { state: KmemState; finding: Finding } {
  const id = "kubepods-kmem" as const;
  if (reads.cgroupV2) {
    return {
      state: "cgroup-v2",
      finding: {
        id,
        severity: "ok",
        title: "cgroup v2: no kmem limit for kubelet to turn on",
        evidence: ["/sys/fs/cgroup/cgroup.controllers: present"],
        remedy: null,
      },
    };
  }
  if (!reads.cgroup || !reads.slabinfo || !reads.usage) {
    return {
      state: "unknown",
      finding: {
        id,
        severity: "unknown",
        title: "kmem on kubepods unknown: no kubepods memory cgroup (kubelet not running, or another --cgroup-root)",
        evidence: KUBEPODS_CGROUPS.map((p) => `${p}: not found`),
        remedy: null,
      },
    };
  }
  const evidence: string[] = [];
  let fromSlabinfo: "on" | "off" | null = null;
  const s = reads.slabinfo;
  if (s.state === "ok") {
    fromSlabinfo = "on";
    evidence.push(`${s.path}: readable (${JSON.stringify(s.text.split("\n")[0]!.slice(0, 40))})`);
  } else if (s.state === "missing") {
    // A kernel built without CONFIG_MEMCG_KMEM has no memory.kmem.* files at all.
    fromSlabinfo = "off";
    evidence.push(describeUnusable(s));
  } else if (s.cause === "io-error") {
    fromSlabinfo = "off";
    evidence.push(`${s.path}: ${s.reason} (kmem accounting off)`);
  } else {
    evidence.push(describeUnusable(s));
  }
  let usage: number | null = null;
  const u = reads.usage;
  if (u.state === "ok" && /^\d+\s*$/.test(u.text)) {
    usage = Number(u.text.trim());
    evidence.push(`${u.path}: ${usage}`);
  } else {
    evidence.push(u.state === "ok" ? `${u.path}: not a number: ${JSON.stringify(u.text.slice(0, 30))}` : describeUnusable(u));
  }
  // Usage above zero proves accounting, whatever slabinfo said.
  const state: KmemState = (usage ?? 0) > 0 ? "on" : (fromSlabinfo ?? (usage === 0 ? "off" : "unknown"));
  switch (state) {
    case "off":
      return { state, finding: { id, severity: "ok", title: `kmem accounting off on ${reads.cgroup}`, evidence, remedy: null } };
    case "unknown":
      return {
        state,
        finding: { id, severity: "unknown", title: `kmem on ${reads.cgroup} unknown: neither slabinfo nor usage could be read`, evidence, remedy: null },
      };
    case "on": {
      const severity: Severity = risk === "none" ? "info" : risk === "strong" || risk === "affected" ? "critical" : "warning";
      const despite = bootNokmem ? " despite cgroup.memory=nokmem (the kernel ignores it)" : "";
      const title = `kmem accounting on for ${reads.cgroup}${despite}${risk === "none" ? " (harmless on this kernel)" : ": every pod cgroup under it leaks when deleted"}`;
      return { state, finding: { id, severity, title, evidence, remedy: severity === "info" ? null : remedy } };
    }
  }
}
