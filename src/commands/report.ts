import type { Command } from "commander";
import { resolve } from "node:path";
import { UsageError } from "../errors.js";
import { printable } from "../io/terminal.js";
import { printJson, type CommandContext } from "./context.js";

interface ReportFlags {
  json?: boolean;
  markdown?: boolean;
  html?: string;
}

export function register(program: Command, ctx: CommandContext): void {
  program
    .command("report")
    .summary("one fleet summary from what the fleet DaemonSet printed on every node")
    .description(
      "Read the doctor's and the audit's JSON as `kubectl logs` gives them (files or folders; `--prefix` prefixes allowed) and summarise " +
        "the fleet: nodes by state, binaries by verdict, the nodes nearest the memory-cgroup id limit, the unpatched binaries by node, " +
        "every node sorted by risk. Malformed lines are counted and named, never fatal. Writes nothing but the --html file.",
    )
    .argument("<path...>", "files of kubectl logs output, or folders of them")
    .option("--json", "print the summary as JSON (schema in docs/report.md)")
    .option("--markdown", "print the summary as Markdown, for a ticket")
    .option("--html <file>", "also write one self-contained HTML page (table and chart, no external resources) to FILE")
    .addHelpText(
      "after",
      `
Examples:
  $ kubectl -n kubelet-nokmem logs --prefix -l app.kubernetes.io/name=kubelet-nokmem-check --all-containers --tail=-1 > fleet.log
  $ kubelet-nokmem report fleet.log
  $ kubelet-nokmem report logs/ --html fleet.html
  $ kubelet-nokmem report fleet.log --markdown`,
    )
    .action(async (paths: string[], flags: ReportFlags) => {
      if (flags.json && flags.markdown)
        throw new UsageError("E_FLAGS", "expected at most one of --json and --markdown, found both", "pick one; --html combines with either");
      const { readLogInputs } = await import("../report/read.js");
      const { summariseFleet } = await import("../report/fleet.js");
      const render = await import("../report/render.js");
      const report = summariseFleet(await readLogInputs(paths));
      if (flags.html !== undefined) {
        const { writeFileAtomic } = await import("../io/atomic.js");
        await writeFileAtomic(resolve(flags.html), render.renderHtml(report, new Date()), { mode: 0o644 });
      }
      if (flags.json) return printJson(ctx.io, report);
      // Node names and paths are someone else's text: escaped for the terminal.
      ctx.io.out(flags.markdown ? render.renderMarkdown(report) : printable(render.renderText(report)));
    });
}
