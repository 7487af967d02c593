/**
 * The whole build as data. `planBuild` is pure: from the release's resolution,
 * the source, the image choice and the options it decides every step a build
 * takes, in order:
 *
 *   image → stage → patch → make → verify → checksum → attest → publish
 *
 * (stage comes first when the image can only be read from the staged tree).
 * Facts known only while the build runs (its invocation id, the staged tree,
 * the commit and its time, the image digest) are explicit `Pending` fields,
 * bound once by the executor (src/pipeline/run.ts). `build --dry-run` prints
 * this object; a real build prints the same object in its --json result.
 */
import { join, posix } from "node:path";
import type { Resolution } from "../catalog/resolve.js";
import type { StrategyId } from "../catalog/types.js";
import { binaryName } from "../artifact/publish.js";
import type { LinkMode, SourceSpec } from "../source/types.js";
import { strategyFor } from "../strategy/index.js";
import type { ImageChoice, ImageInputs } from "../tree/build-image.js";
import type { NokmemVerdict } from "../verdict.js";
import type { PackageFormat } from "../package/layout.js";
import type { PullPolicy } from "./docker.js";
import { generatedReuse, type GeneratedReuse } from "./generated-cache.js";
import { makeInvocation, pending, type Fact, type Later, type MakeInvocation, type Runner } from "./make-invocation.js";

export const PLAN_VERSION = 3;

type StepName = BuildStep["step"];

/**
 * What makes the kubelet nokmem, as the strategy declares it (its `change`):
 * the patch series applied, the build setting, or nothing. The attest step
 * records it in the provenance and the SBOMs.
 */
export type PlannedChange = { kind: "patches"; series: string } | { kind: "build-setting"; env: [string, string][] } | { kind: "none"; reason: string };
/** Who binds each pending fact: a step, or the executor when the run starts. */
export type Binder = StepName | "start";

export type BuildStep =
  | {
      step: "image";
      runner: Runner;
      /** Pending only when the image can come from the tree and the tree is read once staged. */
      choice: Later<ImageChoice>;
      /** What chooses the image once the tree is staged (only while `choice` is pending). */
      chooseWith: Omit<ImageInputs, "tree"> | null;
      pull: PullPolicy;
      strictToolchain: boolean;
    }
  | {
      step: "stage";
      source: SourceSpec;
      /** Git sources: the ref to check out. */
      ref: string | null;
      into: Later<string>;
      linkMode: LinkMode;
      /** Files the patch step rewrites: always copied, never hard-linked. */
      willModify: string[];
      keep: boolean;
    }
  | { step: "patch"; strategy: StrategyId; series: string | null; changes: string[]; versionFile: string; gitVersion: string; commit: Later<string | null> }
  | ({ step: "make"; generated: GeneratedReuse | null } & MakeInvocation)
  | { step: "verify"; outputs: { platform: string; path: string }[]; expect: NokmemVerdict; gitVersion: string }
  | { step: "checksum"; binaries: string[]; file: "SHA256SUMS" }
  | {
      step: "attest";
      /** The provenance Statement; the verdict Statement, SBOMs and (signed) envelopes are written beside it. */
      file: "manifest.json";
      format: string;
      change: PlannedChange;
      /** keyid of --sign-key, null when the Statements are not signed. */
      keyid: string | null;
    }
  | {
      step: "publish";
      out: string;
      /** Renamed into --out first (kubelets, build.log), then what attest wrote, then `last`. */
      files: string[];
      last: "SHA256SUMS";
    }
  | {
      /** `build --package`: `kubelet-nokmem package OUT` on the published folder (src/package/), which needs the release pinned. */
      step: "package";
      out: string;
      formats: PackageFormat[];
      release: number;
      /** Whether --gpg-key signs the packages (the key itself never enters the plan). */
      signed: boolean;
    };

export interface BuildPlan {
  planVersion: typeof PLAN_VERSION;
  /** "1.16.15" */
  version: string;
  gitVersion: string;
  line: string;
  strategy: StrategyId;
  affected: boolean;
  runner: Runner;
  platforms: string[];
  out: string;
  cacheDir: string;
  /** The make command (also in the make step). */
  command: string[];
  source: { kind: SourceSpec["kind"]; origin: string; ref: string | null };
  /** The image, the rule that chose it and the Go the tree expects. */
  image: Later<ImageChoice>;
  /** Each fact that is pending in this plan, and the step that binds it. */
  pending: Partial<Record<Fact, Binder>>;
  steps: BuildStep[];
}

export interface BuildOptions {
  runner: Runner;
  platforms: string[];
  /** Absolute. */
  out: string;
  /** Absolute. */
  cacheDir: string;
  sourceDateEpoch?: number;
  uid: number;
  gid: number;
  pull: PullPolicy;
  strictToolchain: boolean;
  linkMode: LinkMode;
  keepWork: boolean;
  /** keyid of --sign-key (the key itself never enters the plan). */
  signKeyId: string | null;
  /** `--package`: package the published folder as well. */
  package?: { formats: PackageFormat[]; release: number; signed: boolean } | null;
}

/** The image: chosen already, or chosen from the staged tree with these inputs. */
export type ImagePlanInput = { choice: ImageChoice } | { chooseOnceStaged: Omit<ImageInputs, "tree"> };

/** Where a platform's kubelet is published, relative to --out (artifact/publish.ts owns the layout). */
const BINARY_NAME = binaryName;

