/**
 * The executor: walks a BuildPlan's steps in order with one exhaustive switch,
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
import type { Resolution } from "../catalog/resolve.js";
import type { Catalog } from "../catalog/types.js";
import { assertNever, BuildError, EnvironmentError, InterruptedError, ToolError, TreeError, VerificationError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { confine, confinedRoot, ConfinementError } from "../io/confine.js";
import { formatCommand, run, tail } from "../process/exec.js";
import { formatSha256Sums, sha256File } from "../artifact/checksums.js";
import { Held } from "../process/teardown.js";
import { writeAttestations } from "../artifact/attest.js";
import type { SigningKey } from "../artifact/dsse.js";
import { Publication, type PublishRecovery } from "../artifact/publish.js";
import { stageSource, type StagedSource } from "../source/index.js";
import { readFiles } from "../source/peek.js";
import { BUILD_IMAGE_FILES, buildImageFromFiles, chooseImage, toolchainMatches, type ImageChoice } from "../tree/build-image.js";
import { stepOf, workDirOf, type BuildPlan, type BuildStep } from "./build-plan.js";
import { DOCKER, dockerPreflight, dockerRunArgs, digestRefFor, ensureCacheVolume, ensureImage, imageGoVersion, parseGoVersion, removeContainer, runImage } from "./docker.js";
import { Facts, type Bound } from "./facts.js";
import { cacheVolumeName, TREE_GO_CACHE, type MakeInvocation, type Runner } from "./plan.js";
import type { Progress } from "./progress.js";
import { checkVersionStamp, defaultSteps, type BuildSteps, type VerifyOutcome } from "./steps.js";
import type { NokmemVerdict, Verdict } from "../verdict.js";

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
  /** Printed on failure: the tail of make's log. */
  onFailureTail?: (text: string) => void;
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

export interface BuildResult {
  version: string;
  strategy: string;
  /** The first platform's kubelet (absolute path). */
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
  invocationId: string;
  seconds: number;
  /** The plan this build walked, exactly as `--dry-run` prints it. */
  plan: BuildPlan;
  /** The facts the build bound into the plan's pending fields. */
  bound: Record<string, unknown>;
}

/** What the steps hand to each other while a build runs. */
interface Run {
  plan: BuildPlan;
  res: Resolution;
  deps: BuildDeps;
  steps: BuildSteps;
  facts: Facts;
  invocationId: string;
  startedOn: Date;
  publication: Publication;
  /** Everything the build holds until it ends: the lock, the work folder, the staged tree, the log, the container. */
  held: Held;
  staged: StagedSource | null;
  log: WriteStream | null;
  logPath: string;
  image: { choice: ImageChoice; pulled: boolean } | null;
  toolchain: ToolchainCheck | null;
  patches: { name: string; sha256: string }[];
  commandLine: { file: string; args: string[] } | null;
  outcomes: { platform: string; built: string; outcome: VerifyOutcome }[];
  verdict: StepOf<"verify">["expect"] | null;
  binaries: { platform: string; rel: string; sha256: string }[];
  logSha: string;
  /** What the attest step wrote, in publication order. */
  attestations: string[];
  finishedOn: Date | null;
}

export async function runBuild(plan: BuildPlan, res: Resolution, deps: BuildDeps): Promise<BuildResult> {
  const { progress, signal } = deps;
  const startedOn = new Date();
  const facts = new Facts();
  const invocationId = facts.set("invocationId", `${startedOn.toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}-${randomBytes(4).toString("hex")}`);
  if (plan.runner === "docker") facts.set("containerName", `kubelet-nokmem-build-${invocationId.toLowerCase()}`);
  const held = new Held();
  let r: Run | null = null;
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
    progress.done(`${plan.strategy} for ${plan.gitVersion}`);
    r = {
      plan, res, deps, facts, invocationId, startedOn, publication, held,
      steps: deps.steps ?? defaultSteps(deps.catalog),
      staged: null, log: null, logPath: "", image: null, toolchain: null, patches: [],
      commandLine: null, outcomes: [], verdict: null, binaries: [], logSha: "", attestations: [], finishedOn: null,
    };
    for (const step of plan.steps) {
      checkAborted(signal);
      await runStep(r, step);
    }
    return result(r);
  } catch (err) {
    // The log is complete before it is kept.
    await held.release("log").catch(() => undefined);
    if (r?.logPath && !signal.aborted) await keepFailedLog(r.logPath, plan.cacheDir, invocationId, (err as ToolError).code === "E_MAKE", deps.onFailureTail);
    if (signal.aborted) {
      throw new InterruptedError("E_INTERRUPTED", "build interrupted: the container was stopped and nothing was published", "re-run the same command to build again");
    }
    throw err;
  } finally {
    progress.stop();
    // Cleanup a signalled run waits for (src/process/teardown.ts).
    await held.releaseAll();
  }
}

