/**
 * The build, as phases:
 *   preflight → source → plan → patch → make → verify → checksum → publish
 * Each phase either finishes or throws; whatever happens, the finally block
 * stops the container, removes the staged tree and the staging folder, and
 * releases the output lock. Nothing reaches --out before every check passed.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { copyFile, mkdir, readFile, rename, rm, stat, symlink, lstat } from "node:fs/promises";
import { join } from "node:path";
import { resolve as resolveVersion, type Resolution } from "../catalog/resolve.js";
import type { Catalog } from "../catalog/types.js";
import { BuildError, EnvironmentError, InterruptedError, ToolError, VerificationError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { formatCommand, run, tail } from "../process/exec.js";
import { asTeardown } from "../process/teardown.js";
import { sha256File, formatSha256Sums } from "../artifact/checksums.js";
import { writeAttestations } from "../artifact/attest.js";
import type { SigningKey } from "../artifact/dsse.js";
import { binaryName, Publication, type PublishRecovery } from "../artifact/publish.js";
import { breakLink, parseSource, stageSource, type LinkMode, type StagedSource } from "../source/index.js";
import { DOCKER, dockerPreflight, dockerRunArgs, ensureCacheVolume, parseGoVersion, removeContainer, requireImage } from "./docker.js";
import { plan as makePlan, TREE_GO_CACHE, type BuildPlan, type ImageFacts, type Runner } from "./plan.js";
import type { Progress } from "./progress.js";
import { checkVersionStamp, defaultSteps, type BuildSteps, type Verdict, type VerifyOutcome } from "./steps.js";


interface BuildRequest {
  version: string;
  source?: string;
  /** Git ref to build; default the release tag v<version>. */
  ref?: string;
  out: string;
  image?: string;
  platforms: string[];
  runner: Runner;
  cacheDir: string;
  sourceDateEpoch?: number;
  wait?: boolean;
  linkMode?: LinkMode;
  /** Keep the staged tree after the build (for debugging). */
  keepWork?: boolean;
  /** Sign the Statements (DSSE) with this key. */
  signKey?: SigningKey;
}

interface BuildDeps {
  catalog: Catalog;
  signal: AbortSignal;
  progress: Progress;
  steps?: BuildSteps;
  tool: { name: string; version: string };
  cwd?: string;
  /** Printed on failure: the tail of make's log. */
  onFailureTail?: (text: string) => void;
}

export interface BuiltBinary {
  platform: string;
  path: string;
  sha256: string;
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
  verdict: Verdict;
  out: string;
  binaries: BuiltBinary[];
  sha256sums: string;
  log: string;
  source: { kind: string; origin: string; commit: string | null; treeDigest: string; sourceDateEpoch: number };
  image: { ref: string; id: string | null; go: string | null };
  runner: Runner;
  invocationId: string;
  seconds: number;
}

