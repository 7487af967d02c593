/**
 * The executor of both products: walks a BuildPlan's steps in order with one exhaustive switch,
 * binds each pending fact once, and owns every resource a build holds: the
 * output lock and staging folder, the work folder and staged tree, the log,
 * the container. Each step that takes one says so (`r.held.take`) with the
 * one function that gives it back; whatever happens, runBuild gives them all
 * back, last taken first, and a signal removes the container at once.
 * Nothing reaches --out before every check passed.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { copyFile, lstat, mkdir, readFile, rename, rm, stat, symlink } from "node:fs/promises";
import { join } from "node:path";
import type { Catalog } from "../catalog/types.js";
import { assertNever, BuildError, EnvironmentError, InterruptedError, ToolError, TreeError, VerificationError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { confine, confinedRoot, ConfinementError } from "../io/confine.js";
import { formatCommand, run, tail } from "../process/exec.js";
import { formatSha256Sums, sha256File } from "../artifact/checksums.js";
import { Held } from "../process/teardown.js";
import { writeAttestations } from "../artifact/attest.js";
import type { NokmemChange } from "../artifact/sbom.js";
import type { SigningKey } from "../artifact/dsse.js";
import { Publication, type PublishRecovery } from "../artifact/publish.js";
import { stageSource, type StagedSource } from "../source/index.js";
import { treeRelease, type TreeFacts } from "../tree/assess.js";
import { readTreeFacts } from "../tree/inspect.js";
import { chooseImage, toolchainMatches, type ImageChoice } from "../tree/build-image.js";
import { assessRuncTree, checkBuildEnvironment, readRuncTree, type RuncAssessment } from "../tree/runc-tree.js";
import { patchRuncTree } from "../patch/runc.js";
import { strategyFor } from "../strategy/index.js";
import type { KmemLayout, Product } from "../strategy/types.js";
import { stepOf, workDirOf, type BuildPlan, type BuildStep, type PlannedChange } from "./build-plan.js";
import {
  DOCKER,
  dockerPreflight,
  dockerRunArgs,
  digestRefFor,
  ensureCacheVolume,
  ensureImage,
  imageGoVersion,
  parseGoVersion,
  removeContainer,
  runImage,
} from "./docker.js";
import { Facts, type Bound } from "./facts.js";
import { beforeMake, describeGenerated, type GeneratedOutcome } from "./generated-cache.js";
import { cacheVolumeName, TREE_GO_CACHE, type MakeInvocation, type Runner } from "./make-invocation.js";
import { checkBuiltRunc, runcBuildEnv, runcChange, runcDockerArgs, runcGopathVolume, type RuncMakeInvocation } from "./runc-make.js";
import type { Progress } from "./progress.js";
import { checkVersionStamp, defaultSteps, type BuildSteps, type PatchOutcome, type VerifyOutcome } from "./steps.js";
import { isNokmem, type NokmemVerdict, type Verdict } from "../verdict.js";

interface BuildDeps {
  catalog: Catalog;
  signal: AbortSignal;
  progress: Progress;
  steps?: BuildSteps;
  tool: { name: string; version: string };
  /** Wait for another build holding --out instead of failing. */
  wait?: boolean;
  /** Sign the Statements (DSSE) with this key; the plan's attest step names its keyid. */
  signKey?: SigningKey;
  /** `--gpg-key` of `build --package`: signs the packages and the repositories. */
  gpgKey?: string;
  /** Printed on failure: the tail of make's log. */
  onFailureTail?: (text: string) => void;
  /** runc: the environment checked for BUILDTAGS (default: this process's). */
  env?: Readonly<Record<string, string | undefined>>;
}

interface BuiltBinary {
  platform: string;
  path: string;
  sha256: string;
}

/** The image's Go against the Go the tree was released with. */
interface ToolchainCheck {
  expected: string | null;
  expectedFrom: ImageChoice["expectedGoFrom"];
  found: string | null;
  /** null when either side is unknown. */
  matches: boolean | null;
  note: string;
}

/** What only a runc build reports: its stamp, its tags, and what its tree said. */
interface RuncFacts {
  /** `runc --version` as read from the binary: version and commit. */
  stamp: { version: string; commit: string | null };
  buildTags: string[];
  makefileTags: string[];
  kmemLayout: KmemLayout;
  /** Where the tree and the catalog disagree (the tree won). */
  disagreements: string[];
  go: { tree: RuncAssessment["go"]; image: string | null };
  patches: { name: string; sha256: string }[];
}

export interface BuildResult {
  product: Product;
  version: string;
  /** The strategy the build used: the plan's, or for runc the one its tree called for. */
  strategy: string;
  /** The first platform's binary (absolute path). */
  kubelet: string;
  sha256: string;
  manifest: string;
  /** Every attestation file published (Statements, envelopes, SBOMs), absolute. */
  attestations: string[];
  /** keyid of the signing key, null when unsigned. */
  keyid: string | null;
  /** The audit's verdict the build proved: patched, or not-affected for a release that never enables kmem. */
  verdict: NokmemVerdict;
  out: string;
  binaries: BuiltBinary[];
  sha256sums: string;
  log: string;
  source: { kind: string; origin: string; commit: string | null; treeDigest: string; sourceDateEpoch: number };
  /** ref: what ran (`repo@sha256:…` when the image has a registry digest); id: the local image id. */
  image: { ref: string; id: string | null; go: string | null; rule: ImageChoice["rule"]; requested: string; pulled: boolean };
  toolchain: ToolchainCheck;
  runner: Runner;
  /** Whether make's generated files came from an earlier build of the same inputs (generated-cache.ts); null for runc, which generates nothing. */
  generated: GeneratedOutcome | null;
  invocationId: string;
  seconds: number;
  /** The plan this build walked, exactly as `--dry-run` prints it. */
  plan: BuildPlan;
  /** The facts the build bound into the plan's pending fields. */
  bound: Record<string, unknown>;
  /** runc builds: what only they report; null for a kubelet. */
  runc: RuncFacts | null;
}

