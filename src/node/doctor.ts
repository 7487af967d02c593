/**
 * examineNode(): read what the node offers (through HostFiles only), run the
 * pure checks, and decide. Reads, never writes.
 */
import { assessBinary, KUBELET_PATHS, RUNC_PATHS, type BinaryAudit, type BinaryAuditor, type BinaryKind, type BinaryResult } from "./binaries.js";
import type { Verdict } from "../verdict.js";
import { assessCmdline, assessKmemConfig } from "./boot.js";
import { assessCgroupGap, assessCgroupIds, MEMCG_ID_LIMIT } from "./cgroups.js";
import { HostFiles, scanLocalTail, type ScanResult } from "./host-files.js";
import { assessKernel } from "./kernel.js";
import { assessKubepodsKmem, KUBEPODS_CGROUPS } from "./kmem.js";
import { assessKernelLog, assessSlab, LOG_LINE_WANTED, newLogScan, parseMeminfo, scanLogLine, type KernelLogScan } from "./memory.js";
import type { KmemState } from "./kmem.js";
import type { KernelRisk } from "./kernel.js";
import { remedies } from "./remedy.js";
import type { Finding, NodeRead, NodeVerdict } from "./types.js";
import { decideVerdict, leakImpossible } from "./node-verdict.js";

const MEMORY_CGROUP_ROOT = "/sys/fs/cgroup/memory";
/** Logs can be gigabytes; the leak's messages repeat, so the recent end suffices. */
const LOG_TAIL_BYTES = 64 * 1024 * 1024;
const KERNEL_LOGS = ["/var/log/messages", "/var/log/kern.log"] as const;

interface DoctorOptions {
  /** Where the node's filesystem is mounted ("/" on the node itself). */
  root: string;
  /** A kubelet / runc / dmesg output on this machine, taken as given (not under root). */
  kubelet?: string;
  runc?: string;
  dmesg?: string;
  auditor: BinaryAuditor;
  /** The node's name; defaults to the root's /etc/hostname. */
  nodeName?: string;
  logTailBytes?: number;
}

export interface BinaryReport {
  path: string | null;
  verdict: Verdict | null;
  kubernetesVersion: string | null;
  evidence: BinaryAudit["evidence"];
  /** The pin check against the catalog: match, mismatch or unpinned; null when not audited. */
  pin: NonNullable<BinaryAudit["pin"]> | null;
  error: string | null;
}

/**
 * The measured values behind the findings, as numbers (null when not read),
 * for metrics and fleet reports: the findings' words are for people.
 */
export interface NodeFacts {
  /** How much the kernel release leaks once kmem is on (strong, affected, possible, none, unknown). */
  kernelRisk: KernelRisk;
  /** The memory row of /proc/cgroups: ids the kernel counts (leaked ones included). */
  memoryCgroupsCounted: number | null;
  /** Directories under /sys/fs/cgroup/memory (at most the counting bound; v1 only). */
  memoryCgroupsExisting: number | null;
  /** MEM_CGROUP_ID_MAX. */
  memoryCgroupIdLimit: number;
  /** SUnreclaim of /proc/meminfo, in bytes. */
  slabUnreclaimableBytes: number | null;
  kubepodsKmem: KmemState;
  /** cgroup.memory=nokmem on /proc/cmdline; null when the command line could not be read. */
  bootNokmem: boolean | null;
}

/** The --json contract (docs/doctor.md). Bump schemaVersion on any breaking change. */
export interface NodeReport {
  schemaVersion: 1;
  root: string;
  node: string | null;
  kernelRelease: string | null;
  verdict: NodeVerdict;
  summary: string;
  findings: Finding[];
  binaries: { kubelet: BinaryReport; runc: BinaryReport };
  facts: NodeFacts;
}

