/**
 * The memory-cgroup id budget. The kernel hands out at most 65535 memory-cgroup
 * ids; a cgroup deleted while kmem accounting pins it keeps its id, and keeps
 * being counted in /proc/cgroups, long after its directory is gone. So:
 * num_cgroups near the limit means pod creation is about to fail, and
 * num_cgroups far above the directories that exist is the leak itself.
 */
import { remedies } from "./remedy.js";
import { describeUnusable, type Finding, type NodeRead } from "./types.js";
import type { DirectoryCount } from "./host-files.js";

/** MEM_CGROUP_ID_MAX: memory-cgroup ids are unsigned shorts. */
export const MEMCG_ID_LIMIT = 65535;
const IDS_WARNING_RATIO = 0.5;
const IDS_CRITICAL_RATIO = 0.9;
/** A gap this large, and larger than the cgroups that exist, is a leak in progress. */
const GAP_WARNING = 1000;
/** A quarter of the id space gone to cgroups that no longer exist. */
const GAP_CRITICAL = 16384;

export interface CgroupRow {
  subsys: string;
  hierarchy: number;
  numCgroups: number;
  enabled: boolean;
}

type ParsedCgroups = { ok: true; rows: CgroupRow[] } | { ok: false; reason: string };

/** Parse /proc/cgroups (`#subsys_name hierarchy num_cgroups enabled`). */
export function parseProcCgroups(text: string): ParsedCgroups {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  if (!lines.length) return { ok: false, reason: "the file is empty" };
  if (!/^#subsys_name\s+hierarchy\s+num_cgroups\s+enabled\s*$/.test(lines[0]!)) {
    return { ok: false, reason: `expected the header "#subsys_name hierarchy num_cgroups enabled", found ${JSON.stringify(lines[0]!.slice(0, 60))}` };
  }
  const rows: CgroupRow[] = [];
  for (const [i, line] of lines.slice(1).entries()) {
    const fields = line.trim().split(/\s+/);
    if (fields.length !== 4 || !fields.slice(1).every((f) => /^\d{1,10}$/.test(f))) {
      return { ok: false, reason: `line ${i + 2} is malformed or cut short: ${JSON.stringify(line.slice(0, 60))}` };
    }
    rows.push({ subsys: fields[0]!, hierarchy: Number(fields[1]), numCgroups: Number(fields[2]), enabled: fields[3] === "1" });
  }
  return { ok: true, rows };
}

interface CgroupIdAssessment {
  memory: CgroupRow | null;
  finding: Finding;
}

export function assessCgroupIds(read: NodeRead): CgroupIdAssessment {
  const id = "memory-cgroup-ids" as const;
  if (read.state !== "ok") {
    return {
      memory: null,
      finding: {
        id,
        severity: "unknown",
        title: `memory cgroup count unknown: ${read.state === "missing" ? "/proc/cgroups not found" : read.reason}`,
        evidence: [describeUnusable(read)],
        remedy: null,
      },
    };
  }
  const parsed = parseProcCgroups(read.text);
  if (!parsed.ok) {
    return {
      memory: null,
      finding: { id, severity: "unknown", title: `memory cgroup count unknown: ${parsed.reason}`, evidence: [`${read.path}: ${parsed.reason}`], remedy: null },
    };
  }
  const memory = parsed.rows.find((r) => r.subsys === "memory") ?? null;
  if (!memory) {
    return {
      memory: null,
      finding: {
        id,
        severity: "unknown",
        title: "memory cgroup count unknown: /proc/cgroups has no memory row (cut short?)",
        evidence: [`${read.path}: no memory row among ${parsed.rows.length} rows`],
        remedy: null,
      },
    };
  }
  const evidence = [`${read.path}: memory hierarchy=${memory.hierarchy} num_cgroups=${memory.numCgroups} enabled=${memory.enabled ? 1 : 0}`];
  if (!memory.enabled) {
    return { memory, finding: { id, severity: "ok", title: "memory controller disabled: no memory cgroup ids in use", evidence, remedy: null } };
  }
  const ratio = memory.numCgroups / MEMCG_ID_LIMIT;
  const pct = `${Math.round(ratio * 100)}%`;
  const title = `${memory.numCgroups}/${MEMCG_ID_LIMIT} memory cgroup ids in use (${pct})`;
  if (ratio > IDS_CRITICAL_RATIO) {
    return { memory, finding: { id, severity: "critical", title: `${title}, pod creation fails soon`, evidence, remedy: remedies.reboot() } };
  }
  if (ratio > IDS_WARNING_RATIO) {
    return { memory, finding: { id, severity: "warning", title, evidence, remedy: remedies.reboot() } };
  }
  return { memory, finding: { id, severity: "ok", title, evidence, remedy: null } };
}

/** num_cgroups against the memory cgroup directories that exist. */
/**
 * `kernelLeaks` false (4.18+): a gap there is dying cgroups held by cached
 * pages, which the kernel frees under pressure; the id count still tells
 * whether pod creation is in danger, so the gap alone is only `info`.
 */
export function assessCgroupGap(
  memory: CgroupRow | null,
  dirs: DirectoryCount | Exclude<NodeRead, { state: "ok" }>,
  dirPath: string,
  kernelLeaks = true,
): Finding {
  const id = "memory-cgroup-gap" as const;
  if (!memory) {
    return {
      id,
      severity: "unknown",
      title: "leaked cgroups unknown: no usable memory row in /proc/cgroups",
      evidence: ["/proc/cgroups: memory row not found or not readable"],
      remedy: null,
    };
  }
  if (!memory.enabled) {
    return { id, severity: "ok", title: "memory controller disabled: nothing to leak", evidence: [], remedy: null };
  }
  if (memory.hierarchy === 0) {
    return {
      id,
      severity: "info",
      title: "memory controller is on cgroup v2: no v1 directories to compare",
      evidence: [`/proc/cgroups: memory hierarchy=0`],
      remedy: null,
    };
  }
  if (dirs.state !== "ok") {
    return {
      id,
      severity: "unknown",
      title: `leaked cgroups unknown: ${dirs.state === "missing" ? `${dirPath} not found` : `${dirPath} unreadable (${dirs.reason})`}`,
      evidence: [describeUnusable(dirs)],
      remedy: null,
    };
  }
  const gap = memory.numCgroups - dirs.count;
  const evidence = [`/proc/cgroups: memory num_cgroups=${memory.numCgroups}`, `${dirPath}: ${dirs.count}${dirs.capped ? "+" : ""} directories`];
  if (dirs.unlisted) evidence.push(`${dirPath}: ${dirs.unlisted} directories could not be listed`);
  const title = `kernel counts ${memory.numCgroups} memory cgroups, ${dirs.count} exist`;
  if (gap < GAP_WARNING || gap < dirs.count) {
    return { id, severity: "ok", title: `${title}: no leak`, evidence, remedy: null };
  }
  if (dirs.unlisted) {
    return { id, severity: "unknown", title: `${title}, but ${dirs.unlisted} directories could not be listed`, evidence, remedy: null };
  }
  if (!kernelLeaks) {
    return { id, severity: "info", title: `${title}: ${gap} dying, not the kmem leak on this kernel`, evidence, remedy: null };
  }
  return { id, severity: gap >= GAP_CRITICAL ? "critical" : "warning", title: `${title}: ${gap} leaked`, evidence, remedy: remedies.reboot() };
}
