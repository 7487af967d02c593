/**
 * The tool's own container image, for the fleet DaemonSet and the
 * node-problem-detector plugin: a Debian minbase root with Debian's `nodejs`
 * (trixie ships Node 20) and this package's packed tarball installed globally
 * under /usr/local, its bin the entry point. Made like the toolchain image
 * (debootstrap + `docker import`, src/pipeline/image.ts): no registry.
 *
 * The tag is `kubelet-nokmem:<version>`, the version read from the package
 * installed into the image, so the image and the fleet bundle
 * (deploy/kustomize, its images: entry) name the same release (a test keeps them equal).
 */
import { isImageReference, quoteReference } from "../catalog/image-ref.js";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../catalog/load.js";
import { EnvironmentError, UsageError } from "../errors.js";
import { run, runPipeline } from "../process/exec.js";
import { DOCKER, dockerPreflight, findImage, imageMissing } from "./docker.js";
import { makeRootfs, rootfsTarArgs, type RootfsSpec } from "./image.js";
import type { Progress } from "./progress.js";

export const TOOL_IMAGE_PHASES = ["preflight", "package", "rootfs", "install", "import"] as const;
/** Debian 13: its `nodejs` is 20.19, what the package's engines field asks for. */
export const TOOL_SUITE = "trixie";
const TOOL_PACKAGES = ["nodejs"] as const;
const TOOL_PREFIX = "/usr/local";
const TOOL_NAME = "kubelet-nokmem";
export const TOOL_BIN = `${TOOL_PREFIX}/bin/${TOOL_NAME}`;
const NODE_VERSION_LABEL = "io.github.kubelet-nokmem.node-version";
const TOOL_VERSION_LABEL = "io.github.kubelet-nokmem.version";
/**
 * Left out of the image: apt's package lists and caches (about 110 MB; the
 * image never runs apt), manual pages and message translations. Debian's
 * copyright files under /usr/share/doc stay.
 */
const TOOL_PRUNE = ["var/cache/apt", "var/lib/apt/lists", "usr/share/man", "usr/share/locale"] as const;
const BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The image name the fleet manifests use for a release of this package. */
export const toolTag = (version: string) => `${TOOL_NAME}:${version}`;

interface ToolImageOptions {
  /** Default: toolTag(version of the installed package). */
  tag?: string;
  suite: string;
  mirror: string;
  /** A packed tarball to install; default: `npm pack` of this package. */
  tarball?: string;
  /** Keep the debootstrapped root as a tar here and reuse it next time. */
  rootfsCache?: string;
  workDir?: string;
}

interface ToolImageResult {
  image: string;
  id: string;
  version: string;
  node: string | null;
  suite: string;
  rootfs: "cache" | "debootstrap";
  seconds: number;
}

export function toolRootfsSpec(o: Pick<ToolImageOptions, "suite" | "mirror">): RootfsSpec {
  return { suite: o.suite, mirror: o.mirror, include: TOOL_PACKAGES };
}

/** `npm pack` of the package at `dir` into `into`; the build already happened (prepack would run it again). */
export function packArgs(into: string): string[] {
  return ["pack", "--ignore-scripts", "--json", "--pack-destination", into];
}

/** Install the tarball globally into a root's /usr/local, runtime dependencies only, from npm's cache when it has them. */
export function toolInstallArgs(rootfs: string, tarball: string): string[] {
  return [
    "install",
    "--global",
    "--prefix",
    join(rootfs, TOOL_PREFIX.slice(1)),
    "--omit=dev",
    "--prefer-offline",
    "--no-audit",
    "--no-fund",
    "--loglevel",
    "error",
    tarball,
  ];
}

export function toolImportArgs(tag: string, version: string, node: string | null, suite: string): string[] {
  return [
    "import",
    "-c",
    `ENV PATH=${BASE_PATH}`,
    "-c",
    `ENTRYPOINT ["${TOOL_BIN}"]`,
    "-c",
    'CMD ["--help"]',
    "-c",
    `LABEL ${TOOL_VERSION_LABEL}=${version}`,
    ...(node ? ["-c", `LABEL ${NODE_VERSION_LABEL}=${node}`] : []),
    "-m",
    `${TOOL_NAME} ${version}: Debian ${suite} minbase + nodejs`,
    "-",
    tag,
  ];
}

