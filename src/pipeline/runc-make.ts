/**
 * What only a runc build has, as inputs of the one plan's steps
 * (build-plan.ts) and helpers of the one executor (run.ts): the make step's
 * invocation (runc's Makefile honours BUILDTAGS, so the tree's own default
 * tags plus the strategy's go on make's command line, where neither the
 * environment nor the Makefile's `?=` can undo them), the GOPATH container
 * layout, and the verify step's check of the `runc --version` stamp. Pure.
 */
import type { NokmemChange } from "../artifact/sbom.js";
import { VerificationError } from "../errors.js";
import type { RuncAssessment } from "../tree/runc-tree.js";
import type { NokmemVerdict } from "../verdict.js";
import { runImage } from "./docker.js";
import { pending, type Later } from "./make-invocation.js";
import type { PatchOutcome, VerifyOutcome } from "./steps.js";

/** runc is built for the host platform only: its Makefile cross-compiles with per-arch C toolchains, which the image does not carry. */
export const RUNC_PLATFORM = "linux/amd64";
/** Where the tree sits in the container: runc before go.mod (rc90 and earlier) builds only inside a GOPATH. */
const RUNC_CONTAINER_GOPATH = "/go";
const RUNC_CONTAINER_TREE = `${RUNC_CONTAINER_GOPATH}/src/github.com/opencontainers/runc`;

/** The make step of a runc build: every argument of its `docker run`, facts the staged tree gives still pending. */
export interface RuncMakeInvocation {
  runner: "docker";
  image: { ref: Later<string>; id: Later<string | null>; go: Later<string | null> };
  /** The staged tree on the host. */
  tree: Later<string>;
  user: { uid: number; gid: number };
  containerName: Later<string>;
  /** A volume mounted as GOPATH (build cache, installed packages of `go build -i`), owned by uid:gid. */
  gopathVolume: Later<string>;
  /** Vendored modules (a go.mod, rc91 and later) or GOPATH mode: read from the tree by the inspect step. */
  goModules: Later<boolean>;
  /** BUILDTAGS on make's command line: the tree's Makefile default plus `add`, read by the inspect step. */
  tags: { from: "the tree's Makefile default (BUILDTAGS)"; add: string[]; buildTags: Later<string[]> };
  /** Stamped as main.gitCommit; the tree's .git is not visible in the container. */
  commit: Later<string | null>;
  command: string[];
  /** Where make leaves the runc, relative to the tree. */
  outputs: { platform: string; path: string }[];
}

/** The plan's runc make step: pure, the tree's facts pending. */
export function runcMakeInvocation(addTags: readonly string[], o: { uid: number; gid: number }): RuncMakeInvocation {
  return {
    runner: "docker",
    image: { ref: pending("imageRef"), id: pending("imageId"), go: pending("imageGo") },
    tree: pending("tree"),
    user: { uid: o.uid, gid: o.gid },
    containerName: pending("containerName"),
    gopathVolume: pending("goCacheVolume"),
    goModules: pending("goModules"),
    tags: { from: "the tree's Makefile default (BUILDTAGS)", add: [...addTags], buildTags: pending("buildTags") },
    commit: pending("commit"),
    command: ["make", "runc"],
    outputs: [{ platform: RUNC_PLATFORM, path: "runc" }],
  };
}

/**
 * The container's environment: GOPATH mode before go.mod (rc90 and earlier),
 * vendored modules after; null (a dry run, before the tree is read) shows the
 * choice as pending.
 */
export function runcBuildEnv(goMod: boolean | null): [string, string][] {
  return [
    ["HOME", "/tmp"],
    ["GOPATH", RUNC_CONTAINER_GOPATH],
    ["GOCACHE", `${RUNC_CONTAINER_GOPATH}/cache`],
    // -buildvcs=false: Go 1.18+ would ask git about the tree, whose .git is not in the container.
    ...(goMod === null
      ? ([["GO111MODULE", "<goModules>"]] as [string, string][])
      : goMod
        ? ([
            ["GO111MODULE", "on"],
            ["GOFLAGS", "-mod=vendor -buildvcs=false"],
          ] as [string, string][])
        : ([["GO111MODULE", "off"]] as [string, string][])),
  ];
}

