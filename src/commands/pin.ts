import type { Command } from "commander";
import { readPublishedBuild } from "../pin/outdir.js";
import { storePin } from "../pin/store.js";
import { verifyTarget } from "../pin/verify.js";
import { VerificationError } from "../errors.js";
import { printJson, type CommandContext } from "./context.js";

export function register(program: Command, ctx: CommandContext): void {
  program
    .command("pin")
    .summary("record a build's kubelet checksums as the release's pin in versions.json")
    .description(
      "Read a build output folder (manifest.json, SHA256SUMS, the kubelets), check the files still have the digests the manifest records, " +
        "and record release, platforms, sha256, source commit, image and patch digests as the release's pin in the catalog. " +
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
  $ kubelet-nokmem pin out/v1.16.15 --key kubelet-nokmem.pub   # check the signature, record the keyid`,
    )
    .action(async (outDir: string, opts: { force?: boolean; dryRun?: boolean; json?: boolean; key?: string }) => {
      const key = opts.key ? await (await import("../artifact/attestations.js")).loadVerifyingKey(opts.key) : null;
      const build = await readPublishedBuild(outDir, key);
      // The files must still be what the manifest says before they become the reference.
      const broken = (await verifyTarget({ ...ctx.catalog(), pins: {} }, outDir)).filter((r) => r.outcome === "mismatch");
      if (broken.length) {
        throw new VerificationError("E_OUT_DIR_CHANGED", `expected the files of ${outDir} to match its manifest, found ${broken.map((b) => `${b.platform}: ${b.reasons.join(", ")}`).join("; ")}`, "rebuild; never pin a changed artifact");
      }
      const change = await storePin(ctx.catalogPath(), build.version, build.pin, {
        force: opts.force,
        dryRun: opts.dryRun,
        signal: ctx.signal,
        onWait: (h) => ctx.io.progress(`waiting for the run holding ${ctx.catalogPath()}${h ? ` (pid ${h.pid})` : ""} to finish`),
      });
      const result = { version: build.version, catalog: ctx.catalogPath(), changed: change.changed, written: change.changed && !opts.dryRun, forced: change.conflicts.length > 0, conflicts: change.conflicts, pin: change.pin };
      if (opts.json) return printJson(ctx.io, result);
      const what = !change.changed ? "already pinned, nothing to change" : opts.dryRun ? "would pin" : change.conflicts.length ? "re-pinned (forced)" : "pinned";
      ctx.io.out(`${build.version}: ${what} in ${ctx.catalogPath()}`);
      for (const [platform, sha] of Object.entries(change.pin.sha256)) ctx.io.out(`  ${platform}  ${sha}`);
      for (const c of change.conflicts) ctx.io.out(`  replaced: ${c}`);
    });
}