/** Decide the whole build. Pure. */
export function planBuild(res: Resolution, source: { spec: SourceSpec; ref?: string }, image: ImagePlanInput, o: BuildOptions): BuildPlan {
  // The make invocation first: it is where an inexact release (a bare line) is refused, once.
  const invocation = makeInvocation(
    res,
    { root: pending("tree"), commitTime: pending("commitTime") },
    // A digest reference is what the image step binds; the tag or rule never reaches `docker run`.
    { ref: pending("imageRef"), id: pending("imageId"), go: pending("imageGo") },
    {
      runner: o.runner,
      platforms: o.platforms,
      out: o.out,
      sourceDateEpoch: o.sourceDateEpoch,
      uid: o.uid,
      gid: o.gid,
      containerName: pending("containerName"),
      cacheDir: o.cacheDir,
    },
  );
  const version = invocation.version;
  const docker = o.runner === "docker";
  const ref = source.spec.kind === "git" ? (source.ref ?? `v${version}`) : null;
  const choice: Later<ImageChoice> = "choice" in image ? image.choice : pending("imageChoice");
  const into = pending("invocationId", posix.join(o.cacheDir, "work", "{}", "tree"));
  const binaries = invocation.platforms.map(BINARY_NAME);

  const imageStep: BuildStep = {
    step: "image",
    runner: o.runner,
    choice,
    chooseWith: "choice" in image ? null : image.chooseOnceStaged,
    pull: o.pull,
    strictToolchain: o.strictToolchain,
  };
  const stageStep: BuildStep = { step: "stage", source: source.spec, ref, into, linkMode: o.linkMode, willModify: res.changes, keep: o.keepWork };
  const steps: BuildStep[] = [
    // The image can be checked before anything is staged, unless only the staged tree can name it.
    ...("choice" in image ? [imageStep, stageStep] : [stageStep, imageStep]),
    {
      step: "patch",
      strategy: res.strategy,
      series: res.patchSeries,
      changes: res.changes,
      versionFile: invocation.versionFile,
      gitVersion: invocation.gitVersion,
      commit: pending("commit"),
    },
    { step: "make", ...invocation, generated: generatedReuse(o.cacheDir, o.runner) },
    { step: "verify", outputs: invocation.outputs, expect: res.affected ? "patched" : "not-affected", gitVersion: invocation.gitVersion },
    { step: "checksum", binaries, file: "SHA256SUMS" },
    {
      step: "attest",
      file: "manifest.json",
      format: "in-toto Statement v1: SLSA provenance v1, nokmem verdict, CycloneDX SBOM per kubelet",
      change: plannedChange(res),
      keyid: o.signKeyId,
    },
    // SHA256SUMS last: a reader who sees it sees everything it lists.
    { step: "publish", out: o.out, files: [...binaries, "build.log"], last: "SHA256SUMS" },
    ...(o.package ? [{ step: "package" as const, out: o.out, ...o.package }] : []),
  ];

  const pendingFacts: BuildPlan["pending"] = {
    invocationId: "start",
    tree: "stage",
    commit: "stage",
    commitTime: "stage",
    imageRef: "image",
    imageId: "image",
    imageGo: "image",
  };
  if (docker) Object.assign(pendingFacts, { containerName: "start", goCacheVolume: "image", generatedKey: "make" });
  if (o.sourceDateEpoch !== undefined) delete pendingFacts.commitTime;
  if (!("choice" in image)) pendingFacts.imageChoice = "image";

  return {
    planVersion: PLAN_VERSION,
    version,
    gitVersion: invocation.gitVersion,
    line: res.line,
    strategy: res.strategy,
    affected: res.affected,
    runner: o.runner,
    platforms: invocation.platforms,
    out: o.out,
    cacheDir: o.cacheDir,
    command: invocation.command,
    source: { kind: source.spec.kind, origin: source.spec.kind === "git" ? source.spec.display : source.spec.path, ref },
    image: choice,
    pending: pendingFacts,
    steps,
  };
}

/** The change the release's strategy declares, with what the attest step records of it. */
function plannedChange(res: Resolution): PlannedChange {
  const strategy = strategyFor(res.strategy);
  switch (strategy.change) {
    case "patches":
      if (!res.patchSeries) throw new Error(`internal: strategy ${strategy.id} declares patches but names no series for ${res.line}`);
      return { kind: "patches", series: res.patchSeries };
    case "build-setting":
      return { kind: "build-setting", env: Object.entries(strategy.env) };
    case "none":
      return { kind: "none", reason: "this release never enables kernel-memory accounting" };
  }
}

/** The step of a kind (each kind appears once). */
export function stepOf<N extends StepName>(p: BuildPlan, name: N): Extract<BuildStep, { step: N }> {
  const s = p.steps.find((x) => x.step === name);
  if (!s) throw new Error(`internal: the plan has no ${name} step`);
  return s as Extract<BuildStep, { step: N }>;
}

/** Progress phases of a plan: the lock first, then each step; attest is shown with publish. */
export function buildPhases(p: BuildPlan): string[] {
  return ["preflight", ...p.steps.filter((s) => s.step !== "attest").map((s) => s.step)];
}

/** Where the staged work of one run lives. */
export function workDirOf(p: BuildPlan, invocationId: string): string {
  return join(p.cacheDir, "work", invocationId);
}
