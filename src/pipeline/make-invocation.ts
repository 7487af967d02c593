/**
 * The make step of a build as plain data: `makeInvocation()` turns a resolution, the
 * tree and the image into every argument of the `make` invocation. Pure; facts
 * not known yet (the staged tree, the image digest) stay `Pending` until the
 * executor binds them. src/pipeline/build-plan.ts puts it into the whole plan.
 */
import { homedir } from "node:os";
import { join, posix } from "node:path";
import { DEFAULT_PLATFORM } from "../catalog/platforms.js";
import type { Resolution } from "../catalog/resolve.js";
import { UsageError } from "../errors.js";

/** Git mirrors, work folders and failed build logs. */
export const DEFAULT_CACHE_DIR = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "kubelet-nokmem");

export type Runner = "docker" | "local";
export const RUNNERS: readonly Runner[] = ["docker", "local"];

/** Where the tree is seen inside the container. */
const CONTAINER_TREE = "/src";
/** The Kubernetes build forces GOCACHE here, relative to the tree (docs/domain.md, "Version stamping"). */
export const TREE_GO_CACHE = "_output/local/go/cache";
/** The version file the patch step writes, relative to the tree. Under _output/, which every release ignores in git. */
import { DEFAULT_VERSION_FILE } from "../patch/version-stamp.js";
/**
 * A fact the plan cannot know when it is made: the staged tree, the commit
 * time, the image digest… The executor binds each one once (see facts.ts);
 * `template` places the value in a longer string (`{}/_output/…`).
 */
export type Fact =
  | "invocationId"
  | "containerName"
  | "tree"
  | "commit"
  | "commitTime"
  | "imageChoice"
  | "imageRef"
  | "imageId"
  | "imageGo"
  | "goCacheVolume"
  | "generatedKey"
  // runc: what its staged tree says (the inspect step)
  | "buildTags"
  | "goModules";
export interface Pending {
  pending: Fact;
  template?: string;
}
export type Later<T> = T | Pending;

export function isPending(v: unknown): v is Pending {
  return typeof v === "object" && v !== null && typeof (v as Pending).pending === "string" && Object.keys(v).every((k) => k === "pending" || k === "template");
}

export const pending = (fact: Fact, template?: string): Pending => (template ? { pending: fact, template } : { pending: fact });

/** `base/rel` where base may still be pending. */
function laterJoin(base: Later<string>, rel: string): Later<string> {
  return isPending(base) ? pending(base.pending, posix.join(base.template ?? "{}", rel)) : posix.join(base, rel);
}

/** Shown where a fact is still pending (dry run). */
export const UNKNOWN = (what: string) => `<${what}>`;

export interface Mount {
  type: "bind" | "volume";
  /** Host path (bind) or volume name. */
  source: Later<string>;
  target: string;
}

/** The `make` step as a container (or host) invocation: every argument of `docker run`. */
export interface MakeInvocation {
  /** "1.16.15" */
  version: string;
  /** "v1.16.15": what the binary must report. */
  gitVersion: string;
  line: string;
  strategy: Resolution["strategy"];
  affected: boolean;
  runner: Runner;
  image: { ref: Later<string>; id: Later<string | null>; go: Later<string | null> };
  /** The staged tree on the host. */
  tree: Later<string>;
  /** The tree as make sees it: /src in Docker, the tree itself locally. */
  workdir: Later<string>;
  /** Docker only: `--user`, the caller's uid:gid so the tree stays the caller's. */
  user: { uid: number; gid: number } | null;
  /** Docker only: a fixed name so an abort can stop exactly this container. */
  containerName: Later<string> | null;
  /** Persistent Go build cache: a Docker volume, or a host folder for the local runner. */
  goCache: { kind: "volume" | "dir"; name: Later<string>; target: Later<string> };
  mounts: Mount[];
  /** In the order they are passed. */
  env: [string, Later<string>][];
  command: string[];
  platforms: string[];
  /** Where make leaves each kubelet, relative to the tree. */
  outputs: { platform: string; path: string }[];
  /** Relative to the tree. */
  versionFile: string;
  sourceDateEpoch: Later<number | null>;
  out: string;
}

