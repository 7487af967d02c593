/**
 * The whole build as data, of either product. `planBuild` is pure: from the
 * release's resolution (a kubelet's or a runc's), the source, the image
 * choice and the options it decides every step a build takes, in order:
 *
 *   kubelet: image → stage → patch → make → verify → checksum → attest → publish
 *   runc:    stage → inspect → patch → image → make → verify → checksum → attest → publish
 *
 * (a kubelet's stage comes first when the image can only be read from the
 * staged tree; a runc's tree is inspected before anything else is done with
 * it, since its Makefile and layout are the final word). The product is in
 * the plan and in the steps that differ by product (patch, make, verify).
 * Facts known only while the build runs (its invocation id, the staged tree,
 * the commit and its time, the image digest) are explicit `Pending` fields,
 * bound once by the executor (src/pipeline/run.ts). `build --dry-run` prints
 * this object; a real build prints the same object in its --json result.
 */
import { join, posix } from "node:path";
import type { Resolution } from "../catalog/resolve.js";
import type { RuncResolution } from "../catalog/runc-release.js";
import { binaryName } from "../artifact/publish.js";
import type { LinkMode, SourceSpec } from "../source/types.js";
import { strategyFor } from "../strategy/index.js";
import type { AnyStrategyId, KmemLayout, Product, RuncStrategyId, StrategyId } from "../strategy/types.js";
import type { ImageChoice, ImageInputs } from "../tree/build-image.js";
import type { NokmemVerdict } from "../verdict.js";
import type { PackageFormat } from "../package/layout.js";
import type { PullPolicy } from "./docker.js";
import { generatedReuse, type GeneratedReuse } from "./generated-cache.js";
import { makeInvocation, pending, type Fact, type Later, type MakeInvocation, type Runner } from "./make-invocation.js";
import { RUNC_PLATFORM, runcMakeInvocation, type RuncMakeInvocation } from "./runc-make.js";

export const PLAN_VERSION = 4;

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
  | {
      /** runc: the staged tree's VERSION file, Makefile, layout and Go, read before anything is done with it (the tree is the final word). */
      step: "inspect";
      product: "runc";
      expect: { version: string; line: string; strategy: RuncStrategyId; kmemLayout: KmemLayout; go: string };
    }
  | {
      step: "patch";
      product: "kubelet";
      strategy: StrategyId;
      series: string | null;
      changes: string[];
      versionFile: string;
      gitVersion: string;
      commit: Later<string | null>;
    }
  /** runc: the series of the strategy the inspect step found (the catalog's expectation is `series`). */
  | { step: "patch"; product: "runc"; series: string | null; changes: string[] }
  | ({ step: "make"; product: "kubelet"; generated: GeneratedReuse | null } & MakeInvocation)
  | ({ step: "make"; product: "runc" } & RuncMakeInvocation)
  | { step: "verify"; product: "kubelet"; outputs: { platform: string; path: string }[]; expect: NokmemVerdict; gitVersion: string }
  /** runc: the audit's verdict (for the tree's strategy), and `runc --version`'s stamp: `version` and the staged commit. */
  | { step: "verify"; product: "runc"; outputs: { platform: string; path: string }[]; expect: NokmemVerdict; version: string }
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
  product: Product;
  /** "1.16.15"; a runc's as its VERSION file says it, "1.0.0-rc93" */
  version: string;
  /** What the binary must say it is: "v1.16.15"; a runc's `runc --version`, "1.0.0-rc93" */
  gitVersion: string;
  line: string;
  strategy: AnyStrategyId;
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

/** Decide the whole build of either product. Pure. */
export function planBuild(res: Resolution | RuncResolution, source: { spec: SourceSpec; ref?: string }, image: ImagePlanInput, o: BuildOptions): BuildPlan {
  if ("product" in res) return planRuncBuild(res, source, image, o);
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
  const binaries = invocation.platforms.map((p) => binaryName(p));

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
      product: "kubelet",
      strategy: res.strategy,
      series: res.patchSeries,
      changes: res.changes,
      versionFile: invocation.versionFile,
      gitVersion: invocation.gitVersion,
      commit: pending("commit"),
    },
    { step: "make", product: "kubelet", ...invocation, generated: generatedReuse(o.cacheDir, o.runner) },
    { step: "verify", product: "kubelet", outputs: invocation.outputs, expect: res.affected ? "patched" : "not-affected", gitVersion: invocation.gitVersion },
    ...publicationSteps("kubelet", binaries, plannedChange(res.strategy, res), o),
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
    product: "kubelet",
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

