/**
 * The offline toolchain image: a Debian minbase root filesystem with Go and
 * the tools a Kubernetes build needs (make, bash, gcc + libc headers for cgo,
 * git, rsync), made with debootstrap from a Debian mirror and turned into an
 * image with `docker import`. No registry is involved, so air-gapped sites with
 * a Debian mirror can make it.
 */
import { isImageReference, quoteReference } from "../catalog/image-ref.js";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, realpath, rename, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { EnvironmentError, UsageError } from "../errors.js";
import { run, runPipeline } from "../process/exec.js";
import { DOCKER, dockerPreflight, findImage, GO_VERSION_LABEL, imageGoVersion, imageMissing, parseGoVersion } from "./docker.js";
import type { Progress } from "./progress.js";

export const IMAGE_PHASES = ["preflight", "debootstrap", "import"] as const;
export const DEFAULT_GO = "1.19";
export const DEFAULT_SUITE = "bookworm";
export const DEFAULT_MIRROR = "http://deb.debian.org/debian";
export const defaultTag = (go: string, product: "kubelet" | "runc" = "kubelet") => `kubelet-nokmem-toolchain:go${go}${product === "runc" ? "-runc" : ""}`;
/** Packages besides Go: make and bash for the build scripts, gcc + libc6-dev for cgo, git and rsync used by hack/. */
const TOOLCHAIN_PACKAGES = ["make", "gcc", "libc6-dev", "git", "rsync", "ca-certificates"];
/** runc links libseccomp through cgo (its Makefile's default BUILDTAGS has `seccomp`); pkg-config finds it. */
const RUNC_PACKAGES = ["libseccomp-dev", "pkg-config"];
const BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

interface ImageBuildOptions {
  tag: string;
  suite: string;
  mirror: string;
  /** Debian's Go package version: golang-<go>-go. */
  go: string;
  keepRootfs: boolean;
  /** Add what a runc build needs over a kubelet's (libseccomp headers, pkg-config). */
  runc?: boolean;
  /** Where the root filesystem is made (a fresh folder inside). */
  workDir?: string;
}

interface ImageBuildResult {
  image: string;
  id: string;
  go: string;
  suite: string;
  mirror: string;
  rootfs: string | null;
  seconds: number;
}

export function debootstrapArgs(o: Pick<ImageBuildOptions, "suite" | "mirror" | "go" | "runc">, dir: string): string[] {
  return minbaseArgs(toolchainSpec(o), dir);
}

function toolchainSpec(o: Pick<ImageBuildOptions, "suite" | "mirror" | "go" | "runc">): RootfsSpec {
  return { suite: o.suite, mirror: o.mirror, include: [`golang-${o.go}-go`, ...TOOLCHAIN_PACKAGES, ...(o.runc ? RUNC_PACKAGES : [])] };
}

/** A Debian minbase root: which suite, from where, with which packages. */
export interface RootfsSpec {
  suite: string;
  mirror: string;
  include: readonly string[];
}

export function minbaseArgs(spec: RootfsSpec, dir: string): string[] {
  return ["--variant=minbase", `--include=${spec.include.join(",")}`, spec.suite, dir, spec.mirror];
}

/** The cached tar of a root filesystem: named by everything that went into it. */
export function rootfsCacheFile(cacheDir: string, spec: RootfsSpec): string {
  const key = createHash("sha256")
    .update(JSON.stringify({ suite: spec.suite, mirror: spec.mirror, include: [...spec.include].sort(), arch: process.arch }))
    .digest("hex")
    .slice(0, 16);
  return join(cacheDir, `rootfs-${spec.suite}-${key}.tar`);
}

/**
 * Make a minbase root filesystem in `dir` (which must not exist): from the
 * cached tar when `cacheDir` holds one for this very spec, else with
 * debootstrap (a couple of minutes), then cached there. The cache is written
 * under a temporary name and renamed, so a killed run never leaves half a tar.
 */
