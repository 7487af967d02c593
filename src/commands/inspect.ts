import type { Command } from "commander";
import type { TreeReport } from "../tree/assess.js";
import { printJson, type CommandContext } from "./context.js";

/** The --json contract (docs/inspect.md lists every field). */
export type InspectJson = TreeReport;

const KIND_TEXT: Record<TreeReport["treeKind"], string> = {
  "git-clean": "git checkout, clean",
  "git-dirty": "git checkout, dirty",
  archive: "git archive export",
  dir: "plain directory (no git, no export stamp)",
};

export function inspectText(r: TreeReport): string {
  const version = r.version
    ? `v${r.version} (from ${r.versionSource === "flag" ? "--version" : r.versionSource === "git" ? "git describe" : "the export stamp in hack/lib/version.sh"})`
    : "unknown";
  const catalog = r.catalogStrategy
    ? r.agrees
      ? `agrees with the catalog (${r.catalogStrategy})`
      : `DISAGREES with the catalog, which says ${r.catalogStrategy}: the tree wins`
    : "no catalog entry to compare";
  const lines = [
    `tree:      ${r.root} (${KIND_TEXT[r.treeKind]})`,
    `release:   ${version}${r.treeVersion && r.versionSource === "flag" ? `; the tree says v${r.treeVersion}` : ""}`,
    ...(r.commit ? [`commit:    ${r.commit}`] : []),
    `runc:      ${r.runc ?? "unknown"}${r.runcSource ? ` (${r.runcSource})` : ""}${r.catalogRunc ? `; catalog: ${r.catalogRunc}` : ""}`,
    `kmem:      ${r.kmemLayout}${r.patched ? " (already patched)" : ""}${r.catalogLayout && r.catalogLayout !== r.kmemLayout ? `; catalog expects ${r.catalogLayout}` : ""}`,
    `go:        ${r.goVersion ?? "unknown"}${r.catalogGo ? ` (catalog image: Go ${r.catalogGo})` : ""}`,
    `image:     ${r.buildImage ? `${r.buildImage.ref} (rule: ${r.buildImage.rule}${r.buildImage.requested && r.buildImage.requested !== r.buildImage.ref ? `; the tree names ${r.buildImage.requested}` : ""}), expects Go ${r.buildImage.expectedGo ?? "unknown"}` : "unknown (the tree names no build image and the catalog has no entry)"}`,
    `strategy:  ${r.strategy}: ${catalog}`,
  ];
  if (r.evidence.length) {
    lines.push("evidence:");
    for (const e of r.evidence) lines.push(`  ${e.file}: ${e.says}`);
  }
  if (r.notes.length) {
    lines.push("notes:");
    for (const n of r.notes) lines.push(`  - ${n}`);
  }
  return lines.join("\n");
}

export function register(program: Command, ctx: CommandContext): void {
  program
    .command("inspect")
    .summary("read a Kubernetes source tree: release, vendored runc, kmem layout, strategy")
    .description(
      "Read a Kubernetes source tree and report, from the tree itself, its release, what kind of tree it is, the vendored runc and its kmem code layout, the Go version it asks for, and the strategy it needs, checked against the catalog. When the two disagree, the tree wins and the disagreement is reported.",
    )
    .argument("<tree>", "the top directory of a Kubernetes source tree (checkout, archive export or extracted tarball)")
    .option("--version <release>", "the tree's release (1.16.15), for trees that do not record it; compared with what the tree says")
    .option("--json", "print the report as JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ kubelet-nokmem inspect ~/src/kubernetes
  $ kubelet-nokmem inspect ./kubernetes-1.20.2 --json
  $ kubelet-nokmem inspect /tmp/k8s-src --version 1.16.15   # a plain directory without git`,
    )
    .action(async (tree: string, opts: { version?: string; json?: boolean }) => {
      const { inspectTree } = await import("../tree/inspect.js");
      const report = await inspectTree(tree, { catalog: ctx.catalog(), version: opts.version });
      if (opts.json) return printJson(ctx.io, report satisfies InspectJson);
      ctx.io.out(inspectText(report));
    });
}