/** What every step may read and none changes: the plan, the build's dependencies, the run's identity and what it holds. */
interface Ctx {
  readonly plan: BuildPlan;
  readonly deps: BuildDeps;
  readonly steps: BuildSteps;
  /** The plan's pending facts, each bound once by the step the plan names. */
  readonly facts: Facts;
  readonly invocationId: string;
  readonly startedOn: Date;
  readonly publication: Publication;
  /** Everything the build holds until it ends: the lock, the work folder, the staged tree, the log, the container. */
  readonly held: Held;
  /** Where the make step writes build.log (in the publication's staging folder). */
  readonly logPath: string;
}

/** What each step hands on: a later step takes the outputs it needs as its input. */
interface ImageOutput {
  choice: ImageChoice;
  /** What ran: a digest reference when the image has one; "local" for the local runner. */
  ref: string;
  id: string | null;
  go: string | null;
  pulled: boolean;
  toolchain: ToolchainCheck;
}
interface StageOutput {
  staged: StagedSource;
  /** What a kubelet's staged tree says about itself (release, runc, kmem layout), read once; null for a runc's (the inspect step reads it). */
  facts: TreeFacts | null;
}
interface InspectOutput {
  /** The runc tree's own word: its strategy, tags, layout, Go, and where it disagrees with the catalog. */
  assessment: RuncAssessment;
}
interface PatchOutput {
  patches: PatchOutcome["patches"];
}
interface MakeOutput {
  /** The plan's make step with its facts bound: filled in once, here. */
  invocation: Bound<MakeInvocation> | Bound<RuncMakeInvocation>;
  commandLine: { file: string; args: string[] };
  /** What the make command ran with, as the provenance records it. */
  env: [string, string][];
  command: string[];
  sourceDateEpoch: number | null;
  image: { ref: string; id: string | null; go: string | null };
  log: WriteStream;
  generated: GeneratedOutcome | null;
}
interface VerifyOutput {
  binaries: { platform: string; built: string; outcome: VerifyOutcome }[];
  /** The audit's verdict, the same for every kubelet and equal to the plan's expectation. */
  verdict: NokmemVerdict;
}
interface ChecksumOutput {
  binaries: { platform: string; rel: string; sha256: string }[];
}
interface AttestOutput {
  /** What the attest step wrote, in publication order. */
  files: string[];
  logSha: string;
  finishedOn: Date;
}
interface StepOutputs {
  image: ImageOutput;
  stage: StageOutput;
  inspect: InspectOutput;
  patch: PatchOutput;
  make: MakeOutput;
  verify: VerifyOutput;
  checksum: ChecksumOutput;
  attest: AttestOutput;
  publish: { files: string[] };
  package: { files: string[] };
}
type StepName = BuildStep["step"];
type Done = Partial<StepOutputs>;

/** The outputs a step takes as input. A missing one is a plan whose steps are out of order: a bug. */
function need<K extends StepName>(done: Done, ...names: K[]): Pick<StepOutputs, K> {
  const missing = names.filter((n) => done[n] === undefined);
  if (missing.length) throw new Error(`internal: a step needs the output of ${missing.join(", ")}, which has not run`);
  return done as Pick<StepOutputs, K>;
}

/** Run a plan. Everything the build does is in the plan; `deps` are the doors it goes through. */
export async function runBuild(plan: BuildPlan, deps: BuildDeps): Promise<BuildResult> {
  const { progress, signal } = deps;
  const startedOn = new Date();
  const facts = new Facts();
  const invocationId = facts.set("invocationId", `${startedOn.toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}-${randomBytes(4).toString("hex")}`);
  if (plan.runner === "docker") facts.set("containerName", `kubelet-nokmem-build-${invocationId.toLowerCase()}`);
  // A BUILDTAGS of the caller's would replace a runc Makefile's default silently: refused before anything is taken.
  if (plan.product === "runc") checkBuildEnvironment(deps.env ?? process.env);
  const held = new Held();
  let logPath: string | null = null;
  try {
    // The output lock first: a second build into the same --out fails before any work.
    progress.start("preflight", plan.out);
    const publication = await Publication.begin(plan.out, {
      wait: deps.wait,
      signal,
      purpose: `build v${plan.version}`,
      onWait: (h) => progress.info(`waiting for the build holding ${plan.out}${h ? ` (pid ${h.pid})` : ""} to finish`),
    });
    // Unless it is committed first, an unfinished publication is abandoned: its staging folder goes, the lock is released.
    held.take("publication", () => publication.abandon());
    if (publication.recovered) progress.info(describeRecovery(publication.out, publication.recovered));
    progress.done(`${plan.strategy} for ${plan.product === "runc" ? `runc ${plan.version}` : plan.gitVersion}`);
    logPath = await publication.stagedPath("build.log");
    const ctx: Ctx = { plan, deps, steps: deps.steps ?? defaultSteps(deps.catalog), facts, invocationId, startedOn, publication, held, logPath };
    let done: Done = {};
    for (const step of plan.steps) {
      checkAborted(signal);
      done = { ...done, ...(await runStep(ctx, step, done)) };
    }
    return result(ctx, need(done, "image", "stage", "patch", "make", "verify", "checksum", "attest"), inspected(ctx, done));
  } catch (err) {
    // The log is complete before it is kept.
    await held.release("log").catch(() => undefined);
    if (logPath && !signal.aborted)
      await keepFailedLog(logPath, plan.cacheDir, invocationId, err instanceof BuildError && err.code === "E_MAKE", deps.onFailureTail);
    if (signal.aborted) {
      throw new InterruptedError(
        "E_INTERRUPTED",
        "build interrupted: the container was stopped and nothing was published",
        "re-run the same command to build again",
      );
    }
    throw err;
  } finally {
    progress.stop();
    // Cleanup a signalled run waits for (src/process/teardown.ts).
    await held.releaseAll();
  }
}

