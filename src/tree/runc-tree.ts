/**
 * A runc source tree (the runtime's own runc, not the copy kubelet vendors):
 * its VERSION file, the Makefile's BUILDTAGS default and how the `runc`
 * target stamps the binary, the Go of its Dockerfile, and the kmem layout of
 * `libcontainer/cgroups/fs` (the same detector as for kubelet's vendored
 * copy). Readers take file contents; `readRuncTree` is the one place that
 * reads the disk. `assessRuncTree` judges the facts against the catalog's
 * resolution: the tree is the final word, a disagreement is reported.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { RuncResolution } from "../catalog/runc-release.js";
import { formatRuncVersion, parseRuncVersion } from "../runc-version.js";
import { TreeError, UsageError } from "../errors.js";
import { readRegularTextIfExists } from "../io/read.js";
import { strategyFor, strategyForLayout } from "../strategy/index.js";
import { RUNC_TREE_FS_DIR, type RuncStrategyId } from "../strategy/types.js";
import type { KmemLayout } from "../strategy/types.js";
import { detectKmemLayout, type KmemDetection } from "./kmem-layout.js";

interface MakefileTags {
  /** The default tags (`BUILDTAGS := seccomp`, `BUILDTAGS ?= seccomp selinux apparmor`). */
  tags: string[];
  /** `:=`/`=` ignore an environment BUILDTAGS, `?=` takes it: either way a command-line BUILDTAGS wins. */
  assign: ":=" | "?=" | "=";
  /** `override BUILDTAGS …` would beat even the command line: the tag could never reach go build. */
  override: boolean;
  /** The go build of the `runc` target passes `-tags "$(BUILDTAGS)"`. */
  reachesGoBuild: boolean;
  /** The `runc` target stamps `-X main.version` and `-X main.gitCommit`. */
  stampsVersion: boolean;
}

