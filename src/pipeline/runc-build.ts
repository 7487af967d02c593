/**
 * The runtime's runc as the second product: `build runc --version X`. Data
 * first, as for kubelet: `planRuncBuild` is pure and names every step
 *
 *   stage → inspect → patch → image → make → verify → publish
 *
 * and `runRuncBuild` walks them with one exhaustive switch. What only the
 * staged tree can say (the Makefile's default BUILDTAGS, the layout, the Go
 * of its Dockerfile, the commit) is read by the inspect step and handed on as
 * a typed output, never guessed from names. runc's Makefile honours BUILDTAGS
 * (unlike Kubernetes'), so the make step passes the tree's own default tags
 * plus nokmem on make's command line, where neither the environment nor the
 * Makefile's `?=` can undo it; the verify step then proves it from the
 * binary: the audit's verdict, and the `runc --version` stamp against the
 * request.
 */
import { linkedModules } from "./steps.js";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { copyFile, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { auditFile } from "../audit/index.js";
import type { BinaryReport } from "../audit/report.js";
import { formatSha256Sums, sha256File } from "../artifact/checksums.js";
import { writeAttestations } from "../artifact/attest.js";
import { envelopeFile } from "../artifact/keys.js";
import type { SigningKey } from "../artifact/dsse.js";
import { MANIFEST_FILE, VERDICT_FILE } from "../artifact/manifest.js";
import { SBOM_FILE, type NokmemChange } from "../artifact/sbom.js";
import { Publication } from "../artifact/publish.js";
import type { RuncResolution } from "../catalog/runc-release.js";
import type { Catalog } from "../catalog/types.js";
import { assertNever, BuildError, EnvironmentError, VerificationError } from "../errors.js";
import { patchRuncTree } from "../patch/runc.js";
import { run, tail } from "../process/exec.js";
import { stageSource, type SourceSpec, type StagedSource } from "../source/index.js";
import { strategyFor } from "../strategy/index.js";
import type { KmemLayout, RuncStrategyId } from "../strategy/types.js";
import { assessRuncTree, checkBuildEnvironment, readRuncTree, type RuncAssessment } from "../tree/runc-tree.js";
import type { NokmemVerdict } from "../verdict.js";
import { DOCKER, dockerPreflight, ensureCacheVolume, ensureImage, removeContainer, runImage, type PullPolicy } from "./docker.js";
import type { Progress } from "./progress.js";

const RUNC_PLAN_VERSION = 1;
/** runc is built for the host platform only: its Makefile cross-compiles with per-arch C toolchains, which the image does not carry. */
const RUNC_PLATFORM = "linux/amd64";
/** Where the tree sits in the container: runc before go.mod (rc90 and earlier) builds only inside a GOPATH. */
const RUNC_CONTAINER_GOPATH = "/go";
const RUNC_CONTAINER_TREE = `${RUNC_CONTAINER_GOPATH}/src/github.com/opencontainers/runc`;

type RuncStep =
  | { step: "stage"; source: SourceSpec; ref: string | null; keep: boolean }
  | { step: "inspect"; expect: { version: string; strategy: RuncStrategyId; kmemLayout: KmemLayout; go: string } }
  | { step: "patch"; series: string | null; changes: string[] }
  | { step: "image"; ref: string; pull: PullPolicy }
  | { step: "make"; command: string[]; tags: { from: "the tree's Makefile default (BUILDTAGS)"; add: string[] }; env: [string, string][] }
  | { step: "verify"; output: string; expect: NokmemVerdict; version: string }
  | { step: "publish"; out: string; files: string[]; attest: { files: string[]; keyid: string | null }; last: "SHA256SUMS" };

interface RuncBuildPlan {
  planVersion: typeof RUNC_PLAN_VERSION;
  product: "runc";
  version: string;
  line: string;
  strategy: RuncStrategyId;
  affected: boolean;
  platform: typeof RUNC_PLATFORM;
  out: string;
  cacheDir: string;
  source: { kind: SourceSpec["kind"]; origin: string; ref: string | null };
  steps: RuncStep[];
}

interface RuncBuildOptions {
  out: string;
  /** keyid of --sign-key: manifest.json and verdict.json get DSSE envelopes signed with it. */
  keyid?: string | null;
  cacheDir: string;
  image?: string;
  pull: PullPolicy;
  keepWork: boolean;
}

/** Where the built runc is published, relative to --out. */
const RUNC_BINARY = `${RUNC_PLATFORM}/runc`;

/** Decide the whole runc build. Pure. */
export function planRuncBuild(res: RuncResolution, source: { spec: SourceSpec; ref?: string }, o: RuncBuildOptions): RuncBuildPlan {
  const ref = source.spec.kind === "git" ? (source.ref ?? `v${res.version}`) : null;
  const steps: RuncStep[] = [
    { step: "stage", source: source.spec, ref, keep: o.keepWork },
    { step: "inspect", expect: { version: res.version, strategy: res.strategy, kmemLayout: res.kmemLayout, go: res.go } },
    { step: "patch", series: res.patchSeries, changes: res.changes },
    { step: "image", ref: o.image ?? res.image, pull: o.pull },
    { step: "make", command: ["make", "runc"], tags: { from: "the tree's Makefile default (BUILDTAGS)", add: res.addTags }, env: runcBuildEnv(false) },
    { step: "verify", output: "runc", expect: res.affected ? "patched" : "not-affected", version: res.version },
    {
      step: "publish",
      out: o.out,
      files: [RUNC_BINARY, "build.log"],
      // Written by the kubelet build's own writer (artifact/attest.ts), in its order.
      attest: {
        files: [
          `${RUNC_PLATFORM}/${SBOM_FILE}`,
          VERDICT_FILE,
          ...(o.keyid ? [envelopeFile(VERDICT_FILE)] : []),
          MANIFEST_FILE,
          ...(o.keyid ? [envelopeFile(MANIFEST_FILE)] : []),
        ],
        keyid: o.keyid ?? null,
      },
      last: "SHA256SUMS",
    },
  ];
  return {
    planVersion: RUNC_PLAN_VERSION,
    product: "runc",
    version: res.version,
    line: res.line,
    strategy: res.strategy,
    affected: res.affected,
    platform: RUNC_PLATFORM,
    out: o.out,
    cacheDir: o.cacheDir,
    source: { kind: source.spec.kind, origin: source.spec.kind === "git" ? source.spec.display : source.spec.path, ref },
    steps,
  };
}

/** The container's environment: GOPATH mode before go.mod (rc90 and earlier), vendored modules after. */
function runcBuildEnv(goMod: boolean): [string, string][] {
  return [
    ["HOME", "/tmp"],
    ["GOPATH", RUNC_CONTAINER_GOPATH],
    ["GOCACHE", `${RUNC_CONTAINER_GOPATH}/cache`],
    // -buildvcs=false: Go 1.18+ would ask git about the tree, whose .git is not in the container.
    ...(goMod
      ? ([
          ["GO111MODULE", "on"],
          ["GOFLAGS", "-mod=vendor -buildvcs=false"],
        ] as [string, string][])
      : ([["GO111MODULE", "off"]] as [string, string][])),
  ];
}

interface RuncMakeInvocation {
  containerName: string;
  uid: number;
  gid: number;
  /** A volume mounted as GOPATH (build cache, installed packages of `go build -i`), owned by uid:gid. */
  gopathVolume: string;
  tree: string;
  image: { ref: string; id: string | null };
  goMod: boolean;
  buildTags: string[];
  /** Stamped as main.gitCommit; the tree's .git is not visible in the container. */
  commit: string | null;
}

/** make's own arguments: the variables on the command line win over the Makefile and the environment. */
function runcMakeCommand(buildTags: readonly string[], commit: string | null): string[] {
  return ["make", "runc", `BUILDTAGS=${buildTags.join(" ")}`, ...(commit ? [`COMMIT=${commit}`] : [])];
}

/** `docker run` for the make step (without the leading `docker`). Pure. */
export function runcDockerArgs(m: RuncMakeInvocation): string[] {
  const args = ["run", "--rm", "--name", m.containerName, "--network", "none", "--user", `${m.uid}:${m.gid}`];
  args.push("-v", `${m.gopathVolume}:${RUNC_CONTAINER_GOPATH}`, "-v", `${m.tree}:${RUNC_CONTAINER_TREE}`, "-w", RUNC_CONTAINER_TREE);
  for (const [k, v] of runcBuildEnv(m.goMod)) args.push("-e", `${k}=${v}`);
  args.push(runImage(m.image.ref, m.image.id), ...runcMakeCommand(m.buildTags, m.commit));
  return args;
}

/** One GOPATH volume per image: objects of another Go never mix. */
export function runcGopathVolume(imageId: string): string {
  return `kubelet-nokmem-runc-gopath-${imageId.replace(/^sha256:/, "").slice(0, 12)}`;
}

/** Phases shown while a runc build runs. */
export function runcPhases(p: RuncBuildPlan): string[] {
  return ["preflight", ...p.steps.map((s) => s.step)];
}

interface RuncBuildDeps {
  catalog: Catalog;
  signal: AbortSignal;
  progress: Progress;
  uid: number;
  gid: number;
  tool: { name: string; version: string };
  /** The key of the plan's publish step (--sign-key). */
  signKey?: SigningKey;
  /** The environment checked for BUILDTAGS (default: this process's). */
  env?: Readonly<Record<string, string | undefined>>;
}

interface RuncBuildResult {
  product: "runc";
  version: string;
  strategy: RuncStrategyId;
  verdict: NokmemVerdict;
  /** Absolute path of the published runc. */
  runc: string;
  sha256: string;
  /** `runc --version` as read from the binary: version and commit. */
  stamp: { version: string; commit: string | null };
  buildTags: string[];
  makefileTags: string[];
  kmemLayout: KmemLayout;
  /** Where the tree and the catalog disagree (the tree won). */
  disagreements: string[];
  go: { tree: RuncAssessment["go"]; image: string | null };
  patches: { name: string; sha256: string }[];
  image: { ref: string; id: string };
  source: { kind: string; origin: string; commit: string | null };
  out: string;
  sha256sums: string;
  verdictFile: string;
  /** manifest.json: SLSA provenance with product runc (docs/provenance.md). */
  manifest: string;
  /** Every attestation file published (Statements, envelopes, the SBOM), absolute. */
  attestations: string[];
  /** keyid of the signing key, null when unsigned. */
  keyid: string | null;
  log: string;
  seconds: number;
  plan: RuncBuildPlan;
}

/** What the steps hand each other. Each field is set by exactly one step. */
interface Outputs {
  staged?: StagedSource;
  assessment?: RuncAssessment;
  patches: { name: string; sha256: string; text: string }[];
  image?: { ref: string; id: string; go: string | null };
  /** The make step as it ran: `docker run …` and the container's environment. */
  make?: { command: string[]; env: [string, string][] };
  built?: string;
  report?: BinaryReport;
  published?: { files: string[]; sums: string; attestations: string[] };
}

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`internal: the runc plan reached a step before ${what} was known`);
  return v;
}

