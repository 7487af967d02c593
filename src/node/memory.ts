/**
 * The leak's footprint in memory and in the kernel log: slab size from
 * /proc/meminfo, and the allocation failures operators find with dmesg.
 */
import { describeUnusable, type Finding, type NodeRead } from "./types.js";

const SLAB_WARNING_RATIO = 0.2;
const SLAB_CRITICAL_RATIO = 0.5;

/** /proc/meminfo as name → kB. */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

const mib = (kb: number) => `${Math.round(kb / 1024)} MiB`;

export function assessSlab(read: NodeRead, remedy: string | null): Finding {
  const id = "slab-memory" as const;
  if (read.state !== "ok") {
    return {
      id,
      severity: "unknown",
      title: `slab size unknown: ${read.state === "missing" ? "/proc/meminfo not found" : read.reason}`,
      evidence: [describeUnusable(read)],
      remedy: null,
    };
  }
  const m = parseMeminfo(read.text);
  const total = m.get("MemTotal");
  const slab = m.get("Slab");
  if (!total || slab === undefined) {
    return {
      id,
      severity: "unknown",
      title: "slab size unknown: /proc/meminfo lacks MemTotal or Slab",
      evidence: [`${read.path}: MemTotal=${total ?? "absent"} Slab=${slab ?? "absent"}`],
      remedy: null,
    };
  }
  const unreclaim = m.get("SUnreclaim");
  const ratio = slab / total;
  const evidence = [`${read.path}: MemTotal ${total} kB, Slab ${slab} kB${unreclaim === undefined ? "" : `, SUnreclaim ${unreclaim} kB`}`];
  const title = `slab ${mib(slab)} of ${mib(total)} (${Math.round(ratio * 100)}%)${unreclaim === undefined ? "" : `, ${mib(unreclaim)} unreclaimable`}`;
  if (ratio >= SLAB_CRITICAL_RATIO) return { id, severity: "critical", title, evidence, remedy };
  if (ratio >= SLAB_WARNING_RATIO) return { id, severity: "warning", title, evidence, remedy };
  return { id, severity: "ok", title, evidence, remedy: null };
}

/** What the kernel (and, through syslog, kubelet) says when the leak bites. */
const LOG_PATTERNS = {
  slub: /SLUB: Unable to allocate memory on node -1/,
  mkdir: /mkdir \/sys\/fs\/cgroup\/memory\/\S*: (?:cannot allocate memory|no space left on device)/i,
} as const;

/**
 * Every line a LOG_PATTERNS pattern matches contains a match of this one (a
 * superset: case-insensitive throughout): the log reader hands over only
 * those lines, instead of every line of a 64 MB tail.
 */
export const LOG_LINE_WANTED = /SLUB: Unable to allocate memory on node -1|mkdir \/sys\/fs\/cgroup\/memory\//i;

export interface KernelLogScan {
  source: string;
  slub: number;
  mkdir: number;
  lastMatch: string | null;
}

export function newLogScan(source: string): KernelLogScan {
  return { source, slub: 0, mkdir: 0, lastMatch: null };
}

/** Fold one log line into a scan (pure; the reader streams lines through it). */
export function scanLogLine(scan: KernelLogScan, line: string): void {
  const slub = LOG_PATTERNS.slub.test(line);
  const mkdir = !slub && LOG_PATTERNS.mkdir.test(line);
  if (slub) scan.slub++;
  if (mkdir) scan.mkdir++;
  if (slub || mkdir) scan.lastMatch = line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/**
 * Why logged failures may not be the kmem leak:
 * - `protected`: the node is booted so the leak cannot happen; the lines most
 *   likely predate this boot (/var/log/messages outlives reboots);
 * - `kernel-not-affected`: allocations fail on any kernel under memory
 *   pressure; on this one they are not the kmem leak.
 */
type LogContext = "leak-possible" | "protected" | "kernel-not-affected";

/** `scans` are the logs that could be read, `unusable` the ones that could not. */
export function assessKernelLog(scans: KernelLogScan[], unusable: Exclude<NodeRead, { state: "ok" }>[], context: LogContext, remedy: string | null): Finding {
  const id = "kernel-log" as const;
  const evidence = [
    ...scans.map((s) => `${s.source}: ${s.slub} SLUB allocation failures, ${s.mkdir} failed memory cgroup mkdirs`),
    ...unusable.map(describeUnusable),
  ];
  if (!scans.length) {
    // Say why: a log that exists but cannot be read (Ubuntu's kern.log is
    // syslog:adm 0640, and a container without CAP_DAC_OVERRIDE reads it only
    // as a member of group adm) is a different fix from one that is absent.
    const unreadable = unusable.filter((u): u is Extract<typeof u, { state: "unreadable" }> => u.state === "unreadable");
    const why = unreadable.length ? unreadable.map((u) => `${u.path}: ${u.cause === "denied" ? "permission denied" : u.reason}`).join(", ") : "none found";
    const fix = unreadable.some((u) => u.cause === "denied")
      ? "run with the log's group (adm: supplementalGroups [4]) or pass --dmesg FILE"
      : "pass --dmesg FILE with the output of dmesg";
    return { id, severity: "unknown", title: `kernel log not readable: ${why} (${fix})`, evidence, remedy: null };
  }
  const slub = scans.reduce((n, s) => n + s.slub, 0);
  const mkdir = scans.reduce((n, s) => n + s.mkdir, 0);
  if (!slub && !mkdir) {
    return { id, severity: "ok", title: "no SLUB allocation failures in the kernel log", evidence, remedy: null };
  }
  const last = scans
    .map((s) => s.lastMatch)
    .filter((l): l is string => l !== null)
    .at(-1);
  if (last) evidence.push(`last: ${last}`);
  const what = [slub ? `${slub} SLUB allocation failures` : "", mkdir ? `${mkdir} failed memory cgroup mkdirs` : ""].filter(Boolean).join(", ");
  if (context === "protected") {
    return { id, severity: "info", title: `${what} logged, likely before the current boot`, evidence, remedy: null };
  }
  if (context === "kernel-not-affected") {
    return { id, severity: "info", title: `${what} logged: memory pressure, not the kmem leak on this kernel`, evidence, remedy: null };
  }
  return { id, severity: "critical", title: `${what} in the kernel log`, evidence, remedy };
}
