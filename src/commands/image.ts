import type { Command } from "commander";
import { resolve } from "node:path";
import { buildImage, checkImage, DEFAULT_GO, DEFAULT_MIRROR, DEFAULT_SUITE, defaultTag, IMAGE_PHASES, validateImageOptions } from "../pipeline/image.js";
import { Progress } from "../pipeline/progress.js";
import { buildToolImage, TOOL_IMAGE_PHASES, TOOL_SUITE, toolTag, validateToolImageOptions } from "../pipeline/tool-image.js";
import { UsageError } from "../errors.js";
import { ensureDirectory } from "../io/directory.js";
import { printJson, progressSink, type CommandContext } from "./context.js";

interface ImageBuildFlags {
  tag?: string;
  suite?: string;
  tool?: boolean;
  runc?: boolean;
  tarball?: string;
  rootfsCache?: string;
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
    .summary("make or check the offline toolchain image builds run in, or this tool's own image")
    .description(
      "The toolchain image is Debian minbase plus Go, make, gcc, libc headers, git and rsync, made from Debian packages with debootstrap and `docker import`: no registry needed. " +
        `With --tool, the same makes this tool's own image (${toolTag("<version>")}) for the fleet manifests: Debian ${TOOL_SUITE} minbase with nodejs and this package installed globally, its bin the entry point.`,
    )
    .addHelpText(
      "after",
      `
Examples:
  $ sudo kubelet-nokmem image build
  $ sudo kubelet-nokmem image build --tool
  $ kubelet-nokmem image build --go 1.19 --tag kubelet-nokmem-toolchain:go1.19 --mirror http://deb.debian.org/debian
  $ kubelet-nokmem image check kubelet-nokmem-toolchain:go1.19 --json`,
    );

  image
    .command("build")
    .summary("make the toolchain image (or with --tool this tool's image) from Debian packages (needs root, debootstrap and Docker)")
    .option("--tool", `make this tool's own image (${toolTag("<package version>")}) instead of the toolchain image`)
    .option("--runc", `make the runc toolchain image (${defaultTag(DEFAULT_GO, "runc")}): the toolchain plus libseccomp-dev and pkg-config, for \`build runc\``)
    .option(
      "--tag <name>",
      `image name (default: ${defaultTag(DEFAULT_GO)}, following --go; with --runc ${defaultTag(DEFAULT_GO, "runc")}; with --tool ${toolTag("<package version>")})`,
    )
    .option("--suite <suite>", `Debian suite (default: ${DEFAULT_SUITE}; with --tool ${TOOL_SUITE}, whose nodejs is 20)`)
    .option("--tarball <file>", "with --tool: the packed package to install (default: `npm pack` of this installation)")
    .option("--rootfs-cache <dir>", "with --tool: keep the debootstrapped root filesystem as a tar here and reuse it")
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
  $ sudo kubelet-nokmem image build --suite bookworm --go 1.19 --json
  $ sudo kubelet-nokmem image build --runc
  $ sudo kubelet-nokmem image build --tool --rootfs-cache ~/.cache/kubelet-nokmem/rootfs`,
    )
    .action(async (o: ImageBuildFlags) => {
      if (!o.tool && (o.tarball || o.rootfsCache)) {
        throw new UsageError(
          "E_IMAGE_FLAGS",
          `expected --tarball and --rootfs-cache only with --tool, found ${o.tarball ? "--tarball" : "--rootfs-cache"} without it`,
          "add --tool to make this tool's image",
        );
      }
      if (o.tool && o.runc) {
        throw new UsageError(
          "E_IMAGE_FLAGS",
          "expected at most one of --tool and --runc, found both",
          "make the runc toolchain image with --runc, this tool's image with --tool, one at a time",
        );
      }
      if (o.tool && o.keepRootfs) {
        throw new UsageError(
          "E_IMAGE_FLAGS",
          "expected --keep-rootfs only without --tool, found both",
          "use --rootfs-cache DIR with --tool to keep its root filesystem as a tar",
        );
      }
      const workDir = o.workDir === undefined ? undefined : resolve(o.workDir);
      const toolOptions = { tag: o.tag, suite: o.suite ?? TOOL_SUITE, mirror: o.mirror, tarball: o.tarball, rootfsCache: o.rootfsCache, workDir };
      const imageOptions = {
        tag: o.tag ?? defaultTag(o.go, o.runc ? "runc" : "kubelet"),
        suite: o.suite ?? DEFAULT_SUITE,
        mirror: o.mirror,
        go: o.go,
        keepRootfs: Boolean(o.keepRootfs),
        runc: Boolean(o.runc),
        workDir,
      };
      // Every flag first; then a --work-dir not made yet is made (a mkdtemp inside a missing folder was "internal error").
      if (o.tool) validateToolImageOptions(toolOptions);
      else validateImageOptions(imageOptions);
      if (workDir !== undefined) await ensureDirectory(workDir);
      if (o.tool) {
        const progress = new Progress(progressSink(ctx.io), TOOL_IMAGE_PHASES, Boolean(o.verbose) || ctx.verbose(), 20_000);
        const r = await buildToolImage(toolOptions, progress, ctx.signal);
        if (o.json)
          return printJson(ctx.io, { image: r.image, id: r.id, version: r.version, node: r.node, suite: r.suite, rootfs: r.rootfs, seconds: r.seconds });
        ctx.io.out(
          `image:   ${r.image}\nid:      ${r.id}\nversion: ${r.version}\nnode:    ${r.node ?? "unknown"}\nrootfs:  ${r.rootfs}\ntook:    ${r.seconds}s`,
        );
        return;
      }
      const progress = new Progress(progressSink(ctx.io), IMAGE_PHASES, Boolean(o.verbose) || ctx.verbose(), 20_000);
      const r = await buildImage(imageOptions, progress, ctx.signal);
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
      if (o.json) return printJson(ctx.io, r);
      ctx.io.out(`image:   ${r.image}\nid:      ${r.id}\ngo:      ${r.go ?? "unknown"}\ncreated: ${r.created}`);
    });
}