export async function examineNode(opts: DoctorOptions): Promise<NodeReport> {
  const files = new HostFiles(opts.root);

  const kernel = assessKernel(await files.read("/proc/sys/kernel/osrelease", 4096));
  const cmdline = assessCmdline(await files.read("/proc/cmdline", 64 * 1024), kernel.risk);
  const bootProtected = Boolean(cmdline.facts && (cmdline.facts.nokmem || cmdline.facts.memcgDisabled));
  const config = assessKmemConfig(kernel.release ? await files.read(`/boot/config-${kernel.release.raw}`, 4 * 1024 * 1024) : null, kernel.release);

  const [kubelet, runc] = await Promise.all([
    auditBinary(files, "kubelet", opts.kubelet, KUBELET_PATHS, opts.auditor),
    auditBinary(files, "runc", opts.runc, RUNC_PATHS, opts.auditor),
  ]);

  const ids = assessCgroupIds(await files.read("/proc/cgroups", 64 * 1024));
  const dirs = await files.countDirectories(MEMORY_CGROUP_ROOT, MEMCG_ID_LIMIT + 5000);
  const gap = assessCgroupGap(ids.memory, dirs, MEMORY_CGROUP_ROOT, kernel.risk !== "none");

  const kubepodsCgroup = await firstDirectory(files, KUBEPODS_CGROUPS);
  const cgroupV2 = (await files.kind("/sys/fs/cgroup/cgroup.controllers")) === "file" && (await files.kind(MEMORY_CGROUP_ROOT)) === null;
  const stopKmem = remedies.stopKmem(runc.audit?.verdict === "unpatched");
  const kmem = assessKubepodsKmem(
    {
      cgroup: kubepodsCgroup,
      cgroupV2,
      slabinfo: kubepodsCgroup ? await files.read(`${kubepodsCgroup}/memory.kmem.slabinfo`, 4 * 1024 * 1024) : null,
      usage: kubepodsCgroup ? await files.read(`${kubepodsCgroup}/memory.kmem.usage_in_bytes`, 256) : null,
    },
    kernel.risk,
    bootProtected,
    stopKmem,
  );

  const protectedNow = leakImpossible({ bootProtected, kmemBuiltIn: config.kmemBuiltIn, kmem: kmem.state });
  const leakRemedy = kernel.risk === "none" || protectedNow ? null : remedies.reboot();
  const meminfo = await files.read("/proc/meminfo", 64 * 1024);
  const unreclaimKb = meminfo.state === "ok" ? parseMeminfo(meminfo.text).get("SUnreclaim") : undefined;
  const slab = assessSlab(meminfo, leakRemedy ?? "find the growing cache with `slabtop -o -s c`");
  const log = await scanKernelLogs(files, opts.dmesg, opts.logTailBytes ?? LOG_TAIL_BYTES);
  const logContext = protectedNow ? "protected" : kernel.risk === "none" ? "kernel-not-affected" : "leak-possible";
  const kernelLog = assessKernelLog(log.scans, log.unusable, logContext, remedies.reboot());

  const findings: Finding[] = [
    kernel.finding,
    cmdline.finding,
    config.finding,
    ids.finding,
    gap,
    kmem.finding,
    slab,
    kernelLog,
    assessBinary(kubelet, kernel.risk, protectedNow),
    assessBinary(runc, kernel.risk, protectedNow),
  ];
  const decision = decideVerdict({
    risk: kernel.risk,
    bootProtected,
    kmemBuiltIn: config.kmemBuiltIn,
    kmem: kmem.state,
    kubelet: kubelet.audit?.verdict ?? null,
    runc: runc.audit?.verdict ?? null,
    findings,
  });
  return {
    schemaVersion: 1,
    root: opts.root,
    node: opts.nodeName ?? (await hostname(files)),
    kernelRelease: kernel.release?.raw ?? null,
    verdict: decision.verdict,
    summary: `${decision.verdict}: ${decision.because?.title ?? "no finding decided it"}`,
    // One key order for every finding: the JSON is a contract, and diffs of it should be quiet.
    findings: findings.map((f) => ({ id: f.id, severity: f.severity, title: f.title, evidence: f.evidence, remedy: f.remedy })),
    binaries: { kubelet: binaryReport(kubelet), runc: binaryReport(runc) },
    facts: {
      kernelRisk: kernel.risk,
      memoryCgroupsCounted: ids.memory?.numCgroups ?? null,
      memoryCgroupsExisting: dirs.state === "ok" && ids.memory?.hierarchy !== 0 ? dirs.count : null,
      memoryCgroupIdLimit: MEMCG_ID_LIMIT,
      slabUnreclaimableBytes: unreclaimKb === undefined ? null : unreclaimKb * 1024,
      kubepodsKmem: kmem.state,
      bootNokmem: cmdline.facts ? cmdline.facts.nokmem : null,
    },
  };
}

async function firstDirectory(files: HostFiles, paths: readonly string[]): Promise<string | null> {
  for (const p of paths) if ((await files.kind(p)) === "directory") return p;
  return null;
}

async function hostname(files: HostFiles): Promise<string | null> {
  const r = await files.read("/etc/hostname", 4096);
  return r.state === "ok" ? r.text.split("\n")[0]!.trim() || null : null;
}

async function auditBinary(
  files: HostFiles,
  kind: BinaryKind,
  given: string | undefined,
  usual: readonly string[],
  auditor: BinaryAuditor,
): Promise<BinaryResult> {
  let path: string | null = null;
  let local: string | null = null;
  if (given) {
    path = local = given;
  } else {
    for (const p of usual) {
      if ((await files.kind(p)) === "file") {
        path = p;
        local = await files.locate(p);
        break;
      }
    }
  }
  if (!path || !local) return { kind, path: null, searched: given ? [given] : [...usual], audit: null, error: null };
  try {
    return { kind, path, searched: [], audit: await auditor(local), error: null };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { kind, path, searched: [], audit: null, error: e.code === "ENOENT" ? "not found" : (e.message ?? String(err)) };
  }
}

async function scanKernelLogs(
  files: HostFiles,
  dmesg: string | undefined,
  tailBytes: number,
): Promise<{ scans: KernelLogScan[]; unusable: Exclude<NodeRead, { state: "ok" }>[] }> {
  const scans: KernelLogScan[] = [];
  const unusable: Exclude<NodeRead, { state: "ok" }>[] = [];
  const sources = dmesg
    ? [{ shown: dmesg, scan: (f: (l: string) => void) => scanLocalTail(dmesg, dmesg, tailBytes, f, LOG_LINE_WANTED) }]
    : KERNEL_LOGS.map((p) => ({ shown: p, scan: (f: (l: string) => void) => files.scanTail(p, tailBytes, f, LOG_LINE_WANTED) }));
  for (const source of sources) {
    const scan = newLogScan(source.shown);
    const result: ScanResult = await source.scan((line) => scanLogLine(scan, line));
    if (result.state === "ok") scans.push(scan);
    else unusable.push(result);
  }
  return { scans, unusable };
}

function binaryReport(r: BinaryResult): BinaryReport {
  return {
    path: r.path,
    verdict: r.audit?.verdict ?? null,
    kubernetesVersion: r.audit?.kubernetesVersion ?? null,
    evidence: r.audit?.evidence ?? [],
    pin: r.audit?.pin ?? null,
    error: r.error,
  };
}