/** One step. The switch is exhaustive: a new kind of step does not compile until it is handled here. */
async function runStep(r: Run, step: BuildStep): Promise<void> {
  switch (step.step) {
    case "image":
      return imageStep(r, step);
    case "stage":
      return stageStep(r, step);
    case "patch":
      return patchStep(r, step);
    case "make":
      return makeStep(r, step);
    case "verify":
      return verifyStep(r, step);
    case "checksum":
      return checksumStep(r, step);
    case "attest":
      return attestStep(r, step);
    case "publish":
      return publishStep(r, step);
    default:
      return assertNever(step, "build step");
  }
}

type StepOf<N extends BuildStep["step"]> = Extract<BuildStep, { step: N }>;

async function imageStep(r: Run, step: StepOf<"image">): Promise<void> {
  const { progress, signal } = r.deps;
  let choice: ImageChoice;
  if (step.chooseWith) {
    // The only image fact the staged tree has to give: read its build-image files now, once.
    const files = await readFiles(r.facts.get<string>("tree"), Object.values(BUILD_IMAGE_FILES));
    choice = r.facts.set("imageChoice", chooseImage({ ...step.chooseWith, tree: buildImageFromFiles(files) }));
  } else {
    choice = r.facts.value(step.choice);
  }
  progress.start("image", `${choice.ref} (rule: ${choice.rule})`);
  let found: { ref: string; id: string | null; go: string | null; pulled: boolean };
  if (step.runner === "local") {
    const go = await localGo(signal);
    found = { ref: "local", id: null, go, pulled: false };
  } else {
    await dockerPreflight(signal);
    const { info, pulled } = await ensureImage(choice.ref, step.pull, { signal, onLine: (l) => progress.output(l) });
    if (choice.pinnedId && info.id !== choice.pinnedId) {
      throw new VerificationError(
        "E_IMAGE_PIN",
        `expected ${choice.ref} to be the pinned image ${choice.pinnedId} for v${r.plan.version}, found ${info.id}`,
        "the tag moved since the pin was made: restore the pinned image, or re-pin deliberately with `kubelet-nokmem pin OUT --force`",
      );
    }
    const go = await imageGoVersion(info, signal);
    found = { ref: digestRefFor(info, choice.ref) ?? choice.ref, id: info.id, go, pulled };
    r.facts.set("goCacheVolume", cacheVolumeName(r.plan.line, info.id));
  }
  r.facts.set("imageRef", found.ref);
  r.facts.set("imageId", found.id);
  r.facts.set("imageGo", found.go);
  r.image = { choice, pulled: found.pulled };
  r.toolchain = checkToolchain(choice, found.go);
  if (step.strictToolchain && r.toolchain.matches !== true) {
    throw new EnvironmentError(
      "E_TOOLCHAIN",
      `expected Go ${choice.expectedGo ?? "(unknown)"} for v${r.plan.version} (${choice.expectedGoFrom ?? "nothing says"}), found Go ${found.go ?? "(unknown)"} in ${found.ref}`,
      `use the image the tree asks for (drop --image), pass --image with Go ${choice.expectedGo ?? "the tree's version"}, or drop --strict-toolchain`,
    );
  }
  const shown = step.runner === "local" ? "Go on PATH" : runImage(found.ref, found.id);
  progress.done(`${shown}${found.pulled ? " (pulled)" : ""}, Go ${found.go ?? "unknown"}${r.toolchain.matches === false ? `; ${r.toolchain.note}` : ""}`);
}

/** Pure: the toolchain check as it is shown in the log, the result and the manifest. */
function checkToolchain(choice: Pick<ImageChoice, "expectedGo" | "expectedGoFrom">, found: string | null): ToolchainCheck {
  const matches = toolchainMatches(choice.expectedGo, found);
  const note =
    matches === null
      ? `cannot compare the toolchain: expected Go ${choice.expectedGo ?? "unknown"}, image has Go ${found ?? "unknown"}`
      : matches
        ? `Go ${found} is the Go the release was built with`
        : `Go ${found} differs from Go ${choice.expectedGo}, which the release was built with (${choice.expectedGoFrom}): allowed, but the kubelet is not what upstream's toolchain would produce`;
  return { expected: choice.expectedGo, expectedFrom: choice.expectedGoFrom, found, matches, note };
}

