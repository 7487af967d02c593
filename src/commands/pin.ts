import type { Command } from "commander";
import { pinOutDir } from "../pin/record.js";
import { printJson, type CommandContext } from "./context.js";

export function register(program: Command, ctx: CommandContext): void {
  program
    .command("pin")
    .summary("record a build's kubelet (or runc) checksums as the release's pin in versions.json")
    .description(
      "Read a build output folder (manifest.json, SHA256SUMS, the kubelets or the runc), check the files still have the digests the manifest records, " +
        "and record release, platforms, sha256, source commit, image and patch digests as the release's pin in the catalog: under pins for a kubelet build, under runcPins for a `build runc` folder (the manifest's product). " +
        "A different existing pin is refused unless --force: re-pin only when the release or the build inputs changed.",
    )
    .argument("<out-dir>", "the --out folder of `kubelet-nokmem build`")
    .option("--force", "replace a different existing pin")
    .option("--key <public-key>", "require the build's Statements to be signed by this PEM public key (file or env:VARNAME), and record its keyid in the pin")
    .option("--dry-run", "say what would change, write nothing")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ kubelet-nokmem pin out/v1.16.15
  $ kubelet-nokmem pin out/v1.16.15 --catalog ./versions.json --dry-run --json
  $ kubelet-nokmem pin out/v1.16.15 --force     # after a deliberate change of build inputs
  $ kubelet-nokmem pin out/v1.16.15 --key kubelet-nokmem.pub   # check the signature, record the keyid
  $ kubelet-nokmem pin out/runc-1.0.0-rc93                     # a runc build: pinned under runcPins`,
    )
    .action(async (outDir: string, opts: { force?: boolean; dryRun?: boolean; json?: boolean; key?: string }) => {
      const key = opts.key === undefined ? null : await (await import("../artifact/keys.js")).loadVerifyingKey(opts.key);
      ctx.catalog(); // an invalid catalog is exit 5 before the folder is read, as for verify
      const result = await pinOutDir(ctx.catalogPath(), outDir, {
        force: opts.force,
        dryRun: opts.dryRun,
        key,
        signal: ctx.signal,
        onWait: (h) =>
          ctx.io.progress(
            `waiting for ${h ? `process ${h.pid} on ${h.host}${h.purpose ? ` (${h.purpose})` : ""}` : "another process"} to release ${ctx.catalogPath()}.lock`,
          ),
      });
      if (opts.json) return printJson(ctx.io, result);
      const what = !result.changed ? "already pinned, nothing to change" : opts.dryRun ? "would pin" : result.forced ? "re-pinned (forced)" : "pinned";
      ctx.io.out(`${result.product === "runc" ? "runc " : ""}${result.version}: ${what} in ${result.catalog}${result.product === "runc" ? " (runcPins)" : ""}`);
      for (const [platform, sha] of Object.entries(result.pin.sha256)) ctx.io.out(`  ${platform}  ${sha}`);
      for (const c of result.conflicts) ctx.io.out(`  replaced: ${c}`);
    });
}