export async function runBuild(req: BuildRequest, deps: BuildDeps): Promise<BuildResult> {
  const { progress, signal } = deps;
  const steps = deps.steps ?? defaultSteps(deps.catalog);
  const startedOn = new Date();
  const invocationId = `${startedOn.toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}-${randomBytes(4).toString("hex")}`;
  const containerName = `kubelet-nokmem-build-${invocationId.toLowerCase()}`;
  const workDir = join(req.cacheDir, "work", invocationId);

  let publication: Publication | null = null;
  let staged: StagedSource | null = null;
  let containerStarted = false;
  let log: WriteStream | null = null;
  let logPath = "";

  try {
    // ── preflight: everything cheap that can fail, before anything heavy.
    progress.start("preflight");
    const res = resolveVersion(deps.catalog, req.version);
    const spec = parseSource(req.source, deps.cwd);
    const image = await preflight(req, res, signal);
    publication = await Publication.begin(req.out, {
      wait: req.wait,
      signal,
      purpose: `build v${res.version}`,
      onWait: (h) => progress.info(`waiting for the build holding ${req.out}${h ? ` (pid ${h.pid})` : ""} to finish`),
    });
    if (publication.recovered) progress.info(describeRecovery(publication.out, publication.recovered));
    progress.done(`${res.strategy} for v${res.version}; ${req.runner === "docker" ? `image ${image.ref}` : "local Go"} ${image.go ?? ""}`.trim());
    checkAborted(signal);

    // ── source: a working copy of our own.
    progress.start("source", spec.kind === "git" ? spec.display : spec.path);
    await mkdir(workDir, { recursive: true });
    staged = await stageSource(spec, {
      cacheDir: req.cacheDir,
      into: join(workDir, "tree"),
      ref: req.ref ?? `v${res.version}`,
      willModify: res.changes,
      linkMode: req.linkMode,
      signal,
      onProgress: (l) => progress.info(l),
    });
    progress.done(
      `${staged.kind}${staged.commit ? ` ${staged.commit.slice(0, 12)}` : ""}, ${staged.digest.files} files, ${(staged.digest.bytes / 1e6).toFixed(1)} MB` +
        (staged.staging.method === "link" ? ` (${staged.staging.linked} hard-linked, ${staged.staging.copied} copied)` : ""),
    );
    checkAborted(signal);

    // ── plan: pure.
    progress.start("plan");
    const p = makePlan(res, { root: staged.tree, commitTime: staged.time }, image, {
      runner: req.runner,
      platforms: req.platforms,
      out: publication.out,
      sourceDateEpoch: req.sourceDateEpoch,
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
      containerName,
      cacheDir: req.cacheDir,
    });
    const commandLine = commandFor(p);
    progress.done(formatCommand(commandLine));

    // ── patch: the strategy's changes and the clean version file.
    progress.start("patch", res.patchSeries ?? "no source patches");
    const patched = await steps.patch(staged.tree, res, {
      versionFile: join(staged.tree, p.versionFile),
      gitVersion: p.gitVersion,
      commit: staged.commit,
      breakLink,
      signal,
    });
    progress.done(`${patched.patches.length} patch(es), version file ${p.versionFile}`);
    checkAborted(signal);

    // ── make: streamed into build.log in the staging folder.
    progress.start("make", req.runner === "docker" ? `in ${p.image.ref}` : "on this host");
    logPath = await publication.stagedPath("build.log");
    log = createWriteStream(logPath, { flags: "w" });
    log.write(`# kubelet-nokmem build ${invocationId}\n# ${formatCommand(commandLine)}\n`);
    const onLine = (line: string) => {
      log!.write(`${line}\n`);
      progress.output(line);
    };
    containerStarted = req.runner === "docker";
    await make(p, commandLine, onLine, signal);
    progress.done();

    // ── verify: each binary is there, nokmem where the release is affected, and stamped clean.
    progress.start("verify");
    const outcomes: { platform: string; built: string; outcome: VerifyOutcome }[] = [];
    const problems: string[] = [];
    for (const o of p.outputs) {
      const built = join(staged.tree, o.path);
      if (!(await isFile(built))) {
        throw new BuildError("E_NO_KUBELET", `expected make to leave a kubelet at ${o.path}, found none`, "check build.log: the tree's Makefile may not honour KUBE_BUILD_PLATFORMS or WHAT=cmd/kubelet");
      }
      const outcome = await steps.verify(built, res);
      outcomes.push({ platform: o.platform, built, outcome });
      if (res.affected && outcome.verdict !== "nokmem") problems.push(`${o.platform}: ${outcome.verdict}`);
      // The audit read the stamp exactly when it could; otherwise search the bytes.
      const stamp =
        outcome.gitVersion !== undefined
          ? { ok: outcome.gitVersion === p.gitVersion, found: outcome.gitVersion }
          : checkVersionStamp(await readFile(built), p.gitVersion);
      if (!stamp.ok) problems.push(`${o.platform}: version ${stamp.found} instead of ${p.gitVersion}`);
    }
    if (problems.length) {
      throw new VerificationError(
        "E_NOT_NOKMEM",
        `expected a nokmem kubelet stamped ${p.gitVersion}, found ${problems.join("; ")}; nothing was published`,
        "the tag or patch did not reach the compiler: read build.log, check the tree's hack/lib/golang.sh GOFLAGS handling, or use a patching strategy",
      );
    }
    const verdict: Verdict = res.affected ? "nokmem" : "not-affected";
    progress.done(verdict);

    // ── checksum: move the binaries into staging; the verifier already hashed them.
    progress.start("checksum");
    const binaries: { platform: string; rel: string; sha256: string }[] = [];
    for (const o of outcomes) {
      const rel = binaryName(o.platform);
      const dest = await publication.stagedPath(rel);
      await moveFile(o.built, dest);
      binaries.push({ platform: o.platform, rel, sha256: o.outcome.sha256 ?? (await sha256File(dest)) });
    }
    await writeFileAtomic(await publication.stagedPath("SHA256SUMS"), formatSha256Sums(binaries.map((b) => ({ name: b.rel, sha256: b.sha256 }))));
    progress.done(binaries.map((b) => `${b.rel} ${b.sha256.slice(0, 16)}…`).join(", "));
    checkAborted(signal);

    // ── publish: manifest, log, then rename into place.
    progress.start("publish", publication.out);
    const finishedOn = new Date();
    log.write(`# finished ${finishedOn.toISOString()}\n`);
    await closeStream(log);
    log = null;
    const logSha = await sha256File(logPath);
    const attestations = await writeAttestations({
      subjects: binaries.map((b) => ({ name: b.rel, sha256: b.sha256 })),
      version: p.version,
      strategy: p.strategy,
      line: p.line,
      platforms: p.platforms,
      source: { kind: staged.kind, origin: staged.origin, ref: staged.ref, commit: staged.commit, treeDigest: staged.digest.digest, dirHash: staged.digest.dirHash, gitTree: staged.gitTree },
      sourceDateEpoch: p.sourceDateEpoch ?? staged.time,
      env: p.env,
      command: commandLine.args[0] === "run" ? [commandLine.file, ...commandLine.args] : p.command,
      runner: p.runner,
      image: p.runner === "docker" ? { ref: p.image.ref, id: p.image.id } : null,
      go: p.image.go,
      patches: patched.patches,
      tree: staged.tree,
      patchSeries: res.patchSeries,
      verdict: { verdict, binaries: outcomes.map((o) => ({ platform: o.platform, verdict: o.outcome.verdict, gitVersion: o.outcome.gitVersion, evidence: o.outcome.evidence })) },
      signKey: req.signKey ?? null,
      stage: (rel) => publication!.stagedPath(rel),
      tool: deps.tool,
      invocationId,
      startedOn,
      finishedOn,
      byproducts: [{ name: "build.log", digest: { sha256: logSha } }],
    });
    // A signal that arrives from here on is honoured after the renames: they take milliseconds, and half a publication is worse.
    const pub = publication;
    await asTeardown(() => pub.commit([...binaries.map((b) => b.rel), "build.log", ...attestations, "SHA256SUMS"], new Map([...binaries.map((b) => [b.rel, b.sha256] as const), ["build.log", logSha]])));
    const out = publication.out;
    progress.done();

    const first = binaries[0]!;
    return {
      version: p.gitVersion,
      strategy: p.strategy,
      kubelet: join(out, first.rel),
      sha256: first.sha256,
      manifest: join(out, "manifest.json"),
      attestations: attestations.map((f) => join(out, f)),
      keyid: req.signKey?.keyid ?? null,
      verdict,
      out,
      binaries: binaries.map((b) => ({ platform: b.platform, path: join(out, b.rel), sha256: b.sha256 })),
      sha256sums: join(out, "SHA256SUMS"),
      log: join(out, "build.log"),
      source: { kind: staged.kind, origin: staged.origin, commit: staged.commit, treeDigest: staged.digest.digest, sourceDateEpoch: p.sourceDateEpoch ?? staged.time },
      image: p.image,
      runner: p.runner,
      invocationId,
      seconds: Math.round((finishedOn.getTime() - startedOn.getTime()) / 100) / 10,
    };
  } catch (err) {
    if (log) await closeStream(log).catch(() => undefined);
    log = null;
    if (logPath && !signal.aborted) await keepFailedLog(logPath, req.cacheDir, invocationId, (err as ToolError).code === "E_MAKE", deps.onFailureTail);
    if (signal.aborted) {
      throw new InterruptedError("E_INTERRUPTED", "build interrupted: make (and its container, if any) was stopped and nothing was published", "re-run the same command to build again");
    }
    throw err;
  } finally {
    // Cleanup a signalled run waits for (src/process/teardown.ts).
    await asTeardown(async () => {
      progress.stop();
      if (log) await closeStream(log).catch(() => undefined);
      if (containerStarted) await removeContainer(containerName);
      if (staged && !req.keepWork) await staged.cleanup().catch(() => undefined);
      if (!req.keepWork) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
      if (publication) await publication.abandon().catch(() => undefined);
    });
  }
}