async function localGo(signal: AbortSignal): Promise<string | null> {
  const out = await run({ file: "go", args: ["version"] }, { signal, reject: false }).catch((err: unknown) => {
    if (err instanceof EnvironmentError) {
      throw new EnvironmentError("E_GO_MISSING", "expected `go` on PATH for --runner local, found nothing", "install Go (`apt-get install golang-1.19-go`, then PATH=/usr/lib/go-1.19/bin:$PATH) or use --runner docker");
    }
    throw err;
  });
  return parseGoVersion(out.stdout);
}

async function stageStep(r: Run, step: StepOf<"stage">): Promise<void> {
  const { progress, signal } = r.deps;
  progress.start("stage", step.source.kind === "git" ? `${step.source.display} at ${step.ref}` : step.source.path);
  const workDir = workDirOf(r.plan, r.invocationId);
  // --keep-work leaves both for inspection.
  if (!step.keep) r.held.take("work folder", () => rm(workDir, { recursive: true, force: true }));
  await mkdir(workDir, { recursive: true });
  const staged = await stageSource(step.source, {
    cacheDir: r.plan.cacheDir,
    into: r.facts.value(step.into),
    ref: step.ref ?? `v${r.plan.version}`,
    willModify: step.willModify,
    linkMode: step.linkMode,
    signal,
    onProgress: (l) => progress.info(l),
  });
  r.staged = staged;
  if (!step.keep) r.held.take("staged tree", () => staged.cleanup());
  r.facts.set("tree", staged.tree);
  r.facts.set("commit", staged.commit);
  r.facts.set("commitTime", staged.time);
  progress.done(
    `${staged.kind}${staged.commit ? ` ${staged.commit.slice(0, 12)}` : ""}, ${staged.digest.files} files, ${(staged.digest.bytes / 1e6).toFixed(1)} MB` +
      (staged.staging.method === "link" ? ` (${staged.staging.linked} hard-linked, ${staged.staging.copied} copied)` : ""),
  );
}

async function patchStep(r: Run, step: StepOf<"patch">): Promise<void> {
  const { progress } = r.deps;
  const tree = r.facts.get<string>("tree");
  progress.start("patch", step.series ?? "no source patches");
  const patched = await r.steps.patch(tree, r.res, { versionFile: join(tree, step.versionFile), gitVersion: step.gitVersion, commit: r.facts.value(step.commit), signal: r.deps.signal });
  r.patches = patched.patches;
  progress.done(`${patched.patches.length} patch(es), version file ${step.versionFile}`);
}