export async function runRuncBuild(plan: RuncBuildPlan, deps: RuncBuildDeps): Promise<RuncBuildResult> {
  const { progress, signal } = deps;
  const started = Date.now();
  const invocation = `${new Date(started).toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}-${randomBytes(4).toString("hex")}`;
  const work = join(plan.cacheDir, "work", `runc-${invocation}`);
  const logPath = join(work, "build.log");
  const containerName = `kubelet-nokmem-runc-${invocation.toLowerCase()}`;
  const o: Outputs = { patches: [] };

  progress.start("preflight", plan.out);
  checkBuildEnvironment(deps.env ?? process.env);
  await dockerPreflight(signal);
  const publication = await Publication.begin(plan.out, { signal, purpose: `build runc ${plan.version}` });
  await mkdir(work, { recursive: true });
  const log = createWriteStream(logPath);
  const onAbort = () => void removeContainer(containerName);
  signal.addEventListener("abort", onAbort, { once: true });
  let keep = false;
  progress.done();
  try {
    for (const step of plan.steps) {
      progress.start(step.step);
      switch (step.step) {
        case "stage":
          o.staged = await stageSource(step.source, {
            cacheDir: plan.cacheDir,
            into: join(work, "tree"),
            ref: step.ref ?? "",
            willModify: plan.steps.flatMap((s) => (s.step === "patch" ? s.changes : [])),
            signal,
          });
          keep = step.keep;
          progress.done(o.staged.commit ?? o.staged.tree);
          break;
        case "inspect": {
          o.assessment = assessRuncTree(await readRuncTree(need(o.staged, "the staged tree").tree), { ...step.expect, line: plan.line });
          for (const d of o.assessment.disagreements) progress.info(`note: ${d}`);
          progress.done(`${o.assessment.layout}, ${o.assessment.strategy}, BUILDTAGS="${o.assessment.buildTags.join(" ")}"`);
          break;
        }
        case "patch": {
          const a = need(o.assessment, "the tree's layout");
          // The tree decides: its strategy's series applies even when the catalog named another (the disagreement is reported).
          const strategy = strategyFor(a.strategy);
          const series = strategy.patchSeries(plan);
          if (series && !a.alreadyPatched) {
            const record = await patchRuncTree(need(o.staged, "the staged tree").tree, series, { expectChanges: strategy.changes });
            o.patches = record.patches;
            progress.done(record.changed.join(", "));
          } else {
            progress.done(series ? "already patched" : "nothing to patch");
          }
          break;
        }
        case "image": {
          const got = await ensureImage(step.ref, step.pull, { signal, onLine: (l) => progress.output(l) }).catch((err: unknown) => {
            if (err instanceof EnvironmentError && err.code === "E_IMAGE_MISSING") {
              throw new EnvironmentError(
                "E_IMAGE_MISSING",
                `expected the runc build image ${step.ref} on this machine, found none`,
                "make it offline from Debian packages: `sudo kubelet-nokmem image build --runc`, or pass --image with Go, gcc, make and libseccomp-dev",
              );
            }
            throw err;
          });
          o.image = { ref: step.ref, id: got.info.id, go: got.info.go };
          progress.done(`${got.info.id.slice(0, 19)} (Go ${got.info.go ?? "unknown"})`);
          break;
        }
        case "make": {
          const a = need(o.assessment, "the tree's facts");
          const image = need(o.image, "the image");
          const volume = runcGopathVolume(image.id);
          await ensureCacheVolume(volume, image.id, deps.uid, deps.gid, signal);
          const args = runcDockerArgs({
            containerName,
            uid: deps.uid,
            gid: deps.gid,
            gopathVolume: volume,
            tree: need(o.staged, "the staged tree").tree,
            image,
            goMod: a.goMod,
            buildTags: a.buildTags,
            commit: o.staged?.commit ?? null,
          });
          o.make = { command: [DOCKER, ...args], env: runcBuildEnv(a.goMod) };
          log.write(`$ ${DOCKER} ${args.join(" ")}\n`);
          const r = await run({ file: DOCKER, args }, { signal, reject: false, onLine: (l) => (log.write(`${l}\n`), progress.output(l)) });
          if (r.exitCode !== 0) {
            keep = true;
            throw new BuildError(
              "E_MAKE",
              `expected \`make runc\` to build runc ${plan.version}, found exit code ${r.exitCode}: ${tail(r.stderr || r.stdout, 5)}`,
              `read ${logPath}; the staged tree is kept at ${join(work, "tree")}`,
            );
          }
          o.built = join(need(o.staged, "the staged tree").tree, "runc");
          progress.done(a.buildTags.join(" "));
          break;
        }
        case "verify": {
          o.report = await auditFile(need(o.built, "the built runc"), { catalog: deps.catalog });
          // The plan expects what the catalog predicts; the tree's own strategy is the final word.
          const expect = need(o.assessment, "the tree's strategy").affected ? "patched" : "not-affected";
          checkBuiltRunc(o.report, { ...step, expect }, o.staged?.commit ?? null);
          progress.done(`${o.report.verdict}, runc ${o.report.runcVersion?.version}`);
          break;
        }
        case "publish": {
          o.published = await publish(publication, plan, step, {
            built: need(o.built, "the built runc"),
            report: need(o.report, "the verdict"),
            staged: need(o.staged, "the staged tree"),
            assessment: need(o.assessment, "the tree's facts"),
            image: need(o.image, "the image"),
            make: need(o.make, "the make command"),
            patches: o.patches,
            logPath,
            log,
            invocationId: invocation,
            startedOn: new Date(started),
            deps,
          });
          progress.done(step.out);
          break;
        }
        default:
          assertNever(step, "runc build step");
      }
    }
  } catch (err) {
    await publication.abandon();
    throw err;
  } finally {
    signal.removeEventListener("abort", onAbort);
    if (!log.closed) await new Promise((r) => log.end(r));
    if (!keep) {
      await o.staged?.cleanup().catch(() => undefined);
      await rm(work, { recursive: true, force: true }).catch(() => undefined);
    }
  }
  const a = need(o.assessment, "the assessment");
  const report = need(o.report, "the verdict");
  return {
    product: "runc",
    version: plan.version,
    strategy: a.strategy,
    verdict: report.verdict as NokmemVerdict,
    runc: join(plan.out, RUNC_BINARY),
    sha256: report.sha256!,
    stamp: { version: report.runcVersion!.version, commit: report.runcVersion!.commit },
    buildTags: a.buildTags,
    makefileTags: a.makefileTags,
    kmemLayout: a.layout,
    disagreements: a.disagreements,
    go: { tree: a.go, image: o.image?.go ?? null },
    patches: o.patches.map((p) => ({ name: p.name, sha256: p.sha256 })),
    image: { ref: need(o.image, "the image").ref, id: o.image!.id },
    source: { kind: o.staged!.kind, origin: o.staged!.origin, commit: o.staged!.commit },
    out: plan.out,
    sha256sums: join(plan.out, "SHA256SUMS"),
    verdictFile: join(plan.out, VERDICT_FILE),
    manifest: join(plan.out, MANIFEST_FILE),
    attestations: need(o.published, "the publication").attestations.map((f) => join(plan.out, f)),
    keyid: stepOfPublish(plan).attest.keyid,
    log: join(plan.out, "build.log"),
    seconds: Math.round((Date.now() - started) / 100) / 10,
    plan,
  };
}

