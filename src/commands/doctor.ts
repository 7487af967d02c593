import type { Command } from "commander";
import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { EnvironmentError, UsageError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { renderNodeMetrics, TEXTFILE_NAME } from "../metrics/exposition.js";
import type { BinaryAuditor } from "../node/binaries.js";
import type { NodeReport } from "../node/doctor.js";
import type { NodeVerdict, Severity } from "../node/types.js";
import { nodeRoot, printJson, type CommandContext } from "./context.js";
import { printable } from "../io/terminal.js";

/** node-problem-detector's custom-plugin contract: 0 OK, 1 problem, 2 unknown. */
export const NPD_EXIT: Record<NodeVerdict, number> = { healthy: 0, "at-risk": 1, leaking: 1, unknown: 2 };
/**
 * NPD cuts plugin output at max_output_length, 80 by default, counted in
 * BYTES (Go's `output[:max]` in pkg/custompluginmonitor/plugin/plugin.go),
 * which can split a UTF-8 character. The line is cut here first, at a
 * character boundary, so NPD never has to.
 */
export const NPD_MESSAGE_MAX = 80;

interface DoctorFlags {
  root: string;
  kubelet?: string;
  runc?: string;
  dmesg?: string;
  nodeName?: string;
  node?: string;
  json?: boolean;
  npd?: boolean;
  metrics?: boolean;
  textfile?: string;
}

/** The auditor the doctor uses for the node's kubelet and runc. */
export async function doctorAuditor(ctx: CommandContext): Promise<BinaryAuditor> {
  const { catalogBinaryAuditor } = await import("../node/binary-auditor.js");
  return catalogBinaryAuditor(ctx.catalog());
}

/** One line of at most `max` UTF-8 bytes, cut at a character boundary and ended with "..." when cut. */
export function npdMessage(text: string, max = NPD_MESSAGE_MAX): string {
  const line = text.replace(/\s+/g, " ").trim();
  if (Buffer.byteLength(line, "utf8") <= max) return line;
  let kept = "";
  let bytes = 0;
  for (const ch of line) {
    const n = Buffer.byteLength(ch, "utf8");
    if (bytes + n > max - 3) break;
    kept += ch;
    bytes += n;
  }
  return `${kept}...`;
}

export function register(program: Command, ctx: CommandContext): void {
  program
    .command("doctor")
    .summary("check a node for the kmem memory-cgroup leak, and say what to do")
    .description(
      "Read the node's kernel release, boot parameters, kernel config, /proc/cgroups, the kubepods memory cgroup, " +
        "/proc/meminfo and the kernel log, audit its kubelet and runc, and say whether the node is healthy, at risk or " +
        "already leaking, with the evidence and the fix for each finding. Reads, never writes.",
    )
    .option("--root <dir>", "where the node's filesystem is mounted (for a host mounted into a container)", "/")
    .option("--kubelet <path>", "the kubelet to audit (default: the first of /usr/bin, /usr/local/bin, /opt/bin under --root)")
    .option("--runc <path>", "the runtime's runc to audit (default: the usual runc paths under --root)")
    .option("--dmesg <file>", "a file with the output of dmesg, read instead of /var/log/messages and /var/log/kern.log")
    .option("--node <name>", "the node's name in the report (default: env NODE_NAME, then the root's /etc/hostname)")
    .option("--node-name <name>", "the same as --node (the older spelling)")
    .option("--json", "print the report as JSON (schema in docs/doctor.md)")
    .option("--npd", "node-problem-detector plugin mode: one line on stdout, exit 0 healthy / 1 problem / 2 unknown")
    .option("--metrics", "print the report as Prometheus metrics (docs/metrics.md)")
    .option(
      "--textfile <dir>",
      `also write the metrics, atomically, to DIR/${TEXTFILE_NAME} for node-exporter's textfile collector (the only file doctor writes)`,
    )
    .addHelpText(
      "after",
      `
Examples:
  $ kubelet-nokmem doctor
  $ kubelet-nokmem doctor --root /host --json          # from a pod with the host's / mounted read-only
  $ kubelet-nokmem doctor --kubelet ./kubelet --dmesg dmesg.txt
  $ kubelet-nokmem doctor --npd                         # as a node-problem-detector custom plugin
  $ kubelet-nokmem doctor --metrics
  $ kubelet-nokmem doctor --npd --textfile /var/lib/node-exporter/textfile   # plugin line, and metrics for node-exporter

Paths given with --kubelet, --runc and --dmesg are taken as they are; only the
default locations are looked up under --root.`,
    )
    .action(async (flags: DoctorFlags) => {
      const outputs = (["json", "npd", "metrics"] as const).filter((o) => flags[o]);
      if (outputs.length > 1) {
        throw new UsageError(
          "E_DOCTOR_FLAGS",
          `expected at most one of --json, --npd and --metrics, found ${outputs.map((o) => `--${o}`).join(" and ")}`,
          "pick --json for the full report, --npd for the plugin line or --metrics for Prometheus",
        );
      }
      const textfile = flags.textfile === undefined ? undefined : await textfileDir(flags.textfile);
      const nodeName = flags.node ?? flags.nodeName ?? (process.env.NODE_NAME || undefined);
      const run = async () => {
        const root = await nodeRoot(flags.root);
        const { examineNode } = await import("../node/doctor.js");
        const report = await examineNode({ root, kubelet: flags.kubelet, runc: flags.runc, dmesg: flags.dmesg, nodeName, auditor: await doctorAuditor(ctx) });
        return { report, metrics: renderNodeMetrics(report, new Date()) };
      };
      if (flags.npd) {
        // The plugin contract allows nothing but one line and the exit code, even on failure.
        try {
          const { report, metrics } = await run();
          // A failed textfile write leaves the old file's timestamp to age: the
          // KubeletNokmemCheckStale alert reports it; the plugin line stays the node's state.
          if (textfile !== undefined) await writeTextfile(textfile, metrics).catch(() => undefined);
          ctx.io.out(printable(npdMessage(report.summary)));
          ctx.setExitCode(NPD_EXIT[report.verdict]);
        } catch (err) {
          ctx.io.out(printable(npdMessage(`unknown: doctor failed: ${err instanceof Error ? err.message : String(err)}`)));
          ctx.setExitCode(NPD_EXIT.unknown);
        }
        return;
      }
      const { report, metrics } = await run();
      if (textfile !== undefined) await writeTextfile(textfile, metrics);
      if (flags.metrics) return ctx.io.out(metrics);
      if (flags.json) return printJson(ctx.io, report);
      // Node files are someone else's text: escaped, never sent raw to a terminal.
      ctx.io.out(printable(renderReport(report, ctx.verbose())));
    });
}

/** --textfile DIR: node-exporter's collector folder, which must exist (a typo would otherwise go unnoticed until the alert). */
async function textfileDir(given: string): Promise<string> {
  const dir = resolve(given);
  if (
    !(await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    throw new UsageError(
      "E_TEXTFILE_DIR",
      `expected --textfile to be node-exporter's textfile collector folder, found no folder at ${dir}`,
      "create it, or pass the folder node-exporter reads (--collector.textfile.directory)",
    );
  }
  return dir;
}

async function writeTextfile(dir: string, metrics: string): Promise<void> {
  const path = join(dir, TEXTFILE_NAME);
  try {
    // Mode 0644: node-exporter usually runs as another user.
    await writeFileAtomic(path, metrics, { mode: 0o644 });
  } catch (err) {
    throw new EnvironmentError(
      "E_TEXTFILE_WRITE",
      `expected to write ${path}, found ${err instanceof Error ? err.message : String(err)}`,
      "make the folder writable for this user (in a pod: mount the host folder without readOnly)",
    );
  }
}

const TAG: Record<Severity, string> = { ok: "ok", info: "info", unknown: "UNKNOWN", warning: "WARNING", critical: "CRITICAL" };

export function renderReport(r: NodeReport, verbose: boolean): string {
  const lines = [
    `node:    ${r.node ?? "(unnamed)"}${r.root === "/" ? "" : ` (root ${r.root})`}`,
    `kernel:  ${r.kernelRelease ?? "unknown"}`,
    `verdict: ${r.summary}`,
    "",
  ];
  for (const f of r.findings) {
    lines.push(`  ${TAG[f.severity].padEnd(8)} ${f.title}`);
    if (verbose || (f.severity !== "ok" && f.severity !== "info")) for (const e of f.evidence) lines.push(`           ${e}`);
    if (f.remedy) lines.push(`           fix: ${f.remedy}`);
  }
  return lines.join("\n");
}