/** One step, given the outputs of the steps before it. The switch is exhaustive: a new kind of step does not compile until it is handled here. */
async function runStep(ctx: Ctx, step: BuildStep, done: Done): Promise<Done> {
  switch (step.step) {
    case "image":
      // The image comes from the staged tree only when the plan says so.
      return { image: await imageStep(ctx, step, step.chooseWith ? need(done, "stage").stage : null) };
    case "stage":
      return { stage: await stageStep(ctx, step) };
    case "inspect":
      return { inspect: await inspectStep(ctx, step, need(done, "stage")) };
    case "patch":
      return {
        patch: step.product === "runc" ? await runcPatchStep(ctx, step, need(done, "stage", "inspect")) : await patchStep(ctx, step, need(done, "stage")),
      };
    case "make":
      return { make: await makeStep(ctx, step, need(done, "image", "stage", "patch")) };
    case "verify":
      return { verify: await verifyStep(ctx, step, need(done, "stage"), inspected(ctx, done)) };
    case "checksum":
      return { checksum: await checksumStep(ctx, step, need(done, "verify")) };
    case "attest":
      return { attest: await attestStep(ctx, step, need(done, "image", "stage", "patch", "make", "verify", "checksum"), inspected(ctx, done)) };
    case "publish":
      return { publish: await publishStep(ctx, step, need(done, "checksum", "attest")) };
    case "package":
      return { package: await packageStep(ctx, step, need(done, "publish", "make", "stage")) };
    default:
      return assertNever(step, "build step");
  }
}

/** A runc's inspect output (its tree's word, which later steps and the records follow); null for a kubelet, whose plan has no inspect step. */
function inspected(ctx: Ctx, done: Done): InspectOutput | null {
  return ctx.plan.product === "runc" ? need(done, "inspect").inspect : null;
}

type StepOf<N extends StepName> = Extract<BuildStep, { step: N }>;
type KubeletStepOf<N extends StepName> = Extract<StepOf<N>, { product: "kubelet" }>;
type RuncStepOf<N extends StepName> = Extract<StepOf<N>, { product: "runc" }>;

async function imageStep(ctx: Ctx, step: StepOf<"image">, stage: StageOutput | null): Promise<ImageOutput> {
  const { progress, signal } = ctx.deps;
  let choice: ImageChoice;
  if (step.chooseWith) {
    if (!stage?.facts) throw new Error("internal: the image is chosen from the staged tree, but no tree's facts are read");
    // The only image fact the staged tree has to give: its build-image files, read once with the tree's facts.
    choice = ctx.facts.set("imageChoice", chooseImage({ ...step.chooseWith, tree: stage.facts.buildImage ?? null }));
  } else {
    choice = ctx.facts.value(step.choice);
  }
  progress.start("image", `${choice.ref} (rule: ${choice.rule})`);
  let found: { ref: string; id: string | null; go: string | null; pulled: boolean };
  if (step.runner === "local") {
    const go = await localGo(signal);
    found = { ref: "local", id: null, go, pulled: false };
  } else {
    await dockerPreflight(signal);
    const { info, pulled } = await ensureImage(choice.ref, step.pull, { signal, onLine: (l) => progress.output(l) }).catch((err: unknown) => {
      if (ctx.plan.product === "runc" && err instanceof EnvironmentError && err.code === "E_IMAGE_MISSING") {
        throw new EnvironmentError(
          "E_IMAGE_MISSING",
          `expected the runc build image ${choice.ref} on this machine, found none`,
          "make it offline from Debian packages: `sudo kubelet-nokmem image build --runc`, or pass --image with Go, gcc, make and libseccomp-dev",
        );
      }
      throw err;
    });
    if (choice.pinnedId && info.id !== choice.pinnedId) {
      throw new VerificationError(
        "E_IMAGE_PIN",
        `expected ${choice.ref} to be the pinned image ${choice.pinnedId} for v${ctx.plan.version}, found ${info.id}`,
        "the tag moved since the pin was made: restore the pinned image, or re-pin deliberately with `kubelet-nokmem pin OUT --force`",
      );
    }
    const go = await imageGoVersion(info, signal);
    found = { ref: digestRefFor(info, choice.ref) ?? choice.ref, id: info.id, go, pulled };
    // A runc's is its GOPATH (older trees build only there); a kubelet's is the Go build cache the tree's build forces.
    ctx.facts.set("goCacheVolume", ctx.plan.product === "runc" ? runcGopathVolume(info.id) : cacheVolumeName(ctx.plan.line, info.id));
  }
  ctx.facts.set("imageRef", found.ref);
  ctx.facts.set("imageId", found.id);
  ctx.facts.set("imageGo", found.go);
  const toolchain = checkToolchain(choice, found.go);
  if (step.strictToolchain && toolchain.matches !== true) {
    throw new EnvironmentError(
      "E_TOOLCHAIN",
      `expected Go ${choice.expectedGo ?? "(unknown)"} for v${ctx.plan.version} (${choice.expectedGoFrom ?? "nothing says"}), found Go ${found.go ?? "(unknown)"} in ${found.ref}`,
      `use the image the tree asks for (drop --image), pass --image with Go ${choice.expectedGo ?? "the tree's version"}, or drop --strict-toolchain`,
    );
  }
  const shown = step.runner === "local" ? "Go on PATH" : runImage(found.ref, found.id);
  progress.done(`${shown}${found.pulled ? " (pulled)" : ""}, Go ${found.go ?? "unknown"}${toolchain.matches === false ? `; ${toolchain.note}` : ""}`);
  return { choice, ...found, toolchain };
}