async function makeStep(r: Run, step: StepOf<"make">): Promise<void> {
  const { progress, signal } = r.deps;
  const inv = r.facts.bind(step);
  const commandLine = inv.runner === "docker" ? { file: DOCKER, args: dockerRunArgs(inv) } : { file: inv.command[0]!, args: inv.command.slice(1) };
  r.commandLine = commandLine;
  progress.start("make", inv.runner === "docker" ? `in ${runImage(inv.image.ref, inv.image.id)}` : "on this host");
  r.logPath = await r.publication.stagedPath("build.log");
  const log = (r.log = createWriteStream(r.logPath, { flags: "w" }));
  r.held.take("log", () => closeStream(log));
  log.write(`# kubelet-nokmem build ${r.invocationId}\n# image ${inv.image.ref} (rule ${r.image?.choice.rule}), Go ${inv.image.go ?? "unknown"}\n# toolchain: ${r.toolchain?.note}\n# ${formatCommand(commandLine)}\n`);
  const onLine = (line: string) => {
    log.write(`${line}\n`);
    progress.output(line);
  };
  await prepareCache(inv, signal);
  const make = () => run({ file: commandLine.file, args: commandLine.args, cwd: inv.runner === "local" ? inv.tree : undefined, env: inv.runner === "local" ? Object.fromEntries(inv.env) : undefined }, { onLine, signal });
  try {
    if (inv.containerName) {
      const name = inv.containerName;
      r.held.take("container", () => removeContainer(name));
      // Killing the docker client does not stop the container (make as PID 1 ignores
      // the forwarded SIGTERM): remove the container itself as soon as we are interrupted.
      await r.held.releasingOnAbort(signal, "container", make);
    } else {
      await make();
    }
  } catch (err) {
    if (signal.aborted) throw err;
    if (err instanceof ToolError && err.code === "E_EXEC") {
      throw new BuildError("E_MAKE", `expected \`${inv.command.join(" ")}\` to succeed, found it failing (${err.message.replace(/^`[^`]*` /, "")})`, "read the log tail above, or the full build.log");
    }
    throw err;
  }
  progress.done();
}

async function prepareCache(inv: Bound<MakeInvocation>, signal: AbortSignal): Promise<void> {
  const cacheInTree = await inTree(inv.tree, TREE_GO_CACHE);
  if (inv.runner === "docker") {
    await ensureCacheVolume(inv.goCache.name, inv.image.id ?? inv.image.ref, inv.user!.uid, inv.user!.gid, signal);
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
const WHY_NOT_PATCHED: Record<Exclude<Verdict, "patched">, string> = {
  unpatched: "kmem-enabled code in the binary",
  "not-affected": "the audit reads a release that never enables kmem",
  unknown: "the evidence does not decide",
};

async function verifyStep(r: Run, step: StepOf<"verify">): Promise<void> {
  const { progress } = r.deps;
  const tree = r.facts.get<string>("tree");
  progress.start("verify");
  const problems: string[] = [];
  for (const o of step.outputs) {
    const built = await inTree(tree, o.path);
    if (!(await isFile(built))) {
      throw new BuildError("E_NO_KUBELET", `expected make to leave a kubelet at ${o.path}, found none`, "check build.log: the tree's Makefile may not honour KUBE_BUILD_PLATFORMS or WHAT=cmd/kubelet");
    }
    const outcome = await r.steps.verify(built, r.res);
    r.outcomes.push({ platform: o.platform, built, outcome });
    if (step.expect === "patched" && outcome.verdict !== "patched") problems.push(`${o.platform}: ${outcome.verdict} (${WHY_NOT_PATCHED[outcome.verdict]})`);
    // The audit read the stamp exactly when it could; otherwise search the bytes.
    const stamp = outcome.gitVersion !== undefined ? { ok: outcome.gitVersion === step.gitVersion, found: outcome.gitVersion } : checkVersionStamp(await readFile(built), step.gitVersion);
    if (!stamp.ok) problems.push(`${o.platform}: version ${stamp.found} instead of ${step.gitVersion}`);
  }
  if (problems.length) {
    throw new VerificationError(
      "E_NOT_NOKMEM",
      `expected a nokmem kubelet stamped ${step.gitVersion}, found ${problems.join("; ")}; nothing was published`,
      "the tag or patch did not reach the compiler: read build.log, check the tree's hack/lib/golang.sh GOFLAGS handling, or use a patching strategy",
    );
  }
  r.verdict = step.expect;
  progress.done(r.verdict);
}

/** Move the binaries into staging (the verifier already hashed them) and write SHA256SUMS. */
async function checksumStep(r: Run, step: StepOf<"checksum">): Promise<void> {
  const { progress } = r.deps;
  progress.start("checksum");
  for (const [n, o] of r.outcomes.entries()) {
    const rel = step.binaries[n]!;
    const dest = await r.publication.stagedPath(rel);
    await moveFile(o.built, dest);
    r.binaries.push({ platform: o.platform, rel, sha256: o.outcome.sha256 ?? (await sha256File(dest)) });
  }
  await writeFileAtomic(await r.publication.stagedPath(step.file), formatSha256Sums(r.binaries.map((b) => ({ name: b.rel, sha256: b.sha256 }))));
  progress.done(r.binaries.map((b) => `${b.rel} ${b.sha256.slice(0, 16)}…`).join(", "));
}

/** The one place manifest.json is written. */
async function attestStep(r: Run, step: StepOf<"attest">): Promise<void> {
  const { progress } = r.deps;
  progress.start("publish", `${step.file}, then ${r.plan.out}`);
  const staged = r.staged!;
  const make = r.facts.bind(stepOf(r.plan, "make"));
  r.finishedOn = new Date();
  r.log?.write(`# finished ${r.finishedOn.toISOString()}\n`);
  await r.held.release("log");
  r.logSha = await sha256File(r.logPath);
  const cmd = r.commandLine!;
  if (step.keyid && r.deps.signKey?.keyid !== step.keyid) throw new Error(`internal: the plan signs with ${step.keyid}, the build was given ${r.deps.signKey?.keyid ?? "no key"}`);
  // The one call that writes manifest.json (and the verdict, SBOMs and envelopes beside it).
  r.attestations = await writeAttestations({
    subjects: r.binaries.map((b) => ({ name: b.rel, sha256: b.sha256 })),
    version: r.plan.version,
    strategy: r.plan.strategy,
    line: r.plan.line,
    platforms: r.plan.platforms,
    source: { kind: staged.kind, origin: staged.origin, ref: staged.ref, commit: staged.commit, treeDigest: staged.digest.digest, dirHash: staged.digest.dirHash, gitTree: staged.gitTree, archiveSha256: staged.archiveSha256 },
    sourceDateEpoch: make.sourceDateEpoch ?? staged.time,
    env: make.env,
    command: cmd.file === DOCKER ? [cmd.file, ...cmd.args] : make.command,
    runner: r.plan.runner,
    image: r.plan.runner === "docker" ? { ref: make.image.ref, id: make.image.id, rule: r.image!.choice.rule, requested: r.image!.choice.ref } : null,
    go: make.image.go,
    toolchain: r.toolchain!,
    patches: r.patches,
    tree: staged.tree,
    patchSeries: r.res.patchSeries,
    verdict: { verdict: r.verdict!, binaries: r.outcomes.map((o) => ({ platform: o.platform, verdict: o.outcome.verdict, gitVersion: o.outcome.gitVersion, evidence: o.outcome.evidence })) },
    linked: Object.fromEntries(r.outcomes.flatMap((o) => (o.outcome.linked ? [[o.platform, o.outcome.linked]] : []))),
    signKey: step.keyid ? r.deps.signKey! : null,
    stage: (rel) => r.publication.stagedPath(rel),
    tool: r.deps.tool,
    invocationId: r.invocationId,
    startedOn: r.startedOn,
    finishedOn: r.finishedOn,
    byproducts: [{ name: "build.log", digest: { sha256: r.logSha } }],
  });
}

async function publishStep(r: Run, step: StepOf<"publish">): Promise<void> {
  // A signal that arrives from here on is honoured after the renames: they take milliseconds, and half a publication is worse.
  // Binaries and the log, then what the attest step wrote, SHA256SUMS last.
  await r.publication.commit([...step.files, ...r.attestations, step.last], new Map([...r.binaries.map((b) => [b.rel, b.sha256] as const), ["build.log", r.logSha]]));
  r.deps.progress.done();
}

function result(r: Run): BuildResult {
  const out = r.publication.out;
  const staged = r.staged!;
  const make = r.facts.bind(stepOf(r.plan, "make"));
  const first = r.binaries[0]!;
  return {
    version: r.plan.gitVersion,
    strategy: r.plan.strategy,
    kubelet: join(out, first.rel),
    sha256: first.sha256,
    manifest: join(out, "manifest.json"),
    attestations: r.attestations.map((f) => join(out, f)),
    keyid: r.deps.signKey && stepOf(r.plan, "attest").keyid ? r.deps.signKey.keyid : null,
    verdict: r.verdict!,
    out,
    binaries: r.binaries.map((b) => ({ platform: b.platform, path: join(out, b.rel), sha256: b.sha256 })),
    sha256sums: join(out, "SHA256SUMS"),
    log: join(out, "build.log"),
    source: { kind: staged.kind, origin: staged.origin, commit: staged.commit, treeDigest: staged.digest.digest, sourceDateEpoch: make.sourceDateEpoch ?? staged.time },
    image: { ref: make.image.ref, id: make.image.id, go: make.image.go, rule: r.image!.choice.rule, requested: r.image!.choice.ref, pulled: r.image!.pulled },
    toolchain: r.toolchain!,
    runner: r.plan.runner,
    invocationId: r.invocationId,
    seconds: Math.round((r.finishedOn!.getTime() - r.startedOn.getTime()) / 100) / 10,
    plan: r.plan,
    bound: r.facts.toJSON(),
  };
}

function describeRecovery(out: string, rec: PublishRecovery): string {
  return rec.action === "finished"
    ? `finished a publication into ${out} that an earlier build left half-way (${rec.files.length} file(s) renamed)`
    : `removed a publication into ${out} that an earlier build left half-way and whose staged files were lost (${rec.files.join(", ")})`;
}

/** A failed build publishes nothing, but its log is worth keeping: copy it under the cache folder and say where. */
async function keepFailedLog(logPath: string, cacheDir: string, id: string, showTail: boolean, show?: (text: string) => void): Promise<void> {
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
    throw new TreeError("E_TREE_ESCAPE", `expected ${rel} to stay inside the source tree, found ${err.problem}; nothing was published`, "remove that symlink from the source tree (a release tree ships no _output/)");
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