/** The steps after verify, the same for both products: SHA256SUMS, the Statements and SBOMs, the publication. */
function publicationSteps(product: Product, binaries: string[], change: PlannedChange, o: Pick<BuildOptions, "out" | "signKeyId">): BuildStep[] {
  return [
    { step: "checksum", binaries, file: "SHA256SUMS" },
    {
      step: "attest",
      file: "manifest.json",
      format: `in-toto Statement v1: SLSA provenance v1, nokmem verdict, CycloneDX SBOM per ${product}`,
      change,
      keyid: o.signKeyId,
    },
    // SHA256SUMS last: a reader who sees it sees everything it lists.
    { step: "publish", out: o.out, files: [...binaries, "build.log"], last: "SHA256SUMS" },
  ];
}

/**
 * A runc: the tree is inspected first (its VERSION file, Makefile, layout and
 * Go), then patched, made with the Makefile's own BUILDTAGS plus the
 * strategy's, in the GOPATH layout the tree needs, and verified against its
 * `runc --version` stamp; from checksum on, as a kubelet.
 */
function planRuncBuild(res: RuncResolution, source: { spec: SourceSpec; ref?: string }, image: ImagePlanInput, o: BuildOptions): BuildPlan {
  if (!("choice" in image)) throw new Error("internal: a runc build's image is chosen before its tree is staged");
  const ref = source.spec.kind === "git" ? (source.ref ?? `v${res.version}`) : null;
  const invocation = runcMakeInvocation(res.addTags, o);
  const binaries = invocation.outputs.map((x) => binaryName(x.platform, "runc"));
  const steps: BuildStep[] = [
    {
      step: "stage",
      source: source.spec,
      ref,
      into: pending("invocationId", posix.join(o.cacheDir, "work", "{}", "tree")),
      linkMode: o.linkMode,
      willModify: res.changes,
      keep: o.keepWork,
    },
    { step: "inspect", product: "runc", expect: { version: res.version, line: res.line, strategy: res.strategy, kmemLayout: res.kmemLayout, go: res.go } },
    { step: "patch", product: "runc", series: res.patchSeries, changes: res.changes },
    { step: "image", runner: "docker", choice: image.choice, chooseWith: null, pull: o.pull, strictToolchain: o.strictToolchain },
    { step: "make", product: "runc", ...invocation },
    { step: "verify", product: "runc", outputs: invocation.outputs, expect: res.affected ? "patched" : "not-affected", version: res.version },
    ...publicationSteps("runc", binaries, plannedChange(res.strategy, res), o),
  ];
  return {
    planVersion: PLAN_VERSION,
    product: "runc",
    version: res.version,
    gitVersion: res.version,
    line: res.line,
    strategy: res.strategy,
    affected: res.affected,
    runner: "docker",
    platforms: [RUNC_PLATFORM],
    out: o.out,
    cacheDir: o.cacheDir,
    command: invocation.command,
    source: { kind: source.spec.kind, origin: source.spec.kind === "git" ? source.spec.display : source.spec.path, ref },
    image: image.choice,
    pending: {
      invocationId: "start",
      containerName: "start",
      tree: "stage",
      commit: "stage",
      commitTime: "stage",
      buildTags: "inspect",
      goModules: "inspect",
      imageRef: "image",
      imageId: "image",
      imageGo: "image",
      goCacheVolume: "image",
    },
    steps,
  };
}

/** The change the release's strategy declares, with what the attest step records of it. */
function plannedChange(id: AnyStrategyId, res: { line: string; patchSeries: string | null }): PlannedChange {
  const strategy = strategyFor(id);
  switch (strategy.change) {
    case "patches":
      if (!res.patchSeries) throw new Error(`internal: strategy ${strategy.id} declares patches but names no series for ${res.line}`);
      return { kind: "patches", series: res.patchSeries };
    case "build-setting":
      // A runc's tags are added to its Makefile's default, which only the staged tree says.
      return {
        kind: "build-setting",
        env: strategy.product === "kubelet" ? Object.entries(strategy.env) : [["BUILDTAGS", `<the Makefile's default> ${strategy.addTags.join(" ")}`]],
      };
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