/**
 * The built runc must be what was asked for: the audit's verdict the plan
 * expects, and `runc --version` (read from the binary's stamp, never run)
 * saying the requested version and the staged commit.
 */
export function checkBuiltRunc(report: BinaryReport, step: Extract<RuncStep, { step: "verify" }>, commit: string | null): void {
  const problems: string[] = [];
  if (report.program !== "runc") problems.push(`expected the binary to be runc, found ${report.program ?? "no program"}`);
  if (report.verdict !== step.expect) problems.push(`expected the audit to find ${step.expect}, found ${report.verdict} (${report.reasons.join("; ")})`);
  const stamp = report.runcVersion;
  if (!stamp || stamp.source === "heuristic")
    problems.push(`expected the runc --version stamp (main.version) in the binary's symbols, found ${stamp ? `only a guess (${stamp.version})` : "none"}`);
  else {
    if (stamp.version !== step.version) problems.push(`expected runc --version to say ${step.version}, found ${stamp.version}`);
    if (commit && stamp.commit !== commit) problems.push(`expected the commit stamp ${commit}, found ${stamp.commit ?? "none"}`);
  }
  if (problems.length) {
    const code = report.verdict !== step.expect || report.program !== "runc" ? "E_NOT_NOKMEM" : "E_RUNC_STAMP";
    throw new VerificationError(
      code,
      problems.join("; "),
      "nothing was published; inspect the binary with `kubelet-nokmem audit PATH --verbose` (the staged tree is removed; re-run with --keep-work to keep it)",
    );
  }
}

