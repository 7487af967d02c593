import { join } from "node:path";
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { printJson, type CommandContext } from "./context.js";

interface PackageFlags {
  format: string;
  release: string;
  gpgKey?: string;
  signKey?: string;
  key?: string;
  repo?: string;
  json?: boolean;
}

/** SOURCE_DATE_EPOCH when set (the same kubelet packaged twice gives the same bytes), else now. */
function packageDate(): Date {
  const e = process.env.SOURCE_DATE_EPOCH;
  if (e === undefined || e === "") return new Date();
  if (!/^\d{1,12}$/.test(e))
    throw new UsageError(
      "E_EPOCH",
      `expected SOURCE_DATE_EPOCH to be seconds since 1970, found ${JSON.stringify(e)}`,
      "unset it, or export SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)",
    );
  return new Date(Number(e) * 1000);
}

export function register(program: Command, ctx: CommandContext): void {
  program
    .command("package")
    .summary("make RPM and DEB packages of verified builds, and the yum and apt repositories that serve them")
    .description(
      "Check each build output folder as `verify` does, then package each platform's kubelet as an RPM and a DEB that replace the stock " +
        "`kubelet` package of the same release in place (same paths, unit and config files, dependencies; a version that sorts above " +
        "the stock one), write a yum repository (createrepo_c) and an apt repository (apt-ftparchive), and add the packages to " +
        "SHA256SUMS and to packages.json. Several folders (releases, platforms) make one repository at --repo. With --gpg-key the " +
        "RPMs and the repository metadata are signed. Nothing is packaged unless every folder verifies: exit 4 when one does not, " +
        "10 when its kubelets are not pinned.",
    )
    .argument("<out-dir...>", "the --out folder(s) of `kubelet-nokmem build`, pinned")
    .option("--format <formats>", "rpm, deb or both", "rpm,deb")
    .option("--release <n>", "the package release number: bump it to package the same kubelet again", "1")
    .option("--gpg-key <secret-key>", "armoured OpenPGP secret key (file or env:VARNAME) that signs the RPMs, repomd.xml and the apt Release")
    .option("--sign-key <private-key>", "PEM private key (file or env:VARNAME) that signs packages.json as a DSSE envelope")
    .option("--key <public-key>", "accept the folder only as signed by this PEM public key (as `verify --key`)")
    .option("--repo <dir>", "where the yum/ and apt/ repositories are written (default: OUT_DIR/repo; required with several folders)")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ kubelet-nokmem package out/v1.20.2
  $ kubelet-nokmem package out/v1.20.2 --format rpm --release 2
  $ kubelet-nokmem package out/v1.20.2 --gpg-key env:REPO_GPG_KEY --repo /srv/kubelet-nokmem --json
  $ kubelet-nokmem package out/1.16.15-linux-amd64 out/1.20.15-linux-amd64 --repo repo

Exit codes: 0 packaged · 2 bad arguments · 3 a packaging tool missing · 4 the folder does not verify or a kubelet is not patched · 9 a build is publishing into it · 10 not pinned`,
    )
    .action(async (outDirs: string[], opts: PackageFlags) => {
      const { parseFormats, parsePackageRelease } = await import("../package/layout.js");
      const formats = parseFormats(opts.format);
      const release = parsePackageRelease(opts.release);
      const date = packageDate();
      const att = await import("../artifact/keys.js");
      const key = opts.key !== undefined ? await att.loadVerifyingKey(opts.key) : undefined;
      const signKey = opts.signKey !== undefined ? await att.loadSigningKey(opts.signKey) : undefined;
      const { packageOutDir, packageOutDirs } = await import("../package/index.js");
      const o = { formats, release, gpgKey: opts.gpgKey, signKey, key, repo: opts.repo, date, signal: ctx.signal };
      // One folder: the object docs/packages.md shows; several: that object per folder under `folders`.
      const [only, ...more] = outDirs;
      const result = only !== undefined && !more.length ? await packageOutDir(ctx.catalog(), only, o) : await packageOutDirs(ctx.catalog(), outDirs, o);
      if (opts.json) return printJson(ctx.io, result);
      const folders = "folders" in result ? result.folders : [result];
      for (const f of folders) for (const p of f.packages) ctx.io.out(`${p.format}  ${p.platform.padEnd(13)} ${join(f.outDir, p.name)}`);
      ctx.io.out(`yum repository: ${result.repositories.yum ?? "-"}`);
      ctx.io.out(`apt repository: ${result.repositories.apt ?? "-"}`);
      ctx.io.out(
        result.signed.gpg ? `signed with OpenPGP key ${result.signed.gpg}` : "not signed (pass --gpg-key to sign the RPMs and the repository metadata)",
      );
    });
}
