/**
 * The BuildPlan: everything a build will do, as plain data, decided before
 * anything touches disk, git or Docker. `plan()` is pure; `--dry-run` prints
 * its result and stops.
 */
import { homedir } from "node:os";
import { join, posix } from "node:path";
import type { Resolution } from "../catalog/resolve.js";
import { UsageError } from "../errors.js";

/** Git mirrors, work folders and failed build logs. */
export const DEFAULT_CACHE_DIR = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "kubelet-nokmem");

export type Runner = "docker" | "local";
export const RUNNERS: readonly Runner[] = ["docker", "local"];

/** Where the tree is seen inside the container. */
const CONTAINER_TREE = "/src";
/** The Kubernetes build forces GOCACHE here, relative to the tree (DOMAIN.md). */
export const TREE_GO_CACHE = "_output/local/go/cache";
/** The version file the patch step writes, relative to the tree. Under _output/, which every release ignores in git. */
const DEFAULT_VERSION_FILE = "_output/kubelet-nokmem/version.env";
const DEFAULT_PLATFORMS = ["linux/amd64"];
/** Shown in a dry run where a fact is only known once the source is staged. */
export const UNKNOWN = (what: string) => `<${what}>`;

export interface Mount {
  type: "bind" | "volume";
  /** Host path (bind) or volume name. */
  source: string;
  target: string;
}

export interface BuildPlan {
  /** "1.16.15" */
  version: string;
  /** "v1.16.15": what the binary must report. */
  gitVersion: string;
  line: string;
  strategy: Resolution["strategy"];
  affected: boolean;
  runner: Runner;
  image: { ref: string; id: string | null; go: string | null };
  /** The staged tree on the host. */
  tree: string;
  /** The tree as make sees it: /src in Docker, the tree itself locally. */
  workdir: string;
  /** Docker only: `--user`, the caller's uid:gid so the tree stays the caller's. */
  user: { uid: number; gid: number } | null;
  /** Docker only: a fixed name so an abort can stop exactly this container. */
  containerName: string | null;
  /** Persistent Go build cache: a Docker volume, or a host folder for the local runner. */
  goCache: { kind: "volume" | "dir"; name: string; target: string };
  mounts: Mount[];
  /** In the order they are passed. */
  env: [string, string][];
  command: string[];
  platforms: string[];
  /** Where make leaves each kubelet, relative to the tree. */
  outputs: { platform: string; path: string }[];
  /** Relative to the tree. */
  versionFile: string;
  sourceDateEpoch: number | null;
  out: string;
}

interface TreeFacts {
  /** Host path of the staged tree (a placeholder in a dry run). */
  root: string;
  /** Commit time in seconds since the epoch, when the source knows it. */
  commitTime: number | null;
}

export interface ImageFacts {
  ref: string;
  /** `sha256:…`; null when not inspected (dry run without Docker). */
  id: string | null;
  go: string | null;
}

export interface PlanOptions {
  runner: Runner;
  platforms: string[];
  out: string;
  sourceDateEpoch?: number;
  uid: number;
  gid: number;
  containerName: string;
  /** Local runner: the folder kept between builds for the Go cache. */
  cacheDir: string;
  versionFile?: string;
}

export function plan(res: Resolution, tree: TreeFacts, image: ImageFacts, opts: PlanOptions): BuildPlan {
  if (!res.version) {
    throw new UsageError("E_VERSION_LINE", `expected an exact release to build (e.g. ${res.line}.0), found the line ${res.line}`, `pass --version ${res.line}.N`);
  }
  const platforms = opts.platforms.length ? opts.platforms : DEFAULT_PLATFORMS;
  const versionFile = opts.versionFile ?? DEFAULT_VERSION_FILE;
  const docker = opts.runner === "docker";
  const workdir = docker ? CONTAINER_TREE : tree.root;
  const epoch = opts.sourceDateEpoch ?? tree.commitTime;
  const goCache: BuildPlan["goCache"] = docker
    ? { kind: "volume", name: cacheVolumeName(res.line, image.id), target: posix.join(CONTAINER_TREE, TREE_GO_CACHE) }
    : { kind: "dir", name: posix.join(opts.cacheDir, "gocache", `${res.line}-local-${image.go ?? "go"}`), target: posix.join(tree.root, TREE_GO_CACHE) };
  const env: [string, string][] = [
    // The strategy's and the line's env first: GOFLAGS=-tags=nokmem alone, GO111MODULE=off …
    ...Object.entries(res.env),
    ["KUBE_GIT_VERSION_FILE", posix.join(workdir, versionFile)],
    ["SOURCE_DATE_EPOCH", epoch === null ? UNKNOWN("commit time") : String(epoch)],
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
          { type: "volume", source: goCache.name, target: goCache.target },
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

const PLATFORM = /^(linux)\/(amd64|arm64|arm|ppc64le|s390x|386)$/;

/** Parse `--platform linux/amd64,linux/arm64`. */
export function parsePlatforms(input: string | undefined): string[] {
  // Only an absent flag means the default: `--platform ''` is a mistake, not linux/amd64.
  if (input === undefined) return [...DEFAULT_PLATFORMS];
  const list = input.split(",").map((s) => s.trim()).filter(Boolean);
  const bad = list.filter((p) => !PLATFORM.test(p));
  if (!list.length || bad.length) {
    throw new UsageError("E_PLATFORM", `expected platforms such as linux/amd64,linux/arm64, found ${JSON.stringify(bad.length ? bad.join(",") : input)}`, "pass --platform linux/amd64 (kubelet is built for linux only)");
  }
  return [...new Set(list)];
}

/** The plan as lines for a person (`--dry-run`). */
export function describePlan(p: BuildPlan, commandLine: string): string {
  const lines = [
    `release:    ${p.gitVersion} (line ${p.line}, strategy ${p.strategy}${p.affected ? "" : ", not affected"})`,
    `runner:     ${p.runner}`,
    `image:      ${p.image.ref}${p.image.id ? ` (${p.image.id.slice(0, 19)})` : ""}${p.image.go ? ` Go ${p.image.go}` : ""}`,
    `tree:       ${p.tree}`,
    `go cache:   ${p.goCache.kind} ${p.goCache.name} → ${p.goCache.target}`,
    `platforms:  ${p.platforms.join(", ")}`,
    `env:`,
    ...p.env.map(([k, v]) => `  ${k}=${v}`),
    `command:    ${commandLine}`,
    `outputs:    ${p.outputs.map((o) => o.path).join(", ")}`,
    `out:        ${p.out}`,
  ];
  return lines.join("\n");
}
