import type { Command } from "commander";
import { availableParallelism } from "node:os";
import { isAbsolute } from "node:path";
import { PATH_MISSING, type BinaryReport } from "../audit/report.js";
import { UsageError, VerificationError } from "../errors.js";
import { VERDICTS, type Verdict } from "../verdict.js";
import { nodeRoot, printJson, type CommandContext } from "./context.js";

/** What --fail-on can select: a binary's verdict, its pin status, or that it could not be read. */
export const OUTCOMES = [...VERDICTS, "mismatch", "unpinned", "match", "error", "missing"] as const;
export type AuditOutcome = (typeof OUTCOMES)[number];
/** `missing`: a path given that does not exist; failing by default, so a typo cannot pass a pipeline gate. */
export const DEFAULT_FAIL_ON: AuditOutcome[] = ["unpatched", "mismatch", "missing"];

export interface AuditJson {
  schemaVersion: 1;
  /** The node audited (--node, or env NODE_NAME as the fleet DaemonSet sets it); null when not given. */
  node: string | null;
  reports: BinaryReport[];
  summary: { binaries: number; verdicts: Record<Verdict, number>; pins: Record<string, number>; errors: number };
  failOn: AuditOutcome[];
  /** Paths whose outcome is listed in failOn (the exit code is 4 when any). */
  failed: { path: string; outcomes: AuditOutcome[] }[];
}

export function parseFailOn(value: string): AuditOutcome[] {
  if (value.trim() === "none" || value.trim() === "") return [];
  const items = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const i of items) {
    if (!(OUTCOMES as readonly string[]).includes(i)) {
      throw new UsageError(
        "E_AUDIT_FAIL_ON",
        `expected --fail-on to list outcomes from ${OUTCOMES.join(", ")} (or none), found ${JSON.stringify(i)}`,
        "e.g. --fail-on unpatched,mismatch,unknown",
      );
    }
  }
  return [...new Set(items as AuditOutcome[])];
}

/** The outcomes of one report that --fail-on can select. */
export function outcomesOf(r: BinaryReport): AuditOutcome[] {
  const out: AuditOutcome[] = [r.verdict, r.pin.status];
  if (r.errors.length) out.push("error");
  if (r.errors.some((e) => e.code === PATH_MISSING)) out.push("missing");
  return out;
}

export function summarise(reports: BinaryReport[], failOn: AuditOutcome[], node: string | null = null): AuditJson {
  const verdicts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  const pins: Record<string, number> = { match: 0, mismatch: 0, unpinned: 0 };
  for (const r of reports) {
    verdicts[r.verdict]++;
    pins[r.pin.status]!++;
  }
  const failed = reports.map((r) => ({ path: r.path, outcomes: outcomesOf(r).filter((o) => failOn.includes(o)) })).filter((f) => f.outcomes.length);
  return {
    schemaVersion: 1,
    node,
    reports,
    summary: { binaries: reports.length, verdicts, pins, errors: reports.filter((r) => r.errors.length).length },
    failOn,
    failed,
  };
}

function short(sha: string | null): string {
  return sha ? `${sha.slice(0, 12)}` : "-";
}