export async function makeRootfs(
  spec: RootfsSpec,
  dir: string,
  o: { cacheDir?: string; signal: AbortSignal; onLine?: (l: string) => void },
): Promise<"cache" | "debootstrap"> {
  const cached = o.cacheDir ? rootfsCacheFile(o.cacheDir, spec) : null;
  if (cached && existsSync(cached)) {
    await mkdir(dir, { recursive: true });
    await run({ file: "tar", args: ["--numeric-owner", "-xpf", cached, "-C", dir] }, { signal: o.signal });
    return "cache";
  }
  const debootstrap = findDebootstrap();
  if (!debootstrap) throw debootstrapMissing();
  try {
    await run({ file: debootstrap, args: minbaseArgs(spec, dir) }, { signal: o.signal, onLine: o.onLine }).catch((err: Error) => {
      if (o.signal.aborted) throw err;
      throw new EnvironmentError(
        "E_DEBOOTSTRAP",
        `expected debootstrap to make a ${spec.suite} root filesystem, found it failing: ${err.message}`,
        `check that ${spec.mirror} is reachable and has ${spec.suite} and ${spec.include.join(", ")}, or pass --mirror`,
      );
    });
  } finally {
    await unmountUnder(dir);
  }
  if (cached) {
    await mkdir(dirname(cached), { recursive: true });
    const part = `${cached}.${process.pid}.tmp`;
    try {
      await run({ file: "tar", args: ["--numeric-owner", "-C", dir, "-cf", part, "."] }, { signal: o.signal });
      await rename(part, cached);
    } finally {
      await rm(part, { force: true });
    }
  }
  return "debootstrap";
}

/** `tar … | docker import …`: the tar side. Numeric owners so the image does not depend on this host's users. */
export function rootfsTarArgs(dir: string): string[] {
  return ["--numeric-owner", "-C", dir, "-c", "."];
}

export function importArgs(o: Pick<ImageBuildOptions, "tag" | "go" | "suite" | "runc">, goVersion: string): string[] {
  return [
    "import",
    "-c",
    `ENV PATH=/usr/lib/go-${o.go}/bin:${BASE_PATH}`,
    "-c",
    `LABEL ${GO_VERSION_LABEL}=${goVersion}`,
    "-m",
    `kubelet-nokmem toolchain: Debian ${o.suite} minbase + golang-${o.go}-go${o.runc ? ` + ${RUNC_PACKAGES.join(" + ")}` : ""}`,
    "-",
    o.tag,
  ];
}

export function validateImageOptions(o: ImageBuildOptions): void {
  if (!/^\d+\.\d+$/.test(o.go))
    throw new UsageError(
      "E_GO_VERSION",
      `expected --go as MAJOR.MINOR such as 1.19, found ${JSON.stringify(o.go)}`,
      "pass the Debian package's version: golang-1.19-go → --go 1.19",
    );
  if (!isImageReference(o.tag))
    throw new UsageError(
      "E_IMAGE_TAG",
      `expected --tag as a Docker image name such as kubelet-nokmem-toolchain:go1.19, found ${quoteReference(o.tag)}`,
      'use lower case letters, digits, . _ - / : (no leading "-", no spaces)',
    );
  if (!/^[a-z]+(-[a-z]+)?$/.test(o.suite))
    throw new UsageError("E_SUITE", `expected --suite as a Debian suite name such as bookworm, found ${JSON.stringify(o.suite)}`, "pass --suite bookworm");
}

/**
 * Unmount whatever is mounted at or under `dir`, deepest first. debootstrap
 * mounts proc (and sys, and in a container binds the host's /dev) inside the
 * root it makes and unmounts them when it ends well; killed or failing, it
 * leaves them mounted, and removing the root would then walk into them (a
 * bound /dev is the host's). Lazily (`umount -l`), so a busy mount goes too.
 */