async function preflight(req: BuildRequest, res: Resolution, signal: AbortSignal): Promise<ImageFacts> {
  if (!res.version) {
    throw new BuildError("E_VERSION_LINE", `expected an exact release to build (e.g. ${res.line}.0), found the line ${res.line}`, `pass --version ${res.line}.N`);
  }
  if (req.runner === "local") {
    const r = await run({ file: "go", args: ["version"] }, { signal, reject: false }).catch((err: unknown) => {
      if (err instanceof EnvironmentError) {
        throw new EnvironmentError("E_GO_MISSING", "expected `go` on PATH for --runner local, found nothing", "install Go (`apt-get install golang-1.19-go`, then PATH=/usr/lib/go-1.19/bin:$PATH) or use --runner docker");
      }
      throw err;
    });
    return { ref: "local", id: null, go: parseGoVersion(r.stdout) };
  }
  await dockerPreflight(signal);
  const img = await requireImage(req.image ?? res.image, signal);
  return { ref: img.ref, id: img.id, go: img.go };
}

function commandFor(p: BuildPlan): { file: string; args: string[] } {
  return p.runner === "docker" ? { file: DOCKER, args: dockerRunArgs(p) } : { file: p.command[0]!, args: p.command.slice(1) };
}

async function make(p: BuildPlan, cmd: { file: string; args: string[] }, onLine: (l: string) => void, signal: AbortSignal): Promise<void> {
  const cacheInTree = join(p.tree, TREE_GO_CACHE);
  if (p.runner === "docker") {
    await ensureCacheVolume(p.goCache.name, p.image.id ?? p.image.ref, p.user!.uid, p.user!.gid, signal);
    // Created by us, not by Docker for the mount point: a root-owned _output/ would stop a non-root build.
    await mkdir(cacheInTree, { recursive: true });
  } else {
    // The persistent cache for the local runner is a folder under the cache dir, linked where the build puts its cache.
    const keep = p.goCache.name;
    await mkdir(keep, { recursive: true });
    await mkdir(join(cacheInTree, ".."), { recursive: true });
    if (!(await lstat(cacheInTree).catch(() => null))) await symlink(keep, cacheInTree);
  }
  const env = p.runner === "local" ? Object.fromEntries(p.env) : undefined;
  // Killing the docker client does not stop the container (make as PID 1 ignores
  // the forwarded SIGTERM): remove the container itself as soon as we are interrupted.
  const stopContainer = () => void (p.containerName && asTeardown(() => removeContainer(p.containerName!)));
  if (p.runner === "docker") signal.addEventListener("abort", stopContainer, { once: true });
  try {
    await run({ file: cmd.file, args: cmd.args, cwd: p.runner === "local" ? p.tree : undefined, env }, { onLine, signal });
  } catch (err) {
    if (signal.aborted) throw err;
    if (err instanceof ToolError && err.code === "E_EXEC") {
      throw new BuildError("E_MAKE", `expected \`${p.command.join(" ")}\` to succeed, found it failing (${err.message.replace(/^`[^`]*` /, "")})`, "read the log tail above, or the full build.log");
    }
    throw err;
  } finally {
    signal.removeEventListener("abort", stopContainer);
  }
}

function describeRecovery(out: string, r: PublishRecovery): string {
  return r.action === "finished"
    ? `finished a publication into ${out} that an earlier build left half-way (${r.files.length} file(s) renamed)`
    : `removed a publication into ${out} that an earlier build left half-way and whose staged files were lost (${r.files.join(", ")})`;
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