/** The human table. Not a contract: use --json for machines. */
export function renderTable(result: AuditJson, verbose: boolean): string {
  const rows = result.reports.map((r) => [
    r.verdict,
    r.pin.status,
    r.program ?? "-",
    r.kubernetesVersion?.gitVersion ?? r.runcVersion?.version ?? "-",
    short(r.sha256),
    r.path,
  ]);
  const head = ["VERDICT", "PIN", "PROGRAM", "VERSION", "SHA256", "PATH"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  const lines = [fmt(head)];
  result.reports.forEach((r, i) => {
    lines.push(fmt(rows[i]!));
    for (const e of r.errors) lines.push(`    error: ${e.message}`);
    const ev = r.evidence.filter((e) => e.kind !== "identity").map((e) => e.id);
    if (ev.length) lines.push(`    evidence: ${ev.join(", ")}`);
    const why = verbose ? r.reasons : r.reasons.slice(0, 1);
    if (!r.errors.length) for (const reason of why) lines.push(`    why: ${reason}`);
    if (verbose && r.kubernetesVersion?.source === "heuristic")
      lines.push(`    version: found by heuristic (${r.kubernetesVersion.confirmed ? "confirmed by a Go string header" : "unconfirmed"})`);
    if (verbose) for (const c of r.pin.checks) lines.push(`    pin: ${c.status} against ${c.source} (${c.name}: ${c.expected})`);
  });
  const s = result.summary;
  const v =
    Object.entries(s.verdicts)
      .filter(([, n]) => n)
      .map(([k, n]) => `${n} ${k}`)
      .join(", ") || "none";
  const p =
    Object.entries(s.pins)
      .filter(([, n]) => n)
      .map(([k, n]) => `${n} ${k}`)
      .join(", ") || "none";
  lines.push("", `${s.binaries} binar${s.binaries === 1 ? "y" : "ies"}: ${v}; pins: ${p}${s.errors ? `; ${s.errors} with errors` : ""}`);
  return lines.join("\n");
}

interface AuditFlags {
  json?: boolean;
  all?: boolean;
  skipMissing?: boolean;
  failOn: string;
  manifest: string[];
  key?: string;
  jobs: string;
  root?: string;
  node?: string;
}

export function register(program: Command, ctx: CommandContext): void {
  program
    .command("audit")
    .summary("tell from the binary alone whether kubelets (and runcs) are nokmem")
    .description(
      "Audit kubelet and runc binaries without running them: sha256, Go build info, the Kubernetes version stamps, the kmem evidence " +
        "(strings, source paths, build tags), a verdict (patched, unpatched, not-affected, unknown) with its reasons, and a pin check " +
        "against versions.json and build manifests. Folders are searched recursively for kubelet-named executables (every ELF file with --all).",
    )
    .argument("<path...>", "binaries, folders, or .rpm/.deb packages (the kubelet inside is audited without installing)")
    .option("--json", "print the reports as JSON (a stable contract)")
    .option("--all", "in folders, audit every ELF file, not only kubelet-named executables (e.g. a runtime's runc)")
    .option("--skip-missing", "leave out, quietly, paths given that do not exist (a fleet's list of usual folders); without it they are the outcome missing")
    .option("--fail-on <outcomes>", `exit 4 when a binary has one of these outcomes: ${OUTCOMES.join(", ")}, or none`, DEFAULT_FAIL_ON.join(","))
    .option(
      "--manifest <dir>",
      "check sha256 against a build output folder, checked as verify and pin check it; repeatable",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option(
      "--key <public-key>",
      "read --manifest folders only as signed by this PEM public key (file or env:VARNAME): manifest.dsse.json must verify; a bad signature exits 4",
    )
    .option("--jobs <n>", "files audited at once", String(Math.min(4, availableParallelism())))
    .option("--root <dir>", "where a node's filesystem is mounted (a host's / in a container): paths are the node's, links are followed inside it")
    .option("--node <name>", "the node's name in the result (default: env NODE_NAME), so fleet results join without guessing")
    .addHelpText(
      "after",
      `
Examples:
  $ kubelet-nokmem audit /usr/bin/kubelet
  $ kubelet-nokmem audit /opt/kube/bin /usr/local/bin --json
  $ kubelet-nokmem audit --all /usr/bin/runc /usr/sbin/runc
  $ kubelet-nokmem audit _output/local/bin/linux/amd64/kubelet --manifest dist/ --fail-on unpatched,mismatch,unknown
  $ kubelet-nokmem audit /usr/bin/kubelet --manifest out/v1.20.15 --key kubelet-nokmem.pub
  $ kubelet-nokmem audit --root /host /usr/bin /opt/bin --skip-missing --json   # from a pod with the host's / mounted

Exit codes: 0 nothing listed in --fail-on occurred · 4 a listed outcome occurred · 2 bad arguments`,
    )
    .action(async (paths: string[], opts: AuditFlags) => {
      const failOn = parseFailOn(opts.failOn);
      const jobs = Number(opts.jobs);
      if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64)
        throw new UsageError("E_AUDIT_JOBS", `expected --jobs to be a whole number from 1 to 64, found ${JSON.stringify(opts.jobs)}`, "e.g. --jobs 2");
      const root = opts.root === undefined ? undefined : await nodeRoot(opts.root);
      if (root !== undefined) {
        const relative = paths.find((p) => !isAbsolute(p));
        if (relative !== undefined)
          throw new UsageError(
            "E_AUDIT_NODE_PATH",
            `expected the node's absolute paths with --root, found ${JSON.stringify(relative)}`,
            "name paths as the node sees them, e.g. --root /host /usr/bin",
          );
      }
      // The engine is loaded here, not at start-up, so other commands do not pay for it.
      const { auditPaths, readManifestDir } = await import("../audit/index.js");
      if (opts.key !== undefined && !opts.manifest.length)
        throw new UsageError(
          "E_KEY_NEEDS_MANIFEST",
          "expected --manifest DIR with --key (the key checks a build's signed manifest), found none",
          "add --manifest OUT_DIR",
        );
      const key = opts.key === undefined ? null : await (await import("../artifact/keys.js")).loadVerifyingKey(opts.key);
      const manifest = [];
      for (const dir of opts.manifest) manifest.push(...(await readManifestDir(dir, key)));
      const options = {
        catalog: ctx.catalog(),
        manifest,
        all: Boolean(opts.all),
        skipMissing: Boolean(opts.skipMissing),
        concurrency: jobs,
        signal: ctx.signal,
        ...(root === undefined ? {} : { root }),
      };
      // A .rpm/.deb (outside --root): its kubelet is unpacked and audited as a bare one (src/package/check.ts).
      const isPackage = (p: string) => root === undefined && /\.(rpm|deb)$/i.test(p);
      const reports = await auditPaths(
        paths.filter((p) => !isPackage(p)),
        options,
      );
      for (const p of paths.filter(isPackage))
        reports.push(...(await (await import("../package/check.js")).auditPackage(p, (files) => auditPaths(files, options), ctx.signal)));
      const result = summarise(reports, failOn, opts.node ?? (process.env.NODE_NAME || null));
      if (opts.json) printJson(ctx.io, result);
      else ctx.io.out(renderTable(result, ctx.verbose()));
      if (result.failed.length) {
        // The report is printed already (one JSON document on stdout); the exit code says the rest.
        const first = result.failed[0]!;
        const more = result.failed.length > 1 ? ` (+${result.failed.length - 1} more)` : "";
        const e = new VerificationError(
          "E_AUDIT_FAILED",
          `expected no binary with an outcome in --fail-on (${failOn.join(",")}), found ${first.path}: ${first.outcomes.join(", ")}${more}`,
          fixHint(reports.find((r) => r.path === first.path)?.fix ?? null),
        );
        ctx.io.err(`kubelet-nokmem: ${e.oneLine()}`);
        ctx.setExitCode(e.exitCode);
      }
    });
}

/** The exact build command when the audit knows it (kubelet or runc of a known version), else the general one. */
function fixHint(fix: string | null): string {
  return fix
    ? `build the fixed one: \`${fix}\`, or inspect it with \`kubelet-nokmem audit PATH --verbose\``
    : "rebuild the binary with `kubelet-nokmem build` (or `kubelet-nokmem build runc`), or inspect it with `kubelet-nokmem audit PATH --verbose`";
}