function stepOfPublish(plan: RuncBuildPlan): Extract<RuncStep, { step: "publish" }> {
  const step = plan.steps.find((s): s is Extract<RuncStep, { step: "publish" }> => s.step === "publish");
  if (!step) throw new Error("internal: a runc plan without a publish step");
  return step;
}

/** What made this runc nokmem, in the SBOM's words: the stub patches, the build tag, or nothing (an era that never enables kmem). */
function runcChange(a: RuncAssessment, patches: Outputs["patches"]): NokmemChange {
  if (patches.length) return { kind: "patches", patches };
  if (a.buildTags.includes("nokmem")) return { kind: "build-setting", env: [["BUILDTAGS", a.buildTags.join(" ")]] };
  return { kind: "none", reason: a.affected ? "the tree already carries the kmem stubs" : "this runc release never enables kernel-memory accounting" };
}

interface PublishInput {
  built: string;
  report: BinaryReport;
  staged: StagedSource;
  assessment: RuncAssessment;
  image: { ref: string; id: string; go: string | null };
  make: { command: string[]; env: [string, string][] };
  patches: Outputs["patches"];
  logPath: string;
  log: ReturnType<typeof createWriteStream>;
  invocationId: string;
  startedOn: Date;
  deps: RuncBuildDeps;
}