/** Everything `docker run` of `make runc` takes. */
interface RuncDockerRun {
  containerName: string;
  uid: number;
  gid: number;
  gopathVolume: string;
  tree: string;
  image: { ref: string; id: string | null };
  goMod: boolean | null;
  buildTags: string[];
  commit: string | null;
}

/** `docker run` for the make step (without the leading `docker`). Pure. */
export function runcDockerArgs(m: RuncDockerRun): string[] {
  const args = ["run", "--rm", "--name", m.containerName, "--network", "none", "--user", `${m.uid}:${m.gid}`];
  args.push("-v", `${m.gopathVolume}:${RUNC_CONTAINER_GOPATH}`, "-v", `${m.tree}:${RUNC_CONTAINER_TREE}`, "-w", RUNC_CONTAINER_TREE);
  for (const [k, v] of runcBuildEnv(m.goMod)) args.push("-e", `${k}=${v}`);
  // make's own arguments: the variables on the command line win over the Makefile and the environment.
  args.push(runImage(m.image.ref, m.image.id), "make", "runc", `BUILDTAGS=${m.buildTags.join(" ")}`, ...(m.commit ? [`COMMIT=${m.commit}`] : []));
  return args;
}

/** One GOPATH volume per image: objects of another Go never mix. */
export function runcGopathVolume(imageId: string): string {
  return `kubelet-nokmem-runc-gopath-${imageId.replace(/^sha256:/, "").slice(0, 12)}`;
}

/**
 * The built runc must be what was asked for: the audit's verdict the plan
 * expects, and `runc --version` (read from the binary's stamp, never run)
 * saying the requested version and the staged commit.
 */
export function checkBuiltRunc(outcome: VerifyOutcome, expect: { verdict: NokmemVerdict; version: string }, commit: string | null): void {
  const problems: string[] = [];
  const reasons = outcome.evidence.filter((e) => e.check === "reason").map((e) => e.detail);
  if (outcome.program !== "runc") problems.push(`expected the binary to be runc, found ${outcome.program ?? "no program"}`);
  if (outcome.verdict !== expect.verdict) problems.push(`expected the audit to find ${expect.verdict}, found ${outcome.verdict} (${reasons.join("; ")})`);
  const stamp = outcome.runcVersion;
  if (!stamp || stamp.source === "heuristic")
    problems.push(`expected the runc --version stamp (main.version) in the binary's symbols, found ${stamp ? `only a guess (${stamp.version})` : "none"}`);
  else {
    if (stamp.version !== expect.version) problems.push(`expected runc --version to say ${expect.version}, found ${stamp.version}`);
    if (commit && stamp.commit !== commit) problems.push(`expected the commit stamp ${commit}, found ${stamp.commit ?? "none"}`);
  }
  if (problems.length) {
    const code = outcome.verdict !== expect.verdict || outcome.program !== "runc" ? "E_NOT_NOKMEM" : "E_RUNC_STAMP";
    throw new VerificationError(
      code,
      problems.join("; "),
      "nothing was published; inspect the binary with `kubelet-nokmem audit PATH --verbose` (the staged tree is removed; re-run with --keep-work to keep it)",
    );
  }
}

/** What made this runc nokmem, in the SBOM's words: the stub patches, the build tag, or nothing (an era that never enables kmem). */
export function runcChange(a: RuncAssessment, patches: PatchOutcome["patches"]): NokmemChange {
  if (patches.length) return { kind: "patches", patches };
  if (a.buildTags.includes("nokmem")) return { kind: "build-setting", env: [["BUILDTAGS", a.buildTags.join(" ")]] };
  return { kind: "none", reason: a.affected ? "the tree already carries the kmem stubs" : "this runc release never enables kernel-memory accounting" };
}
