/**
 * How the kernel was booted and built: `cgroup.memory=nokmem` (or memcg
 * disabled altogether) on /proc/cmdline, and CONFIG_MEMCG_KMEM in the boot
 * config. Pure functions over the files' text.
 */
import type { KernelRisk } from "./kernel.js";
import type { KernelRelease } from "./types.js";
import { remedies } from "./remedy.js";
import { describeUnusable, type Finding, type NodeRead } from "./types.js";

interface CmdlineFacts {
  /** `cgroup.memory=...nokmem...` is on the command line. */
  nokmem: boolean;
  /** `cgroup_disable=memory`: no memory cgroups at all, so nothing to leak. */
  memcgDisabled: boolean;
}

export function parseCmdline(text: string): CmdlineFacts {
  const params = text.trim().split(/\s+/);
  const values = (key: string) => params.filter((p) => p.startsWith(`${key}=`)).flatMap((p) => p.slice(key.length + 1).split(","));
  return {
    nokmem: values("cgroup.memory").includes("nokmem"),
    memcgDisabled: values("cgroup_disable").includes("memory"),
  };
}

export function assessCmdline(read: NodeRead, risk: KernelRisk): { facts: CmdlineFacts | null; finding: Finding } {
  const id = "boot-nokmem" as const;
  if (read.state !== "ok") {
    return {
      facts: null,
      finding: {
        id,
        severity: "unknown",
        title: `boot parameters unknown: ${read.state === "missing" ? "cmdline not found" : read.reason}`,
        evidence: [describeUnusable(read)],
        remedy: null,
      },
    };
  }
  const facts = parseCmdline(read.text);
  const shown = read.text.trim().length > 200 ? `${read.text.trim().slice(0, 200)}…` : read.text.trim();
  const evidence = [`${read.path}: ${shown}`];
  if (facts.memcgDisabled) {
    return { facts, finding: { id, severity: "ok", title: "booted with cgroup_disable=memory: no memory cgroups to leak", evidence, remedy: null } };
  }
  if (facts.nokmem) {
    return { facts, finding: { id, severity: "ok", title: "booted with cgroup.memory=nokmem: kmem accounting is off", evidence, remedy: null } };
  }
  switch (risk) {
    case "none":
      return { facts, finding: { id, severity: "ok", title: "cgroup.memory=nokmem not set (not needed on this kernel)", evidence, remedy: null } };
    case "unknown":
      return { facts, finding: { id, severity: "info", title: "cgroup.memory=nokmem not set", evidence, remedy: remedies.bootParameter() } };
    default:
      return {
        facts,
        finding: { id, severity: "warning", title: "cgroup.memory=nokmem not set on a kernel that leaks", evidence, remedy: remedies.bootParameter() },
      };
  }
}

/** CONFIG_MEMCG_KMEM from a kernel config: true (=y), false (not set), null (not mentioned). */
export function parseKmemConfig(text: string): { kmem: boolean | null; memcg: boolean | null } {
  const flag = (name: string): boolean | null => {
    if (new RegExp(`^${name}=[ym]\\s*$`, "m").test(text)) return true;
    if (new RegExp(`^# ${name} is not set\\s*$`, "m").test(text)) return false;
    return null;
  };
  return { kmem: flag("CONFIG_MEMCG_KMEM"), memcg: flag("CONFIG_MEMCG") };
}

/** The boot config is optional evidence: absent is `info`, not `unknown`. */
export function assessKmemConfig(read: NodeRead | null, release: KernelRelease | null): { kmemBuiltIn: boolean | null; finding: Finding } {
  const id = "kernel-config-kmem" as const;
  if (!read || !release) {
    return { kmemBuiltIn: null, finding: { id, severity: "info", title: "kernel config not checked: kernel release unknown", evidence: [], remedy: null } };
  }
  if (read.state === "missing") {
    return {
      kmemBuiltIn: null,
      finding: {
        id,
        severity: "info",
        title: `no boot config for ${release.raw} (checked only when present)`,
        evidence: [describeUnusable(read)],
        remedy: null,
      },
    };
  }
  if (read.state !== "ok") {
    return {
      kmemBuiltIn: null,
      finding: { id, severity: "info", title: `boot config unreadable: ${read.reason}`, evidence: [describeUnusable(read)], remedy: null },
    };
  }
  const { kmem, memcg } = parseKmemConfig(read.text);
  if (memcg === false) {
    return {
      kmemBuiltIn: false,
      finding: {
        id,
        severity: "ok",
        title: "kernel built without memory cgroups (CONFIG_MEMCG not set)",
        evidence: [`${read.path}: # CONFIG_MEMCG is not set`],
        remedy: null,
      },
    };
  }
  if (kmem === false) {
    return {
      kmemBuiltIn: false,
      finding: {
        id,
        severity: "ok",
        title: "kernel built without kmem accounting (CONFIG_MEMCG_KMEM not set)",
        evidence: [`${read.path}: # CONFIG_MEMCG_KMEM is not set`],
        remedy: null,
      },
    };
  }
  if (kmem === true) {
    return {
      kmemBuiltIn: true,
      finding: {
        id,
        severity: "info",
        title: "kernel built with kmem accounting (CONFIG_MEMCG_KMEM=y)",
        evidence: [`${read.path}: CONFIG_MEMCG_KMEM=y`],
        remedy: null,
      },
    };
  }
  return {
    kmemBuiltIn: null,
    finding: {
      id,
      severity: "info",
      title: "boot config does not mention CONFIG_MEMCG_KMEM",
      evidence: [`${read.path}: no CONFIG_MEMCG_KMEM line`],
      remedy: null,
    },
  };
}