/**
 * The runc, its log, then the kubelet build's own attestations
 * (artifact/attest.ts: SBOM, verdict.json, manifest.json, envelopes with
 * --sign-key) with product runc, SHA256SUMS last.
 */
async function publish(
  publication: Publication,
  plan: RuncBuildPlan,
  step: Extract<RuncStep, { step: "publish" }>,
  i: PublishInput,
): Promise<{ files: string[]; sums: string; attestations: string[] }> {
  const { report, staged, deps } = i;
  const binary = await publication.stagedPath(RUNC_BINARY);
  await copyFile(i.built, binary);
  const sha = await sha256File(binary);
  const finishedOn = new Date();
  i.log.write(`# finished ${finishedOn.toISOString()}\n`);
  await new Promise((r) => i.log.end(r));
  await copyFile(i.logPath, await publication.stagedPath("build.log"));
  const logSha = await sha256File(i.logPath);
  const signKey = step.attest.keyid ? (deps.signKey ?? null) : null;
  if (step.attest.keyid && signKey?.keyid !== step.attest.keyid)
    throw new Error(`internal: the plan signs with ${step.attest.keyid}, the build was given ${deps.signKey?.keyid ?? "no key"}`);
  const attestations = await writeAttestations({
    product: "runc",
    subjects: [{ platform: RUNC_PLATFORM, name: RUNC_BINARY, sha256: sha }],
    version: plan.version,
    strategy: i.assessment.strategy,
    line: plan.line,
    platforms: [RUNC_PLATFORM],
    source: {
      kind: staged.kind,
      origin: staged.origin,
      ref: staged.ref,
      commit: staged.commit,
      treeDigest: staged.digest.digest,
      dirHash: staged.digest.dirHash,
      gitTree: staged.gitTree,
    },
    sourceDateEpoch: staged.time,
    env: i.make.env,
    command: i.make.command,
    runner: "docker",
    image: { ref: i.image.ref, id: i.image.id },
    go: i.image.go,
    patches: i.patches.map((p) => ({ name: p.name, sha256: p.sha256 })),
    tree: staged.tree,
    change: runcChange(i.assessment, i.patches),
    verdict: {
      verdict: report.verdict as NokmemVerdict,
      binaries: [
        {
          platform: RUNC_PLATFORM,
          verdict: report.verdict,
          ...(report.runcVersion ? { runcVersion: { version: report.runcVersion.version, commit: report.runcVersion.commit } } : {}),
          evidence: report.evidence.map((e) => ({ check: e.id, found: e.kind !== "absence", ...(e.detail !== undefined ? { detail: e.detail } : {}) })),
        },
      ],
    },
    linked: { [RUNC_PLATFORM]: linkedModules(report.goBuildInfo) },
    signKey,
    stage: (rel) => publication.stagedPath(rel),
    tool: deps.tool,
    invocationId: i.invocationId,
    startedOn: i.startedOn,
    finishedOn,
    byproducts: [{ name: "build.log", digest: { sha256: logSha } }],
  });
  if (JSON.stringify(attestations) !== JSON.stringify(step.attest.files))
    throw new Error(`internal: the plan publishes ${step.attest.files.join(", ")}, the attestations were ${attestations.join(", ")}`);
  const sums = formatSha256Sums([
    { name: RUNC_BINARY, sha256: sha },
    { name: "build.log", sha256: logSha },
  ]);
  await writeFile(await publication.stagedPath(step.last), sums);
  const files = await publication.commit(
    [...step.files, ...attestations, step.last],
    new Map([
      [RUNC_BINARY, sha],
      ["build.log", logSha],
    ]),
  );
  return { files, sums, attestations };
}