/** Pure: the toolchain check as it is shown in the log, the result and the manifest. */
function checkToolchain(choice: Pick<ImageChoice, "expectedGo" | "expectedGoFrom">, found: string | null): ToolchainCheck {
  const matches = toolchainMatches(choice.expectedGo, found);
  const note =
    matches === null
      ? `cannot compare the toolchain: expected Go ${choice.expectedGo ?? "unknown"}, image has Go ${found ?? "unknown"}`
      : matches
        ? `Go ${found} is the Go the release was built with`
        : `Go ${found} differs from Go ${choice.expectedGo}, which the release was built with (${choice.expectedGoFrom}): allowed, but the binary is not what upstream's toolchain would produce`;
  return { expected: choice.expectedGo, expectedFrom: choice.expectedGoFrom, found, matches, note };
}

async function localGo(signal: AbortSignal): Promise<string | null> {
  const out = await run({ file: "go", args: ["version"] }, { signal, reject: false }).catch((err: unknown) => {
    if (err instanceof EnvironmentError) {
      throw new EnvironmentError(
        "E_GO_MISSING",
        "expected `go` on PATH for --runner local, found nothing",
        "install Go (`apt-get install golang-1.19-go`, then PATH=/usr/lib/go-1.19/bin:$PATH) or use --runner docker",
      );
    }
    throw err;
  });
  return parseGoVersion(out.stdout);
}

async function stageStep(ctx: Ctx, step: StepOf<"stage">): Promise<StageOutput> {
  const { progress, signal } = ctx.deps;
  progress.start("stage", step.source.kind === "git" ? `${step.source.display} at ${step.ref}` : step.source.path);
  const workDir = workDirOf(ctx.plan, ctx.invocationId);
  // --keep-work leaves both for inspection.
  if (!step.keep) ctx.held.take("work folder", () => rm(workDir, { recursive: true, force: true }));
  await mkdir(workDir, { recursive: true });
  const staged = await stageSource(step.source, {
    cacheDir: ctx.plan.cacheDir,
    into: ctx.facts.value(step.into),
    ref: step.ref ?? `v${ctx.plan.version}`,
    willModify: step.willModify,
    linkMode: step.linkMode,
    signal,
    onProgress: (l) => progress.info(l),
  });
  if (!step.keep) ctx.held.take("staged tree", () => staged.cleanup());
  ctx.facts.set("tree", staged.tree);
  ctx.facts.set("commit", staged.commit);
  ctx.facts.set("commitTime", staged.time);
  // A kubelet's staged tree's own release, read as `patch` reads it: a build is labelled with --version, so the tree must be that release.
  // A runc's tree is read by the inspect step.
  const facts = ctx.plan.product === "kubelet" ? await readTreeFacts(staged.tree, { status: false }) : null;
  if (facts) checkTreeRelease(facts, step, ctx.plan.version, (l) => progress.info(l));
  progress.done(
    `${staged.kind}${staged.commit ? ` ${staged.commit.slice(0, 12)}` : ""}, ${staged.digest.files} files, ${(staged.digest.bytes / 1e6).toFixed(1)} MB` +
      (staged.staging.method === "link" ? ` (${staged.staging.linked} hard-linked, ${staged.staging.copied} copied)` : ""),
  );
  return { staged, facts };
}

/**
 * Refuse a source whose release is not the one the build is labelled with:
 * the kubelet, its checksums and its provenance would name --version for
 * another release's code. A tree that does not say (a plain folder, a
 * checkout past its tag) is taken at its word, and the log says so.
 */
function checkTreeRelease(facts: TreeFacts, step: StepOf<"stage">, version: string, note: (line: string) => void): void {
  const tree = treeRelease(facts);
  const shown = step.source.kind === "git" ? `${step.source.display} at ${step.ref ?? `v${version}`}` : step.source.path;
  if (tree.version === null) {
    note(
      `the source does not say which release it is (${tree.source === "git" ? `git describe ${tree.describe ?? "finds no v* tag"}` : "no release tag, no git archive stamp"}): building it as v${version}, as --version says`,
    );
    return;
  }
  if (tree.version !== version) {
    throw new TreeError(
      "E_TREE_RELEASE",
      `expected ${shown} to be v${version} (--version), found v${tree.version} (${tree.source === "git" ? "git describe" : "the git archive stamp in hack/lib/version.sh"}); nothing was built`,
      `pass --version ${tree.version} to build the release the source is, or a source of v${version}`,
    );
  }
}

/**
 * runc: the tree is the final word. Its VERSION file must be the request's,
 * its Makefile must honour BUILDTAGS, and its layout picks the strategy
 * (a disagreement with the catalog is reported, the tree's is used).
 */
async function inspectStep(ctx: Ctx, step: StepOf<"inspect">, input: Pick<StepOutputs, "stage">): Promise<InspectOutput> {
  const { progress } = ctx.deps;
  progress.start("inspect");
  const assessment = assessRuncTree(await readRuncTree(input.stage.staged.tree), step.expect);
  ctx.facts.set("buildTags", assessment.buildTags);
  ctx.facts.set("goModules", assessment.goMod);
  for (const d of assessment.disagreements) progress.info(`note: ${d}`);
  progress.done(`${assessment.layout}, ${assessment.strategy}, BUILDTAGS="${assessment.buildTags.join(" ")}"`);
  return { assessment };
}

