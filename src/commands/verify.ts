import type { Command } from "commander";
import { parsePlatforms } from "../catalog/platforms.js";
import { UnpinnedError, VerificationError } from "../errors.js";
import { overall, parseVerifyVersion, verifyTarget, type VerifyResult } from "../pin/verify.js";
import { printJson, type CommandContext } from "./context.js";

export function register(program: Command, ctx: CommandContext): void {
  program
    .command("verify")
    .summary("check kubelets (or runc) against their pins and build manifest (match / mismatch / unpinned)")
    .description(
      "Hash each kubelet and compare it with the catalog's pin for its release and platform and, for a build output folder " +
        "(or with --manifest), with the digests its manifest.json and SHA256SUMS record. Exit 0 when everything matches, " +
        "4 on any mismatch, 10 when something has no pin.",
    )
    .argument("<targets...>", "kubelet or runc binaries, build output folders (of `build` or `build runc`), or .rpm/.deb packages of `kubelet-nokmem package`")
    .option("--version <version>", "the release of a bare binary (default: its version stamp, read without running it)")
    .option("--platform <platform>", "the platform of a bare binary (default: read from its ELF header)")
    .option("--manifest <out-dir>", "also check a bare binary against this build's manifest")
    .option("--key <public-key>", "accept a build's manifest only if its DSSE envelope verifies with this PEM public key (file or env:VARNAME)")
    .option("--json", "print the results as JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ kubelet-nokmem verify out/v1.16.15
  $ kubelet-nokmem verify /usr/bin/kubelet --version 1.16.15 --json
  $ kubelet-nokmem verify /usr/bin/kubelet          # release from the binary's own stamp
  $ kubelet-nokmem verify ./kubelet --manifest out/v1.16.15
  $ kubelet-nokmem verify out/v1.16.15 --key kubelet-nokmem.pub   # signature, then digests
  $ kubelet-nokmem verify kubelet-1.20.2-1.nokmem.x86_64.rpm        # the kubelet inside, without installing
  $ kubelet-nokmem verify out/runc-1.0.0-rc93                       # a runc build, against its runcPins pin
  $ kubelet-nokmem verify /usr/bin/runc                             # runc's release from its runc --version stamp

Exit codes: 0 match · 2 bad arguments (an empty --key too), not an output folder
· 4 mismatch, a refused or changed output folder, bad or missing signature · 9 a build is publishing into it · 10 unpinned
(the same check of an output folder as pin and audit --manifest: docs/provenance.md)`,
    )
    .action(async (targets: string[], opts: { version?: string; platform?: string; manifest?: string; key?: string; json?: boolean }) => {
      if (opts.version !== undefined) parseVerifyVersion(opts.version); // a usage error before any file is read
      const platform = opts.platform !== undefined ? parsePlatforms(opts.platform)[0] : undefined;
      const key = opts.key !== undefined ? await (await import("../artifact/keys.js")).loadVerifyingKey(opts.key) : undefined;
      const results: VerifyResult[] = [];
      for (const t of targets) {
        const o = { version: opts.version, platform, manifestDir: opts.manifest, key };
        // A .rpm/.deb: its kubelet is unpacked and verified as a bare one (src/package/check.ts).
        if (/\.(rpm|deb)$/i.test(t)) results.push(...(await (await import("../package/check.js")).verifyPackage(ctx.catalog(), t, o, ctx.signal)));
        else results.push(...(await verifyTarget(ctx.catalog(), t, o)));
      }
      const outcome = overall(results);
      if (opts.json) printJson(ctx.io, { outcome, results });
      else {
        for (const r of results) {
          ctx.io.out(`${r.outcome.padEnd(8)} ${r.product === "runc" ? "runc " : ""}${r.version} ${r.platform} ${r.path}`);
          for (const why of r.reasons) ctx.io.out(`         ${why}`);
        }
      }
      const n = results.filter((r) => r.outcome === outcome).length;
      if (outcome === "mismatch")
        throw new VerificationError(
          "E_PIN_MISMATCH",
          `expected every binary to match its pin, found ${n} mismatch${n > 1 ? "es" : ""}`,
          "do not roll these binaries out; rebuild and compare inputs",
        );
      if (outcome === "unpinned")
        throw new UnpinnedError("E_UNPINNED", `expected a pin for every binary, found ${n} without one`, "record one with `kubelet-nokmem pin OUT_DIR`");
    });
}