interface TreeInputs {
  /** Host path of the staged tree. */
  root: Later<string>;
  /** Commit time in seconds since the epoch, when the source knows it. */
  commitTime: Later<number | null>;
}

interface ImageFacts {
  ref: Later<string>;
  /** `sha256:…` */
  id: Later<string | null>;
  go: Later<string | null>;
}

export interface PlanOptions {
  runner: Runner;
  platforms: string[];
  out: string;
  sourceDateEpoch?: number;
  uid: number;
  gid: number;
  containerName: Later<string>;
  /** Local runner: the folder kept between builds for the Go cache. */
  cacheDir: string;
  versionFile?: string;
}

/** The make invocation for a release: pure, pending facts stay pending. */
export function makeInvocation(res: Resolution, tree: TreeInputs, image: ImageFacts, opts: PlanOptions): MakeInvocation {
  if (!res.version) {
    throw new UsageError(
      "E_VERSION_LINE",
      `expected an exact release to build (e.g. ${res.line}.0), found the line ${res.line}`,
      `pass --version ${res.line}.N`,
    );
  }
  const platforms = opts.platforms.length ? opts.platforms : [DEFAULT_PLATFORM];
  const versionFile = opts.versionFile ?? DEFAULT_VERSION_FILE;
  const docker = opts.runner === "docker";
  const workdir = docker ? CONTAINER_TREE : tree.root;
  const epoch: Later<number | null> = opts.sourceDateEpoch ?? tree.commitTime;
  const goCache: MakeInvocation["goCache"] = docker
    ? {
        kind: "volume",
        name: isPending(image.id) ? pending("goCacheVolume") : cacheVolumeName(res.line, image.id),
        target: posix.join(CONTAINER_TREE, TREE_GO_CACHE),
      }
    : {
        kind: "dir",
        name: isPending(image.go)
          ? pending("imageGo", posix.join(opts.cacheDir, "gocache", `${res.line}-local-{}`))
          : posix.join(opts.cacheDir, "gocache", `${res.line}-local-${image.go ?? "go"}`),
        target: laterJoin(tree.root, TREE_GO_CACHE),
      };
  const env: [string, Later<string>][] = [
    // The strategy's and the line's env first: GOFLAGS=-tags=nokmem alone, GO111MODULE=off …
    ...Object.entries(res.env),
    ["KUBE_GIT_VERSION_FILE", laterJoin(workdir, versionFile)],
    // An environment value is a string: the template turns the bound number into one.
    ["SOURCE_DATE_EPOCH", isPending(epoch) ? pending(epoch.pending, "{}") : epoch === null ? UNKNOWN("commit time") : String(epoch)],
    ["KUBE_BUILD_PLATFORMS", platforms.join(" ")],
  ];
  // In the container nobody owns a home folder; Go and git want one.
  if (docker) env.push(["HOME", "/tmp"]);
  return {
    version: res.version,
    gitVersion: `v${res.version}`,
    line: res.line,
    strategy: res.strategy,
    affected: res.affected,
    runner: opts.runner,
    image: { ref: image.ref, id: image.id, go: image.go },
    tree: tree.root,
    workdir,
    user: docker ? { uid: opts.uid, gid: opts.gid } : null,
    containerName: docker ? opts.containerName : null,
    goCache,
    mounts: docker
      ? [
          { type: "bind", source: tree.root, target: CONTAINER_TREE },
          { type: "volume", source: goCache.name, target: goCache.target as string },
        ]
      : [],
    env,
    command: ["make", "WHAT=cmd/kubelet"],
    platforms,
    outputs: platforms.map((p) => ({ platform: p, path: posix.join("_output/local/bin", p, "kubelet") })),
    versionFile,
    sourceDateEpoch: epoch,
    out: opts.out,
  };
}

/** One cache per release line and image: objects from another Go or another line never mix. */
export function cacheVolumeName(line: string, imageId: string | null): string {
  const short = imageId ? imageId.replace(/^sha256:/, "").slice(0, 12) : UNKNOWN("image id");
  return `kubelet-nokmem-gocache-${line}-${short}`;
}