/** Read BUILDTAGS and the stamping of runc's Makefile. Null when it has no BUILDTAGS variable at all. */
export function readMakefileTags(makefile: string): MakefileTags | null {
  const text = makefile.replace(/\\\n/g, " ");
  const assignment = /^[ \t]*(override[ \t]+)?BUILDTAGS[ \t]*(:=|\?=|=)[ \t]*(.*)$/m.exec(text);
  if (!assignment) return null;
  const override = /^[ \t]*override[ \t]+BUILDTAGS\b/m.test(text);
  const tags = assignment[3]!.replace(/#.*/, "").trim().split(/\s+/).filter(Boolean);
  // The go build line: -tags "$(BUILDTAGS)" (rc4 … rc93) inside the runc target or GO_BUILD.
  const reachesGoBuild = /-tags[ \t]+"?\$[({]BUILDTAGS[)}]/.test(text);
  const stampsVersion = /-X[ \t]+main\.version=/.test(text) && /-X[ \t]+main\.gitCommit=/.test(text);
  return { tags, assign: assignment[2] as MakefileTags["assign"], override, reachesGoBuild, stampsVersion };
}

/** The Go of runc's Dockerfile: `ARG GO_VERSION=1.15` (rc91+) or `FROM golang:1.10-stretch` (before). */
export function dockerfileGo(dockerfile: string): string | null {
  const arg = /^ARG[ \t]+GO_VERSION=(\d+\.\d+(?:\.\d+)?)/m.exec(dockerfile);
  if (arg) return arg[1]!;
  const from = /^FROM[ \t]+golang:(\d+\.\d+(?:\.\d+)?)/m.exec(dockerfile);
  return from ? from[1]! : null;
}

interface RuncTreeFacts {
  /** The VERSION file's first line, as written. */
  versionFile: string | null;
  makefile: MakefileTags | null;
  /** Whether there is a Makefile at all. */
  hasMakefile: boolean;
  dockerfileGo: string | null;
  /** go.mod at the top: a module build (rc91+); else GOPATH mode. */
  goMod: boolean;
  kmem: KmemDetection;
}

/** The files `readRuncTree` needs, relative to the tree. */
const RUNC_TREE_FILES = { version: "VERSION", makefile: "Makefile", dockerfile: "Dockerfile", goMod: "go.mod" } as const;

/** Facts from file contents (null: the file is missing). Pure. */
export function runcTreeFacts(files: {
  version: string | null;
  makefile: string | null;
  dockerfile: string | null;
  goMod: string | null;
  fs: Record<string, string>;
}): RuncTreeFacts {
  if (!Object.keys(files.fs).length) {
    throw new TreeError(
      "E_RUNC_TREE",
      `expected runc's ${RUNC_TREE_FS_DIR}/ with memory.go, found no Go files there`,
      "pass the top folder of a runc source tree (the one with VERSION, Makefile and libcontainer/)",
    );
  }
  return {
    versionFile: files.version === null ? null : (files.version.split("\n")[0] ?? "").trim(),
    makefile: files.makefile === null ? null : readMakefileTags(files.makefile),
    hasMakefile: files.makefile !== null,
    dockerfileGo: files.dockerfile === null ? null : dockerfileGo(files.dockerfile),
    goMod: files.goMod !== null,
    kmem: detectKmemLayout(files.fs),
  };
}

const readOptional = (path: string) => readRegularTextIfExists(path, { maxBytes: 1024 * 1024 });

/** Read a staged runc tree's facts from disk. */
export async function readRuncTree(root: string): Promise<RuncTreeFacts> {
  const fsDir = join(root, RUNC_TREE_FS_DIR);
  const names = await readdir(fsDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT" || err.code === "ENOTDIR") return [] as string[];
    throw err;
  });
  const fs: Record<string, string> = {};
  for (const n of names.filter((x) => x.endsWith(".go") && !x.endsWith("_test.go"))) {
    const text = await readOptional(join(fsDir, n));
    if (text !== null) fs[n] = text;
  }
  return runcTreeFacts({
    version: await readOptional(join(root, RUNC_TREE_FILES.version)),
    makefile: await readOptional(join(root, RUNC_TREE_FILES.makefile)),
    dockerfile: await readOptional(join(root, RUNC_TREE_FILES.dockerfile)),
    goMod: await readOptional(join(root, RUNC_TREE_FILES.goMod)),
    fs,
  });
}

export interface RuncAssessment {
  strategy: RuncStrategyId;
  layout: KmemLayout;
  affected: boolean;
  /** Full BUILDTAGS for make: the Makefile's default plus what the strategy adds. */
  buildTags: string[];
  makefileTags: string[];
  /** The Go the tree's Dockerfile names, else the catalog's. */
  go: { version: string; from: "Dockerfile" | "catalog" };
  goMod: boolean;
  /** Where the tree and the catalog disagree (the tree wins; each is said out loud). */
  disagreements: string[];
  /** The tree is already patched (the stub in memory.go is in place). */
  alreadyPatched: boolean;
}

/**
 * Judge a runc tree against the release asked for. Throws on what would make
 * a build silently normal: a VERSION file for another release, no Makefile,
 * a Makefile whose BUILDTAGS cannot reach go build.
 */
