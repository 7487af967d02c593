/**
 * The doctor's report as Prometheus metrics, in the text exposition format
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), for
 * node-exporter's textfile collector and for `doctor --metrics`. Pure: a
 * report and the run's time in, text out. docs/metrics.md documents every
 * metric; test/metrics/ keeps the two in step and runs `promtool check metrics`.
 *
 * Names follow Prometheus' conventions: the `kubelet_nokmem_` prefix, base
 * units (bytes, seconds), `_info` for a metric whose labels are the value,
 * no `_total` (nothing here counts events: the cgroup numbers are gauges
 * read from the kernel, which can go down after a reboot).
 */
import type { NodeReport } from "../node/doctor.js";
import { NODE_VERDICTS } from "../node/types.js";

const METRIC_PREFIX = "kubelet_nokmem_";
/** The file the textfile collector reads (it reads `*.prom` only, so the writer's temporary name is ignored). */
export const TEXTFILE_NAME = "kubelet_nokmem.prom";

const KMEM_STATES = ["on", "off", "cgroup-v2", "unknown"] as const;
/** Kernel risks (src/node/kernel.ts) on which kmem accounting leaks memory cgroups. */
const LEAKING_RISKS = new Set(["strong", "affected", "possible"]);

interface Sample {
  labels?: Record<string, string>;
  value: number;
}

interface MetricFamily {
  name: string;
  help: string;
  type: "gauge";
  samples: Sample[];
}

/** A label value as the format wants it: backslash, double quote and line feed escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text escapes backslash and line feed only. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

export function renderFamilies(families: MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    if (!f.samples.length) continue;
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels =
        s.labels && Object.keys(s.labels).length
          ? `{${Object.entries(s.labels)
              .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
              .join(",")}}`
          : "";
      out.push(`${f.name}${labels} ${formatValue(s.value)}`);
    }
  }
  return `${out.join("\n")}\n`;
}

const gauge = (name: string, help: string, samples: Sample[]): MetricFamily => ({ name: `${METRIC_PREFIX}${name}`, help, type: "gauge", samples });
const known = (value: number | null): Sample[] => (value === null ? [] : [{ value }]);

/** Every metric of one doctor run; a value that could not be read is left out, never reported as 0. */
function nodeMetrics(report: NodeReport, now: Date): MetricFamily[] {
  const f = report.facts;
  const binaries = (["kubelet", "runc"] as const).flatMap((program) => {
    const b = report.binaries[program];
    if (!b.path) return [];
    return [{ labels: { program, path: b.path, version: b.kubernetesVersion ?? "", verdict: b.verdict ?? "error", pin: b.pin ?? "" }, value: 1 }];
  });
  return [
    gauge(
      "node_info",
      "The node the check ran on: its name, kernel release and how much that kernel leaks memory cgroups with kmem on (strong, affected, possible, none, unknown).",
      [{ labels: { node: report.node ?? "", kernel_release: report.kernelRelease ?? "", kernel_risk: f.kernelRisk }, value: 1 }],
    ),
    gauge(
      "node_state",
      "The doctor's verdict on the node: 1 for the state it is in (healthy, at-risk, leaking, unknown), 0 for the others.",
      NODE_VERDICTS.map((state) => ({ labels: { state }, value: state === report.verdict ? 1 : 0 })),
    ),
    gauge(
      "kernel_affected",
      "1 when the node's kernel release leaks memory cgroups once kmem accounting is on, 0 when it does not; absent when unknown.",
      f.kernelRisk === "unknown" ? [] : [{ value: LEAKING_RISKS.has(f.kernelRisk) ? 1 : 0 }],
    ),
    gauge(
      "memory_cgroups_counted",
      "Memory cgroups the kernel counts (num_cgroups of the memory row of /proc/cgroups), leaked ones included.",
      known(f.memoryCgroupsCounted),
    ),
    gauge("memory_cgroups_existing", "Memory cgroup directories that exist under /sys/fs/cgroup/memory (cgroup v1).", known(f.memoryCgroupsExisting)),
    gauge(
      "memory_cgroup_id_limit",
      "The most memory cgroup ids the kernel hands out (MEM_CGROUP_ID_MAX); pod creation fails when the counted cgroups reach it.",
      [{ value: f.memoryCgroupIdLimit }],
    ),
    gauge("slab_unreclaimable_bytes", "Unreclaimable slab memory (SUnreclaim of /proc/meminfo), in bytes.", known(f.slabUnreclaimableBytes)),
    gauge(
      "kubepods_kmem_state",
      "Kernel-memory accounting on the kubepods memory cgroup: 1 for the state found (on, off, cgroup-v2, unknown), 0 for the others.",
      KMEM_STATES.map((state) => ({ labels: { state }, value: state === f.kubepodsKmem ? 1 : 0 })),
    ),
    gauge(
      "boot_nokmem",
      "1 when the kernel was booted with cgroup.memory=nokmem, 0 when not; absent when /proc/cmdline could not be read.",
      f.bootNokmem === null ? [] : [{ value: f.bootNokmem ? 1 : 0 }],
    ),
    gauge(
      "binary_info",
      "A kubelet or runc found on the node, with the audit's verdict (patched, unpatched, not-affected, unknown, or error when it could not be audited) and its pin check (match, mismatch, unpinned).",
      binaries,
    ),
    gauge("last_run_timestamp_seconds", "When the check ran, in seconds since the Unix epoch.", [{ value: Math.floor(now.getTime() / 1000) }]),
  ];
}

export function renderNodeMetrics(report: NodeReport, now: Date): string {
  return renderFamilies(nodeMetrics(report, now));
}