/** runc: the series of the strategy the tree called for, even when the catalog named another (the disagreement is reported). */
async function runcPatchStep(ctx: Ctx, step: RuncStepOf<"patch">, input: Pick<StepOutputs, "stage" | "inspect">): Promise<PatchOutput> {
  const { progress } = ctx.deps;
  const a = input.inspect.assessment;
  const strategy = strategyFor(a.strategy);
  const series = strategy.patchSeries(ctx.plan);
  progress.start("patch", series ?? "no source patches");
  if (!series || a.alreadyPatched) {
    progress.done(series ? "already patched" : "nothing to patch");
    return { patches: [] };
  }
  if (series !== step.series) progress.info(`note: the tree's strategy ${a.strategy} applies ${series}, not the catalog's ${step.series ?? "nothing"}`);
  const record = await patchRuncTree(input.stage.staged.tree, series, { expectChanges: strategy.changes });
  progress.done(record.changed.join(", "));
  return { patches: record.patches };
}

async function patchStep(ctx: Ctx, step: KubeletStepOf<"patch">, input: Pick<StepOutputs, "stage">): Promise<PatchOutput> {
  const { progress } = ctx.deps;
  const { staged, facts } = input.stage;
  if (!facts) throw new Error("internal: a kubelet's patch step without the staged tree's facts");
  progress.start("patch", step.series ?? "no source patches");
  // The series is the plan's: the release and the strategy's series as the plan names them.
  const target = { version: ctx.plan.version, line: ctx.plan.line, strategy: step.strategy, patchSeries: step.series };
  const patched = await ctx.steps.patch(staged.tree, target, {
    versionFile: join(staged.tree, step.versionFile),
    gitVersion: step.gitVersion,
    commit: ctx.facts.value(step.commit),
    facts,
    signal: ctx.deps.signal,
  });
  progress.done(`${patched.patches.length} patch(es), version file ${step.versionFile}`);
  return { patches: patched.patches };
}

