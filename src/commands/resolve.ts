import type { Command } from "commander";
import { resolve, type Resolution } from "../catalog/resolve.js";
import { lastPatchOf } from "../release.js";
import { chooseImage, type ImageRule } from "../tree/build-image.js";
import { printJson, type CommandContext } from "./context.js";

export interface ResolveJson {
  version: string | null;
  line: string;
  range: string;
  strategy: string;
  affected: boolean;
  reason: string;
  reference: string;
  changes: string[];
  env: Record<string, string>;
  image: string;
  /** Which rule gives `image` without a tree: "pin" for a pinned release, else "catalog" (the line's fallback; a build reads the tree's own). */
  imageRule: ImageRule;
  go: string;
  runc: string;
  kmemLayout: string;
  patchSeries: string | null;
  pinned: boolean;
  /** False when the catalog does not know this patch release was published (1.16.99, 1.30.1); null for a line. */
  knownRelease: boolean | null;
  otherRanges: { range: string; strategy: string }[];
}

export function resolveJson(r: Resolution): ResolveJson {
  return {
    version: r.version,
    line: r.line,
    range: r.range,
    strategy: r.strategy,
    affected: r.affected,
    reason: r.reason,
    reference: r.reference,
    changes: r.changes,
    env: r.env,
    image: imageWithoutTree(r).ref,
    imageRule: imageWithoutTree(r).rule,
    go: r.go,
    runc: r.runc,
    kmemLayout: r.kmemLayout,
    patchSeries: r.patchSeries,
    pinned: r.pin !== null,
    knownRelease: r.knownRelease,
    otherRanges: r.otherRanges,
  };
}

/** Said when the release is not one the catalog knows was published: answered all the same, from its line. */
function unknownReleaseWarning(r: Resolution): string | null {
  if (r.knownRelease !== false || !r.version) return null;
  const last = lastPatchOf(r.line);
  const known = last ? `${r.line} ended at v${last}` : `the catalog knows the published releases of its own lines only, and ${r.line} is not one of them`;
  return `v${r.version} is not a release the catalog knows was published (${known}); answered from its line all the same`;
}

/** The image rule when no tree is at hand: the pin's, else the line's fallback. */
function imageWithoutTree(r: Resolution) {
  return chooseImage({ runner: "docker", pin: r.pin, tree: null, catalog: { image: r.image, go: r.go } });
}

export function register(program: Command, ctx: CommandContext): void {
  program
    .command("resolve")
    .summary("say which strategy makes a release's kubelet nokmem")
    .description(
      "Look a Kubernetes release up in the catalog and print the strategy it needs, why, the files it changes, the build environment and the build image.",
    )
    .argument("<version>", "a release (1.16.15, v1.16.15) or a line (1.16)")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ kubelet-nokmem resolve 1.16.15
  $ kubelet-nokmem resolve v1.13.12 --json
  $ kubelet-nokmem resolve 1.21          # a whole line`,
    )
    .action((version: string, opts: { json?: boolean }) => {
      const r = resolve(ctx.catalog(), version);
      if (opts.json) return printJson(ctx.io, resolveJson(r));
      const env =
        Object.entries(r.env)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ") || "(none)";
      const lines = [
        `release:   ${r.version ? `v${r.version}` : `line ${r.line}`} (catalog range ${r.range})`,
        `strategy:  ${r.strategy}${r.affected ? "" : " (not affected: nothing to do)"}`,
        `why:       ${r.reason}`,
        `reference: ${r.reference}`,
        `changes:   ${r.changes.length ? r.changes.join(", ") : "no source files"}`,
        `build env: ${env}`,
        `image:     ${r.image} (Go ${r.go}; ${imageWithoutTree(r).rule === "pin" ? "pinned" : "the line's fallback: a build uses the image the tree's build/build-image names"})`,
        `runc:      ${r.runc} (${r.kmemLayout} layout expected)`,
      ];
      for (const o of r.otherRanges) lines.push(`note:      releases ${o.range} of this line need strategy ${o.strategy}`);
      const warning = unknownReleaseWarning(r);
      if (warning) lines.push(`warning:   ${warning}`);
      ctx.io.out(lines.join("\n"));
    });
}