export function assessRuncTree(facts: RuncTreeFacts, res: Pick<RuncResolution, "version" | "line" | "strategy" | "kmemLayout" | "go">): RuncAssessment {
  const found = facts.versionFile === null ? null : parseRuncVersion(facts.versionFile);
  if (facts.versionFile === null) {
    throw new TreeError(
      "E_RUNC_VERSION_FILE",
      `expected a VERSION file saying ${res.version} at the top of the runc tree, found none`,
      "pass the top folder of a runc release tree, or a git URL and --ref v<version>",
    );
  }
  if (!found || formatRuncVersion(found) !== res.version) {
    throw new TreeError(
      "E_RUNC_VERSION_FILE",
      `expected the tree's VERSION file to say ${res.version} (what --version asks for, and what the binary's \`runc --version\` will print), found ${JSON.stringify(facts.versionFile.slice(0, 60))}`,
      found ? `pass --version ${formatRuncVersion(found)}, or the source of ${res.version}` : "restore the VERSION file from the release",
    );
  }
  if (!facts.hasMakefile) {
    throw new TreeError(
      "E_RUNC_MAKEFILE",
      "expected runc's Makefile at the top of the tree (it stamps the version and passes BUILDTAGS to go build), found none",
      "pass a complete runc release tree",
    );
  }
  const mk = facts.makefile;
  const layout = facts.kmem.layout;
  const strategy = strategyForLayout("runc", layout);
  const s = strategyFor(strategy);
  const disagreements: string[] = [];
  if (strategy !== res.strategy || layout !== res.kmemLayout) {
    disagreements.push(
      `the catalog says ${res.version} is ${res.strategy} (layout ${res.kmemLayout}); the tree's ${RUNC_TREE_FS_DIR} is ${layout}, so the build uses ${strategy}`,
    );
  }
  if (!mk) {
    throw new TreeError(
      "E_RUNC_MAKEFILE",
      "expected a BUILDTAGS variable in runc's Makefile (runc's go build takes its tags from it), found none",
      "pass an unmodified runc release tree",
    );
  }
  if (s.addTags.length && mk.override) {
    throw new TreeError(
      "E_RUNC_MAKEFILE",
      "expected the Makefile to let `make BUILDTAGS=…` set the build tags, found `override BUILDTAGS`: the nokmem tag could never reach go build",
      "restore the Makefile from the release",
    );
  }
  if (s.addTags.length && !mk.reachesGoBuild) {
    throw new TreeError(
      "E_RUNC_MAKEFILE",
      'expected the Makefile\'s go build to pass -tags "$(BUILDTAGS)", found no such flag: the nokmem tag would not reach the compiler',
      "restore the Makefile from the release",
    );
  }
  if (!mk.stampsVersion) {
    throw new TreeError(
      "E_RUNC_MAKEFILE",
      "expected the Makefile to stamp -X main.version and -X main.gitCommit, found neither: the built runc could not be checked against --version",
      "restore the Makefile from the release",
    );
  }
  const buildTags = [...mk.tags, ...s.addTags.filter((t) => !mk.tags.includes(t))];
  const go = facts.dockerfileGo ? { version: facts.dockerfileGo, from: "Dockerfile" as const } : { version: res.go, from: "catalog" as const };
  if (facts.dockerfileGo && facts.dockerfileGo !== res.go)
    disagreements.push(`the catalog names Go ${res.go} for ${res.line}; the tree's Dockerfile names Go ${facts.dockerfileGo}`);
  return {
    strategy,
    layout,
    affected: s.affected,
    buildTags,
    makefileTags: mk.tags,
    go,
    goMod: facts.goMod,
    disagreements,
    alreadyPatched: facts.kmem.patched,
  };
}

/**
 * A BUILDTAGS (or a MAKEFLAGS naming it) in the environment of a local make
 * would replace the Makefile's `?=` default or join the command line: refused
 * rather than risk a normal runc. The Docker runner never passes it on.
 */
export function checkBuildEnvironment(env: Readonly<Record<string, string | undefined>>): void {
  const bad =
    env.BUILDTAGS !== undefined
      ? `BUILDTAGS=${JSON.stringify(env.BUILDTAGS)}`
      : /\bBUILDTAGS\b/.test(env.MAKEFLAGS ?? "")
        ? `MAKEFLAGS=${JSON.stringify(env.MAKEFLAGS)}`
        : null;
  if (bad) {
    throw new UsageError(
      "E_RUNC_BUILDTAGS_ENV",
      `expected no BUILDTAGS in the environment (the build sets the tree's default tags plus nokmem itself), found ${bad}`,
      "unset BUILDTAGS (and remove it from MAKEFLAGS), then run the build again",
    );
  }
}