/** Pack the package at `dir` (default: this one) into `into`; returns the tarball's path. */
export async function packPackage(into: string, dir = PACKAGE_ROOT, signal?: AbortSignal): Promise<string> {
  const r = await run({ file: "npm", args: packArgs(into), cwd: dir }, { signal });
  const packed = JSON.parse(r.stdout) as { filename: string }[];
  if (!packed[0]?.filename)
    throw new EnvironmentError(
      "E_NPM_PACK",
      `expected \`npm pack\` in ${dir} to name the tarball it made, found ${JSON.stringify(r.stdout.slice(0, 200))}`,
      `run \`npm pack\` in ${dir} and pass the tarball with --tarball`,
    );
  return join(into, packed[0].filename);
}

/** The `Version:` of a package in a root's dpkg status file, as Debian wrote it (`20.19.2+dfsg-1`). */
export function dpkgVersion(status: string, pkg: string): string | null {
  for (const stanza of status.split(/\n\n+/)) {
    if (!new RegExp(`^Package: ${pkg.replace(/[.+]/g, "\\$&")}$`, "m").test(stanza)) continue;
    return /^Version: (\S+)$/m.exec(stanza)?.[1] ?? null;
  }
  return null;
}

export function validateToolImageOptions(o: ToolImageOptions): void {
  if (o.tag !== undefined && !isImageReference(o.tag))
    throw new UsageError(
      "E_IMAGE_TAG",
      `expected --tag as a Docker image name such as ${toolTag("0.1.0")}, found ${quoteReference(o.tag)}`,
      'use lower case letters, digits, . _ - / : (no leading "-", no spaces)',
    );
  if (!/^[a-z]+(-[a-z]+)?$/.test(o.suite))
    throw new UsageError(
      "E_SUITE",
      `expected --suite as a Debian suite name such as ${TOOL_SUITE}, found ${JSON.stringify(o.suite)}`,
      `pass --suite ${TOOL_SUITE}`,
    );
}

export async function buildToolImage(o: ToolImageOptions, progress: Progress, signal: AbortSignal): Promise<ToolImageResult> {
  validateToolImageOptions(o);
  const started = Date.now();
  progress.start("preflight");
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new EnvironmentError(
      "E_NOT_ROOT",
      `expected to run as root (debootstrap creates device nodes and chowns files), found uid ${process.getuid()}`,
      "run `sudo kubelet-nokmem image build --tool`",
    );
  }
  await dockerPreflight(signal);
  progress.done();
  const work = await mkdtemp(join(o.workDir ?? tmpdir(), "kubelet-nokmem-tool-"));
  const dir = join(work, "rootfs");
  try {
    progress.start("package", o.tarball ?? `npm pack ${PACKAGE_ROOT}`);
    const tarball = o.tarball ?? (await packPackage(work, PACKAGE_ROOT, signal));
    progress.done(tarball);

    progress.start("rootfs", `${o.suite} minbase + ${TOOL_PACKAGES.join(", ")}${o.rootfsCache ? ` (cache ${o.rootfsCache})` : ""}`);
    const how = await makeRootfs(toolRootfsSpec(o), dir, { cacheDir: o.rootfsCache, signal, onLine: (l) => progress.output(l) });
    const node = dpkgVersion(await readFile(join(dir, "var/lib/dpkg/status"), "utf8"), "nodejs");
    progress.done(`${how}, nodejs ${node ?? "?"}`);

    progress.start("install", tarball);
    await run({ file: "npm", args: toolInstallArgs(dir, tarball) }, { signal, onLine: (l) => progress.output(l) });
    const installed = JSON.parse(await readFile(join(dir, TOOL_PREFIX.slice(1), "lib/node_modules", TOOL_NAME, "package.json"), "utf8")) as { version: string };
    for (const p of TOOL_PRUNE) await rm(join(dir, p), { recursive: true, force: true });
    progress.done(installed.version);

    const tag = o.tag ?? toolTag(installed.version);
    progress.start("import", tag);
    await runPipeline(
      { file: "tar", args: rootfsTarArgs(dir) },
      { file: DOCKER, args: toolImportArgs(tag, installed.version, node, o.suite) },
      { signal, onLine: (l) => progress.output(l) },
    );
    const img = await findImage(tag, signal);
    if (!img) throw imageMissing(tag);
    progress.done(img.id);
    return { image: tag, id: img.id, version: installed.version, node, suite: o.suite, rootfs: how, seconds: Math.round((Date.now() - started) / 100) / 10 };
  } finally {
    await rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
}
