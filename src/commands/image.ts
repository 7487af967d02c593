import type { Command } from "commander";
import { imageMissing } from "../pipeline/docker.js";
import { buildImage, checkImage, DEFAULT_GO, DEFAULT_MIRROR, DEFAULT_SUITE, defaultTag, IMAGE_PHASES } from "../pipeline/image.js";
import { Progress } from "../pipeline/progress.js";
import { printJson, progressSink, type CommandContext } from "./context.js";

interface ImageBuildFlags {
  tag?: string;
  suite: string;
  mirror: string;
  go: string;
  keepRootfs?: boolean;
  workDir?: string;
  json?: boolean;
  verbose?: boolean;
}

export function register(program: Command, ctx: CommandContext): void {
  const image = program
    .command("image")
    .summary("make or check the offline toolchain image builds run in")
    .description("The toolchain image is Debian minbase plus Go, make, gcc, libc headers, git and rsync, made from Debian packages with debootstrap and `docker import`: no registry needed.")
    .addHelpText(
      "after",
      `
Examples:
  $ sudo kubelet-nokmem image build
  $ kubelet-nokmem image build --go 1.19 --tag kubelet-nokmem-toolchain:go1.19 --mirror http://deb.debian.org/debian
  $ kubelet-nokmem image check kubelet-nokmem-toolchain:go1.19 --json`,
    );

  image
    .command("build")
    .summary("make the toolchain image from Debian packages (needs root, debootstrap and Docker)")
    .option("--tag <name>", `image name (default: ${defaultTag(DEFAULT_GO)}, following --go)`)
    .option("--suite <suite>", "Debian suite", DEFAULT_SUITE)
    .option("--mirror <url>", "Debian mirror", DEFAULT_MIRROR)
    .option("--go <version>", "Debian Go package version (golang-<go>-go)", DEFAULT_GO)
    .option("--keep-rootfs", "keep the debootstrapped root filesystem and print its path")
    .option("--work-dir <dir>", "where to make the root filesystem (default: the temp folder)")
    .option("--json", "print the result as JSON on stdout")
    .option("-v, --verbose", "show every debootstrap line")
    .addHelpText(
      "after",
      `
Examples:
  $ sudo kubelet-nokmem image build
  $ sudo kubelet-nokmem image build --suite bookworm --go 1.19 --json`,
    )
    .action(async (o: ImageBuildFlags) => {
      const progress = new Progress(progressSink(ctx.io), IMAGE_PHASES, Boolean(o.verbose) || ctx.verbose(), 20_000);
      const r = await buildImage(
        { tag: o.tag ?? defaultTag(o.go), suite: o.suite, mirror: o.mirror, go: o.go, keepRootfs: Boolean(o.keepRootfs), workDir: o.workDir },
        progress,
        ctx.signal,
      );
      if (o.json) return printJson(ctx.io, { image: r.image, id: r.id, go: r.go, suite: r.suite, mirror: r.mirror, rootfs: r.rootfs, seconds: r.seconds });
      ctx.io.out(`image:  ${r.image}\nid:     ${r.id}\ngo:     ${r.go}\ntook:   ${r.seconds}s${r.rootfs ? `\nrootfs: ${r.rootfs}` : ""}`);
    });

  image
    .command("check")
    .summary("say whether a build image exists here and which Go it has")
    .argument("[name]", "image name", defaultTag(DEFAULT_GO))
    .option("--json", "print the result as JSON on stdout")
    .addHelpText(
      "after",
      `
Examples:
  $ kubelet-nokmem image check
  $ kubelet-nokmem image check registry.k8s.io/build-image/kube-cross:v1.15.5-1 --json`,
    )
    .action(async (name: string, o: { json?: boolean }) => {
      const r = await checkImage(name, ctx.signal);
      if (!r.exists) throw imageMissing(name);
      if (o.json) return printJson(ctx.io, { image: r.image, exists: r.exists, id: r.id, go: r.go, created: r.created });
      ctx.io.out(`image:   ${r.image}\nid:      ${r.id}\ngo:      ${r.go ?? "unknown"}\ncreated: ${r.created}`);
    });
}
