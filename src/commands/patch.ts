import { Option, type Command } from "commander";
import { UsageError } from "../errors.js";
import type { PatchOutcome } from "../patch/engine.js";
import { printJson, type CommandContext } from "./context.js";

interface PatchFlags {
  version?: string;
  check?: boolean;
  dryRun?: boolean;
  revert?: boolean;
  fuzz: number;
  json?: boolean;
  versionFile?: string;
  versionSuffix?: string;
  editVersionSh?: boolean;
  commit?: string;
  patches?: string;
}

/** The `--json` contract (docs/patch.md). */
export interface PatchJson {
  strategy: string;
  series: string | null;
  version: string;
  operation: "apply" | "revert";
  mode: "write" | "check" | "dry-run";
  applied: boolean;
  alreadyApplied: boolean;
  reverted: boolean;
  alreadyReverted: boolean;
  files: { path: string; state: "changed" | "unchanged"; before: string | null; after: string | null; patches: string[] }[];
  patches: { name: string; sha256: string }[];
  versionFile: PatchOutcome["versionFile"];
  recovered: PatchOutcome["recovered"];
  diff: string;
}

export function patchJson(o: PatchOutcome, mode: PatchJson["mode"]): PatchJson {
  return {
    strategy: o.strategy,
    series: o.series,
    version: o.version,
    operation: o.operation,
    mode,
    applied: o.applied,
    alreadyApplied: o.alreadyApplied,
    reverted: o.reverted,
    alreadyReverted: o.alreadyReverted,
    files: o.files,
    patches: o.patches,
    versionFile: o.versionFile,
    recovered: o.recovered,
    diff: o.diff,
  };
}

const parseFuzz = (v: string): number => {
  if (!/^\d{1,2}$/.test(v))
    throw new UsageError("E_FUZZ", `expected --fuzz to be a small whole number (0 to 99), found ${JSON.stringify(v)}`, "pass e.g. --fuzz 1");
  return Number(v);
};

export function register(program: Command, ctx: CommandContext): void {
  program
    .command("patch")
    .summary("apply (check, show or revert) the source changes that make a tree's kubelet nokmem")
    .description(
      "Apply the patch series the release's strategy needs to a Kubernetes source tree, all or nothing, and write the clean version stamp the build passes as KUBE_GIT_VERSION_FILE. Re-running on a patched tree changes nothing; --revert restores the original bytes.",
    )
    .argument("<tree>", "the Kubernetes source tree (a git checkout, an archive export or an unpacked tarball)")
    .addOption(new Option("--version <release>", "the release the tree is (default: what git describe or the archive's version.sh says)"))
    .option("--check", "only say whether the series applies cleanly; write nothing")
    .option("--dry-run", "print the exact unified diff the run would make; write nothing")
    .option("--revert", "take the series out again, restoring the original bytes")
    .option("--fuzz <lines>", "let hunk context differ by up to this many lines", parseFuzz, 0)
    .option("--json", "print the result as JSON")
    .option("--version-file <path>", "where to write the version file (default: <tree>/_output/kubelet-nokmem/version.env)")
    .option("--version-suffix <meta>", "build metadata for the version, e.g. nokmem.1 → v1.16.15+nokmem.1")
    .option("--edit-version-sh", "also set KUBE_GIT_TREE_STATE clean in hack/lib/version.sh, as done by hand")
    .option("--commit <sha>", "the commit to stamp when the tree cannot say (plain folders, tarballs)")
    .option("--patches <dir>", "use the series in this folder instead of the bundled ones")
    .addHelpText(
      "after",
      `
Examples:
  $ kubelet-nokmem patch ~/src/kubernetes                    # a git checkout at tag v1.16.15
  $ kubelet-nokmem patch ./kubernetes-1.13.12 --version 1.13.12 --check
  $ kubelet-nokmem patch ./k8s --dry-run > nokmem.diff
  $ kubelet-nokmem patch ./k8s --version-suffix nokmem.1 --json
  $ kubelet-nokmem patch ./k8s --revert`,
    )
    .action(async (root: string, flags: PatchFlags) => {
      if (flags.check && flags.dryRun) throw new UsageError("E_FLAGS", "expected at most one of --check and --dry-run, found both", "pick one");
      // The flags' own syntax first; the engine checks the rest (the version file's place) before its first write.
      const { checkCommit, checkVersionSuffix } = await import("../patch/version-stamp.js");
      checkCommit(flags.commit);
      checkVersionSuffix(flags.versionSuffix);
      if (flags.versionFile === "")
        throw new UsageError(
          "E_VERSION_FILE",
          "expected --version-file to name a file, found an empty string",
          "pass e.g. --version-file _output/kubelet-nokmem/version.env",
        );
      const { readTreeFacts } = await import("../tree/inspect.js");
      const { resolveTreeRelease } = await import("../tree/assess.js");
      const facts = await readTreeFacts(root, { status: false });
      const { resolution } = resolveTreeRelease(ctx.catalog(), facts, flags.version);
      const mode: PatchJson["mode"] = flags.check ? "check" : flags.dryRun ? "dry-run" : "write";
      // The engine (diff, journal, tree IO) loads only when a patch runs.
      const engine = await import("../patch/engine.js");
      let outcome: PatchOutcome;
      try {
        outcome = await engine.runPatch(root, resolution, {
          operation: flags.revert ? "revert" : "apply",
          write: mode === "write",
          fuzz: flags.fuzz,
          editVersionSh: flags.editVersionSh,
          versionSuffix: flags.versionSuffix,
          versionFile: flags.versionFile,
          commit: flags.commit,
          patchesRoot: flags.patches,
          facts,
          progress: ctx.io.progress,
          signal: ctx.signal,
        });
      } catch (err) {
        if (err instanceof engine.PatchDriftError) for (const line of err.report()) ctx.io.err(line);
        throw err;
      }
      if (flags.json) return printJson(ctx.io, patchJson(outcome, mode));
      if (mode === "dry-run") {
        if (outcome.diff) ctx.io.out(outcome.diff.replace(/\n$/, ""));
        else ctx.io.progress(`nothing to ${outcome.operation}: the tree is already ${outcome.operation === "apply" ? "patched" : "unpatched"}`);
        return;
      }
      ctx.io.out(describe(outcome, mode).join("\n"));
    });
}

function describe(o: PatchOutcome, mode: PatchJson["mode"]): string[] {
  const what = `v${o.version}, strategy ${o.strategy}${o.series ? `, series ${o.series}` : ""}`;
  const changed = o.files.filter((f) => f.state === "changed").map((f) => `  ${f.path}`);
  const lines: string[] = [];
  if (o.operation === "apply") {
    if (!o.files.length) lines.push(`nothing to patch (${what}): this strategy changes no source`);
    else if (o.alreadyApplied) lines.push(`already applied (${what}): nothing changed`);
    else if (mode === "check") lines.push(`applies cleanly (${what}); would change:`, ...changed);
    else lines.push(`patched (${what}):`, ...changed);
  } else {
    if (o.alreadyReverted) lines.push(`not applied (${what}): nothing to revert`);
    else if (mode === "check") lines.push(`reverts cleanly (${what}); would restore:`, ...changed);
    else lines.push(`reverted (${what}):`, ...changed);
  }
  const vf = o.versionFile;
  if (vf)
    lines.push(
      `version file: ${vf.treePath ?? vf.path} (${vf.gitVersion}, tree state clean${vf.commit ? `, commit ${vf.commit.slice(0, 12)}` : ""})${vf.written ? "" : mode === "write" ? ", unchanged" : ", not written"}`,
    );
  return lines;
}
