import type { Command } from "commander";
import { UsageError } from "../errors.js";
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
  json?: boolean;
  npd?: boolean;
}

/** The auditor the doctor uses for the node's kubelet and runc. */
export async function doctorAuditor(ctx: CommandContext): Promise<BinaryAuditor> {
  const { auditAuditor } = await import("../node/audit-auditor.js");
  return auditAuditor(ctx.catalog());
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
    .option("--node-name <name>", "the node's name in the report (default: the root's /etc/hostname)")
    .option("--json", "print the report as JSON (schema in docs/doctor.md)")
    .option("--npd", "node-problem-detector plugin mode: one line on stdout, exit 0 healthy / 1 problem / 2 unknown")
    .addHelpText(
      "after",
      `
Examples:
  $ kubelet-nokmem doctor
  $ kubelet-nokmem doctor --root /host --json          # from a pod with the host's / mounted read-only
  $ kubelet-nokmem doctor --kubelet ./kubelet --dmesg dmesg.txt
  $ kubelet-nokmem doctor --npd                         # as a node-problem-detector custom plugin

Paths given with --kubelet, --runc and --dmesg are taken as they are; only the
default locations are looked up under --root.`,
    )
    .action(async (flags: DoctorFlags) => {
      if (flags.json && flags.npd) {
        throw new UsageError("E_DOCTOR_FLAGS", "expected at most one of --json and --npd, found both", "pick --json for the full report or --npd for the plugin line");
      }
      const run = async () => {
        const root = await nodeRoot(flags.root);
        const { examineNode } = await import("../node/doctor.js");
        return examineNode({ root, kubelet: flags.kubelet, runc: flags.runc, dmesg: flags.dmesg, nodeName: flags.nodeName, auditor: await doctorAuditor(ctx) });
      };
      if (flags.npd) {
        // The plugin contract allows nothing but one line and the exit code, even on failure.
        try {
          const report = await run();
          ctx.io.out(printable(npdMessage(report.summary)));
          ctx.setExitCode(NPD_EXIT[report.verdict]);
        } catch (err) {
          ctx.io.out(printable(npdMessage(`unknown: doctor failed: ${err instanceof Error ? err.message : String(err)}`)));
          ctx.setExitCode(NPD_EXIT.unknown);
        }
        return;
      }
      const report = await run();
      if (flags.json) return printJson(ctx.io, report);
      // Node files are someone else's text: escaped, never sent raw to a terminal.
      ctx.io.out(printable(renderReport(report, ctx.verbose())));
    });
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