async function makeStep(ctx: Ctx, step: StepOf<"make">, input: Pick<StepOutputs, "image" | "stage" | "patch">): Promise<MakeOutput> {
  const { progress, signal } = ctx.deps;
  const { image } = input;
  // What an earlier build of the same inputs generated, restored into this fresh tree (generated-cache.ts); binds generatedKey.
  const staged = input.stage.staged;
  const key = { version: ctx.plan.version, strategy: ctx.plan.strategy, series: stepOf(ctx.plan, "patch").series, patches: input.patch.patches };
  const generated =
    step.product === "kubelet" ? await beforeMake(ctx.facts, step, { ...key, treeDigest: staged.digest.digest, commit: staged.commit }, signal) : null;
  // The one place the make step's pending facts are filled in; attest and the result take this.
  const made = makeCommand(ctx.facts.bind(step));
  const { invocation: inv, commandLine } = made;
  progress.start("make", inv.runner === "docker" ? `in ${runImage(inv.image.ref, inv.image.id)}` : "on this host");
  const log = createWriteStream(ctx.logPath, { flags: "w" });
  // A failed write (ENOSPC) carries no path of its own: name the log. The
  // stream keeps the error (`errored`); the attest step reports it.
  log.on("error", (err: NodeJS.ErrnoException) => void Object.assign(err, { path: err.path ?? ctx.logPath }));
  ctx.held.take("log", () => closeStream(log));
  const header = [
    `kubelet-nokmem build ${ctx.invocationId}`,
    `image ${inv.image.ref} (rule ${image.choice.rule}), Go ${inv.image.go ?? "unknown"}`,
    `toolchain: ${image.toolchain.note}`,
    ...(generated ? [generated.note] : []),
    formatCommand(commandLine),
  ];
  log.write(header.map((l) => `# ${l}\n`).join(""));
  if (generated) progress.info(generated.note);
  const onLine = (line: string) => {
    log.write(`${line}\n`);
    progress.output(line);
  };
  await prepareCache(made, signal);
  const make = () =>
    run(
      {
        file: commandLine.file,
        args: commandLine.args,
        cwd: inv.runner === "local" ? inv.tree : undefined,
        env: inv.runner === "local" ? Object.fromEntries(made.env) : undefined,
      },
      { onLine, signal },
    );
  try {
    if (inv.containerName) {
      const name = inv.containerName;
      ctx.held.take("container", () => removeContainer(name));
      // Killing the docker client does not stop the container (make as PID 1 ignores
      // the forwarded SIGTERM): remove the container itself as soon as we are interrupted.
      await ctx.held.releasingOnAbort(signal, "container", make);
    } else {
      await make();
    }
  } catch (err) {
    if (signal.aborted) throw err;
    if (err instanceof ToolError && err.code === "E_EXEC") {
      throw new BuildError(
        "E_MAKE",
        `expected \`${inv.command.join(" ")}\` to succeed, found it failing (${err.message.replace(/^`[^`]*` /, "")})`,
        "read the log tail above, or the full build.log",
      );
    }
    throw err;
  }
  const reuse = generated ? await generated.after() : null;
  if (reuse) log.write(`# ${describeGenerated(reuse)}\n`);
  progress.done(made.product === "runc" ? made.invocation.tags.buildTags.join(" ") : reuse ? describeGenerated(reuse) : undefined);
  return { ...made, log, generated: reuse };
}

/** A bound make step's command line and what the provenance records of it, per product. */
type MadeCommand = Omit<MakeOutput, "log" | "generated"> &
  ({ product: "kubelet"; invocation: Bound<MakeInvocation> } | { product: "runc"; invocation: Bound<RuncMakeInvocation> });

function makeCommand(step: Bound<StepOf<"make">>): MadeCommand {
  const image = { ref: step.image.ref, id: step.image.id, go: step.image.go };
  if (step.product === "runc") {
    const args = runcDockerArgs({
      containerName: step.containerName,
      uid: step.user.uid,
      gid: step.user.gid,
      gopathVolume: step.gopathVolume,
      tree: step.tree,
      image,
      goMod: step.goModules,
      buildTags: step.tags.buildTags,
      commit: step.commit,
    });
    const commandLine = { file: DOCKER, args };
    return { product: "runc", invocation: step, commandLine, env: runcBuildEnv(step.goModules), command: [DOCKER, ...args], sourceDateEpoch: null, image };
  }
  const [program, ...programArgs] = step.command;
  if (!program) throw new Error("internal: the make step has an empty command");
  const commandLine = step.runner === "docker" ? { file: DOCKER, args: dockerRunArgs(step) } : { file: program, args: programArgs };
  return {
    product: "kubelet",
    invocation: step,
    commandLine,
    env: step.env,
    command: commandLine.file === DOCKER ? [commandLine.file, ...commandLine.args] : step.command,
    sourceDateEpoch: step.sourceDateEpoch,
    image,
  };
}

async function prepareCache(made: MadeCommand, signal: AbortSignal): Promise<void> {
  if (made.product === "runc") {
    const inv = made.invocation;
    await ensureCacheVolume(inv.gopathVolume, inv.image.id ?? inv.image.ref, inv.user.uid, inv.user.gid, signal);
    return;
  }
  const inv = made.invocation;
  const cacheInTree = await inTree(inv.tree, TREE_GO_CACHE);
  if (inv.runner === "docker") {
    if (!inv.user) throw new Error("internal: a docker make step without --user");
    await ensureCacheVolume(inv.goCache.name, inv.image.id ?? inv.image.ref, inv.user.uid, inv.user.gid, signal);
    // Created by us, not by Docker for the mount point: a root-owned _output/ would stop a non-root build.
    await mkdir(cacheInTree, { recursive: true });
  } else {
    // The persistent cache for the local runner is a folder under the cache dir, linked where the build puts its cache.
    await mkdir(inv.goCache.name, { recursive: true });
    await mkdir(join(cacheInTree, ".."), { recursive: true });
    if (!(await lstat(cacheInTree).catch(() => null))) await symlink(inv.goCache.name, cacheInTree);
  }
}

/** A verify failure says what the audit's verdict means: "kmem-enabled" stays greppable in the message. */
const VERDICT_MEANS: Record<Verdict, string> = {
  patched: "the audit finds kmem accounting stubbed or compiled out, in a release whose kubelet would enable it",
  unpatched: "kmem-enabled code in the binary",
  "not-affected": "the audit reads a release that never enables kmem",
  unknown: "the evidence does not decide",
};

async function verifyStep(ctx: Ctx, step: StepOf<"verify">, input: Pick<StepOutputs, "stage">, inspect: InspectOutput | null): Promise<VerifyOutput> {
  const { progress } = ctx.deps;
  const tree = input.stage.staged.tree;
  progress.start("verify");
  const problems: string[] = [];
  const verified: VerifyOutput["binaries"] = [];
  for (const o of step.outputs) {
    const built = await inTree(tree, o.path);
    if (!(await isFile(built))) {
      throw new BuildError(
        "E_NO_KUBELET",
        `expected make to leave a ${ctx.plan.product} at ${o.path}, found none`,
        step.product === "runc"
          ? "check build.log: the tree's Makefile must build `runc` in the tree's root"
          : "check build.log: the tree's Makefile may not honour KUBE_BUILD_PLATFORMS or WHAT=cmd/kubelet",
      );
    }
    const outcome = await ctx.steps.verify(built);
    verified.push({ platform: o.platform, built, outcome });
    if (step.product !== "kubelet") {
      // The plan expects what the catalog predicts; the tree's own strategy is the final word.
      if (!inspect) throw new Error("internal: a runc's verify step without its tree's inspection");
      checkBuiltRunc(outcome, { verdict: inspect.assessment.affected ? "patched" : "not-affected", version: step.version }, input.stage.staged.commit);
      continue;
    }
    // The audit's verdict must be the strategy's expectation, whichever it is: a not-affected release whose kubelet carries kmem code is refused too.
    if (outcome.verdict !== step.expect) problems.push(`${o.platform}: ${outcome.verdict} (${VERDICT_MEANS[outcome.verdict]})`);
    // The audit read the stamp exactly when it could; otherwise search the bytes.
    const stamp =
      outcome.gitVersion !== undefined
        ? { ok: outcome.gitVersion === step.gitVersion, found: outcome.gitVersion }
        : checkVersionStamp(await readFile(built), step.gitVersion);
    if (!stamp.ok) problems.push(`${o.platform}: version ${stamp.found} instead of ${step.gitVersion}`);
  }
  if (problems.length) {
    throw new VerificationError(
      "E_NOT_NOKMEM",
      `expected a kubelet the audit judges ${step.expect}, stamped ${ctx.plan.gitVersion}; found ${problems.join("; ")}; nothing was published`,
      "the tag or patch did not reach the compiler: read build.log, check the tree's hack/lib/golang.sh GOFLAGS handling, or use a patching strategy",
    );
  }
  // The build reports the audit's word (equal to the expectation, checked above), not the plan's.
  const verdicts = new Set(verified.map((k) => k.outcome.verdict));
  const [verdict] = verdicts;
  if (verdicts.size !== 1 || verdict === undefined || !isNokmem(verdict))
    throw new Error(`internal: the verify step passed with the verdicts ${[...verdicts].join(", ")}`);
  const stamp = verified[0]?.outcome.runcVersion;
  progress.done(stamp ? `${verdict}, runc ${stamp.version}` : verdict);
  return { binaries: verified, verdict };
}

/** Move the binaries into staging (the verifier already hashed them) and write SHA256SUMS. */
async function checksumStep(ctx: Ctx, step: StepOf<"checksum">, input: Pick<StepOutputs, "verify">): Promise<ChecksumOutput> {
  const { progress } = ctx.deps;
  progress.start("checksum");
  const verified = input.verify.binaries;
  if (verified.length !== step.binaries.length)
    throw new Error(`internal: ${verified.length} binaries verified for ${step.binaries.length} name(s) to publish`);
  const binaries: ChecksumOutput["binaries"] = [];
  for (const [n, k] of verified.entries()) {
    const rel = step.binaries[n] ?? "";
    const dest = await ctx.publication.stagedPath(rel);
    await moveFile(k.built, dest);
    binaries.push({ platform: k.platform, rel, sha256: k.outcome.sha256 ?? (await sha256File(dest)) });
  }
  await writeFileAtomic(await ctx.publication.stagedPath(step.file), formatSha256Sums(binaries.map((b) => ({ name: b.rel, sha256: b.sha256 }))));
  progress.done(binaries.map((b) => `${b.rel} ${b.sha256.slice(0, 16)}…`).join(", "));
  return { binaries };
}

/** What made the kubelets nokmem (a runc: runcChange), from the plan's change and the patches the patch step applied. */
function nokmemChange(change: PlannedChange, patch: PatchOutput): NokmemChange {
  switch (change.kind) {
    case "patches":
      return { kind: "patches", patches: patch.patches };
    case "build-setting":
      return { kind: "build-setting", env: change.env };
    case "none":
      return { kind: "none", reason: change.reason };
    default:
      return assertNever(change, "planned change");
  }
}

/** The one place manifest.json is written. */
async function attestStep(
  ctx: Ctx,
  step: StepOf<"attest">,
  input: Pick<StepOutputs, "image" | "stage" | "patch" | "make" | "verify" | "checksum">,
  inspect: InspectOutput | null,
): Promise<AttestOutput> {
  const { progress } = ctx.deps;
  const { image, stage, patch, make, verify, checksum } = input;
  const staged = stage.staged;
  progress.start("publish", `${step.file}, then ${ctx.plan.out}`);
  const finishedOn = new Date();
  make.log.write(`# finished ${finishedOn.toISOString()}\n`);
  await ctx.held.release("log").catch((err: unknown) => {
    if (!make.log.errored) throw err;
  });
  if (make.log.errored) throw make.log.errored;
  const logSha = await sha256File(ctx.logPath);
  const signKey = step.keyid ? (ctx.deps.signKey ?? null) : null;
  if (step.keyid && signKey?.keyid !== step.keyid)
    throw new Error(`internal: the plan signs with ${step.keyid}, the build was given ${ctx.deps.signKey?.keyid ?? "no key"}`);
  // The one call that writes manifest.json (and the verdict, SBOMs and envelopes beside it).
  const files = await writeAttestations({
    product: ctx.plan.product,
    subjects: checksum.binaries.map((b) => ({ platform: b.platform, name: b.rel, sha256: b.sha256 })),
    version: ctx.plan.version,
    // A runc's tree is the final word on its strategy.
    strategy: inspect?.assessment.strategy ?? ctx.plan.strategy,
    line: ctx.plan.line,
    platforms: ctx.plan.platforms,
    source: {
      kind: staged.kind,
      origin: staged.origin,
      ref: staged.ref,
      commit: staged.commit,
      treeDigest: staged.digest.digest,
      dirHash: staged.digest.dirHash,
      gitTree: staged.gitTree,
      archiveSha256: staged.archiveSha256,
    },
    sourceDateEpoch: make.sourceDateEpoch ?? staged.time,
    env: make.env,
    command: make.command,
    runner: ctx.plan.runner,
    image: ctx.plan.runner === "docker" ? { ref: make.image.ref, id: make.image.id, rule: image.choice.rule, requested: image.choice.ref } : null,
    go: make.image.go,
    toolchain: image.toolchain,
    patches: patch.patches.map((p) => ({ name: p.name, sha256: p.sha256 })),
    tree: staged.tree,
    change: inspect ? runcChange(inspect.assessment, patch.patches) : nokmemChange(step.change, patch),
    verdict: {
      verdict: verify.verdict,
      binaries: verify.binaries.map((k) => ({
        platform: k.platform,
        verdict: k.outcome.verdict,
        gitVersion: k.outcome.gitVersion,
        ...(k.outcome.runcVersion ? { runcVersion: { version: k.outcome.runcVersion.version, commit: k.outcome.runcVersion.commit } } : {}),
        evidence: k.outcome.evidence,
      })),
    },
    linked: Object.fromEntries(verify.binaries.flatMap((k) => (k.outcome.linked ? [[k.platform, k.outcome.linked]] : []))),
    signKey,
    stage: (rel) => ctx.publication.stagedPath(rel),
    tool: ctx.deps.tool,
    invocationId: ctx.invocationId,
    startedOn: ctx.startedOn,
    finishedOn,
    byproducts: [{ name: "build.log", digest: { sha256: logSha } }],
  });
  return { files, logSha, finishedOn };
}

async function publishStep(ctx: Ctx, step: StepOf<"publish">, input: Pick<StepOutputs, "checksum" | "attest">): Promise<{ files: string[] }> {
  // A signal that arrives from here on is honoured after the renames: they take milliseconds, and half a publication is worse.
  // Binaries and the log, then what the attest step wrote, SHA256SUMS last.
  const files = [...step.files, ...input.attest.files, step.last];
  await ctx.publication.commit(files, new Map([...input.checksum.binaries.map((b) => [b.rel, b.sha256] as const), ["build.log", input.attest.logSha]]));
  ctx.deps.progress.done();
  return { files };
}

/** `build --package`: the published folder, checked and packaged as `kubelet-nokmem package` does it (after publish released the folder's lock). */
async function packageStep(ctx: Ctx, step: StepOf<"package">, input: Pick<StepOutputs, "publish" | "make" | "stage">): Promise<{ files: string[] }> {
  const { packageOutDir } = await import("../package/index.js");
  ctx.deps.progress.start("package", `${step.formats.join(", ")} of ${step.out}`);
  // Dated as the kubelet is: the same build packaged twice gives the same packages.
  const epoch = input.make.sourceDateEpoch ?? input.stage.staged.time;
  const r = await packageOutDir(ctx.deps.catalog, step.out, {
    formats: step.formats,
    release: step.release,
    gpgKey: step.signed ? ctx.deps.gpgKey : undefined,
    signKey: ctx.deps.signKey,
    date: new Date(epoch * 1000),
    signal: ctx.deps.signal,
  });
  ctx.deps.progress.done(`${r.packages.length} package${r.packages.length === 1 ? "" : "s"}`);
  return { files: r.packages.map((p) => p.name) };
}

function result(
  ctx: Ctx,
  outs: Pick<StepOutputs, "image" | "stage" | "patch" | "make" | "verify" | "checksum" | "attest">,
  inspect: InspectOutput | null,
): BuildResult {
  const out = ctx.publication.out;
  const { image, stage, patch, make, verify, checksum, attest } = outs;
  const staged = stage.staged;
  const [first] = checksum.binaries;
  if (!first) throw new Error("internal: a build published no binary");
  return {
    product: ctx.plan.product,
    version: ctx.plan.gitVersion,
    strategy: inspect?.assessment.strategy ?? ctx.plan.strategy,
    kubelet: join(out, first.rel),
    sha256: first.sha256,
    manifest: join(out, "manifest.json"),
    attestations: attest.files.map((f) => join(out, f)),
    keyid: stepOf(ctx.plan, "attest").keyid,
    verdict: verify.verdict,
    out,
    binaries: checksum.binaries.map((b) => ({ platform: b.platform, path: join(out, b.rel), sha256: b.sha256 })),
    sha256sums: join(out, "SHA256SUMS"),
    log: join(out, "build.log"),
    source: {
      kind: staged.kind,
      origin: staged.origin,
      commit: staged.commit,
      treeDigest: staged.digest.digest,
      sourceDateEpoch: make.sourceDateEpoch ?? staged.time,
    },
    image: { ...make.image, rule: image.choice.rule, requested: image.choice.ref, pulled: image.pulled },
    toolchain: image.toolchain,
    runner: ctx.plan.runner,
    generated: make.generated,
    invocationId: ctx.invocationId,
    seconds: Math.round((attest.finishedOn.getTime() - ctx.startedOn.getTime()) / 100) / 10,
    plan: ctx.plan,
    bound: ctx.facts.toJSON(),
    runc: inspect ? runcFacts(inspect.assessment, verify, patch, make.image.go) : null,
  };
}

function runcFacts(a: RuncAssessment, verify: VerifyOutput, patch: PatchOutput, imageGo: string | null): RuncFacts {
  const stamp = verify.binaries[0]?.outcome.runcVersion;
  if (!stamp) throw new Error("internal: a runc passed verify without its stamp");
  return {
    stamp: { version: stamp.version, commit: stamp.commit },
    buildTags: a.buildTags,
    makefileTags: a.makefileTags,
    kmemLayout: a.layout,
    disagreements: a.disagreements,
    go: { tree: a.go, image: imageGo },
    patches: patch.patches.map((p) => ({ name: p.name, sha256: p.sha256 })),
  };
}

function describeRecovery(out: string, rec: PublishRecovery): string {
  return rec.action === "finished"
    ? `finished a publication into ${out} that an earlier build left half-way (${rec.files.length} file(s) renamed)`
    : `removed a publication into ${out} that an earlier build left half-way and whose staged files were lost (${rec.files.join(", ")})`;
}

/** A failed build publishes nothing, but its log is worth keeping: copy it under the cache folder and say where. */
async function keepFailedLog(logPath: string, cacheDir: string, id: string, showTail: boolean, show?: (text: string) => void): Promise<void> {
  // Only a build that reached make has a log.
  if (!(await isFile(logPath))) return;
  try {
    const dir = join(cacheDir, "logs");
    await mkdir(dir, { recursive: true });
    const kept = join(dir, `${id}.log`);
    await copyFile(logPath, kept);
    const head = showTail ? `${tail((await readFile(kept, "utf8")).trimEnd(), 25)}\n` : "";
    show?.(`${head}(full build log: ${kept})`);
  } catch {
    /* the original error matters more */
  }
}

/**
 * A path of the staged tree, confined to it (io/confine.ts): the tree comes
 * from the user's source and the build writes into it, so a shipped
 * `_output -> /elsewhere` must not carry the cache folder, or the kubelet we
 * move into --out, outside it.
 */
async function inTree(tree: string, rel: string): Promise<string> {
  try {
    return await confine(await confinedRoot(tree), rel, "follow");
  } catch (err) {
    if (!(err instanceof ConfinementError)) throw err;
    throw new TreeError(
      "E_TREE_ESCAPE",
      `expected ${rel} to stay inside the source tree, found ${err.problem}; nothing was published`,
      "remove that symlink from the source tree (a release tree ships no _output/)",
    );
  }
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new InterruptedError("E_INTERRUPTED", "build interrupted");
}

async function isFile(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null))?.isFile() ?? false;
}

async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
    await copyFile(from, to);
  }
}

function closeStream(s: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    s.end((err?: Error | null) => (err ? reject(err) : resolve()));
  });
}