export async function unmountUnder(dir: string): Promise<void> {
  let table: string;
  let real: string;
  try {
    [table, real] = await Promise.all([readFile("/proc/self/mountinfo", "utf8"), realpath(dir)]);
  } catch {
    return;
  }
  // The fifth field is the mount point, with space, tab, newline and backslash written as octal escapes.
  const points = table
    .split("\n")
    .map((line) => line.split(" ")[4]?.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p): p is string => p !== undefined && (p === real || p.startsWith(`${real}/`)));
  for (const p of points.sort((a, b) => b.length - a.length)) await run({ file: "umount", args: ["-l", p] }).catch(() => undefined);
}

/** Checks that need no work done: root, debootstrap, Docker. */
async function imagePreflight(signal?: AbortSignal): Promise<void> {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new EnvironmentError(
      "E_NOT_ROOT",
      `expected to run as root (debootstrap creates device nodes and chowns files), found uid ${process.getuid()}`,
      "run `sudo kubelet-nokmem image build`",
    );
  }
  if (!findDebootstrap()) throw debootstrapMissing();
  await dockerPreflight(signal);
}

const debootstrapMissing = () =>
  new EnvironmentError(
    "E_DEBOOTSTRAP_MISSING",
    "expected the `debootstrap` program, found it neither on PATH nor in /usr/sbin",
    "install it: `apt-get install debootstrap`",
  );

function findDebootstrap(): string | null {
  for (const dir of [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/sbin"]) {
    if (dir && existsSync(join(dir, "debootstrap"))) return join(dir, "debootstrap");
  }
  return null;
}

export async function buildImage(o: ImageBuildOptions, progress: Progress, signal: AbortSignal): Promise<ImageBuildResult> {
  validateImageOptions(o);
  const started = Date.now();
  progress.start("preflight");
  await imagePreflight(signal);
  progress.done();
  const root = await mkdtemp(join(o.workDir ?? tmpdir(), "kubelet-nokmem-rootfs-"));
  const dir = join(root, "rootfs");
  let keep = false;
  try {
    const spec = toolchainSpec(o);
    progress.start(
      "debootstrap",
      `${o.suite} from ${o.mirror} with ${spec.include.filter((p) => p.startsWith("golang-") || RUNC_PACKAGES.includes(p)).join(", ")}`,
    );
    await makeRootfs(spec, dir, { signal, onLine: (l) => progress.output(l) });
    const goVersion = parseGoVersion(`go version ${(await readFile(join(dir, `usr/lib/go-${o.go}/VERSION`), "utf8")).split("\n")[0]}`) ?? o.go;
    progress.done(`Go ${goVersion}`);

    progress.start("import", o.tag);
    await runPipeline(
      { file: "tar", args: rootfsTarArgs(dir) },
      { file: DOCKER, args: importArgs(o, goVersion) },
      { signal, onLine: (l) => progress.output(l) },
    );
    const img = await findImage(o.tag, signal);
    if (!img) throw imageMissing(o.tag);
    progress.done(img.id);
    keep = o.keepRootfs;
    return {
      image: o.tag,
      id: img.id,
      go: goVersion,
      suite: o.suite,
      mirror: o.mirror,
      rootfs: keep ? dir : null,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    if (!keep) await rm(root, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** `image check`'s answer (its --json, in this order). */
interface ImageCheck {
  image: string;
  exists: true;
  id: string;
  go: string | null;
  created: string;
}

/**
 * The image exists locally, and carries this Go (asked from the image if no
 * label says). An image that is not here is an environment error that says
 * how to make or get it.
 */
export async function checkImage(ref: string, signal?: AbortSignal): Promise<ImageCheck> {
  await dockerPreflight(signal);
  const info = await findImage(ref, signal);
  if (!info) throw imageMissing(ref);
  const go = await imageGoVersion(info, signal);
  return { image: ref, exists: true, id: info.id, go, created: info.created };
}
