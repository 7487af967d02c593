import type { Command } from "commander";
import { buildMatrix, githubMatrix, gitlabChildPipeline } from "../catalog/matrix.js";
import { parsePlatforms } from "../catalog/platforms.js";
import { UsageError } from "../errors.js";
import type { CommandContext } from "./context.js";

const list = (v: string) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

export function register(program: Command, ctx: CommandContext): void {
  program
    .command("matrix")
    .summary("print the build matrix (pinned affected releases × platforms) for a CI engine")
    .description(
      "Print every affected pinned release of the catalog × its platforms (plus the releases --releases names, pinned or not) as JSON a CI engine reads directly: " +
        '`--format github` gives {"include":[…]} for a job matrix (fromJSON), `--format gitlab` a child pipeline, ' +
        "`--format json` (default) the plain list.",
    )
    .option("--line <lines>", "only these release lines, comma-separated (1.16,1.18)", list)
    .option("--strategy <ids>", "only these strategies, comma-separated (build-tag,kmem-override,runc-build-tag)", list)
    .option("--platform <platforms>", "build these platforms instead of each pin's own", parsePlatforms)
    .option(
      "--releases <versions>",
      "also build these exact releases, pinned or not (bootstrap: 1.16.15,1.20.15; runc@1.0.0-rc93 for the runtime's runc)",
      list,
    )
    .option("--unpinned", "only entries that have no pinned sha256 yet")
    .option("--image <image>", "build image for entries whose pin records none (default: the release line's)")
    .option("--include-unaffected", "also list pinned releases that need no change (strategy none)")
    .option("--format <format>", "json | github | gitlab", "json")
    .option("--compact", "print on one line (for a name=value line of $GITHUB_OUTPUT)")
    .addHelpText(
      "after",
      `
Examples:
  $ kubelet-nokmem matrix
  $ echo "matrix=$(kubelet-nokmem matrix --format github --compact)" >> "$GITHUB_OUTPUT"
  $ kubelet-nokmem matrix --releases 1.16.15,1.20.15 --unpinned --image kubelet-nokmem-toolchain:go1.19
  $ kubelet-nokmem matrix --line 1.16,1.18 --platform linux/amd64,linux/arm64
  $ kubelet-nokmem matrix --format gitlab > child-pipeline.yml    # GitLab includes only .yml/.yaml`,
    )
    .action(
      (opts: {
        line?: string[];
        strategy?: string[];
        platform?: string[];
        releases?: string[];
        unpinned?: boolean;
        image?: string;
        includeUnaffected?: boolean;
        format: string;
        compact?: boolean;
      }) => {
        const entries = buildMatrix(ctx.catalog(), {
          lines: opts.line,
          strategies: opts.strategy,
          platforms: opts.platform,
          releases: opts.releases,
          unpinned: opts.unpinned,
          image: opts.image,
          includeUnaffected: opts.includeUnaffected,
        });
        let value: unknown;
        switch (opts.format) {
          case "json":
            value = entries;
            break;
          case "github":
            value = githubMatrix(entries);
            break;
          case "gitlab":
            value = gitlabChildPipeline(entries);
            break;
          default:
            throw new UsageError("E_FORMAT", `expected --format json, github or gitlab, found ${JSON.stringify(opts.format)}`, "pass one of the three");
        }
        ctx.io.out(opts.compact ? JSON.stringify(value) : JSON.stringify(value, null, 2));
      },
    );
}
