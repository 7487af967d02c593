import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import { fileKind } from "../io/read.js";
import { join, resolve as resolvePath } from "node:path";
import { PACKAGE_ROOT } from "../catalog/load.js";
import { parseVersionQuery } from "../catalog/resolve.js";
import { UsageError } from "../errors.js";
import { parsePlatforms } from "../catalog/platforms.js";
import { checkImageReference, PULL_POLICIES, type PullPolicy } from "../pipeline/docker.js";
import { DEFAULT_CACHE_DIR, RUNNERS, type Runner } from "../pipeline/make-invocation.js";
import { Progress } from "../pipeline/progress.js";
import type { BuildResult } from "../pipeline/run.js";
import type { LinkMode } from "../source/index.js";
import { printJson, progressSink, type CommandContext } from "./context.js";
import { RUNC_UPSTREAM_URL as RUNC_UPSTREAM } from "../audit/fix.js";

interface BuildFlags {
  version?: string;
  source?: string;
  ref?: string;
  out?: string;
  image?: string;
  platform?: string;
  runner: string;
  cacheDir?: string;
  dryRun?: boolean;
  json?: boolean;
  verbose?: boolean;
  sourceDateEpoch?: string;
  wait?: boolean;
  stage: string;
  keepWork?: boolean;
  pull: string;
  strictToolchain?: boolean;
  signKey?: string;
  package?: string;
  packageRelease: string;
  gpgKey?: string;
}

/**
 * The `--json` contract of `build` (docs/build.md lists the fields): these
 * fields of the build's result, in this order. Their types are the result's
 * own; a new result field reaches the contract only when it is named here.
 */
const BUILD_JSON_FIELDS = [
  "version",
  "strategy",
  "kubelet",
  "sha256",
  "manifest",
  "attestations",
  "keyid",
  "verdict",
  "out",
  "sha256sums",
  "log",
  "binaries",
  "source",
  "image",
  "toolchain",
  "runner",
  "generated",
  "seconds",
  "plan",
  "bound",
] as const satisfies readonly (keyof BuildResult)[];

type BuildJson = Pick<BuildResult, (typeof BUILD_JSON_FIELDS)[number]>;

export function buildJson(r: BuildResult): BuildJson {
  return Object.fromEntries(BUILD_JSON_FIELDS.map((k) => [k, r[k]])) as BuildJson;
}

/** Progress on stderr: a live status line on a terminal, plain lines otherwise. */
function toolVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version;
}

function parseRunner(s: string): Runner {
  if (!(RUNNERS as string[]).includes(s))
    throw new UsageError("E_RUNNER", `expected --runner docker or local, found ${JSON.stringify(s)}`, "pass --runner docker (default) or --runner local");
  return s as Runner;
}

function parseEpoch(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (!/^\d{1,12}$/.test(s))
    throw new UsageError(
      "E_EPOCH",
      `expected --source-date-epoch as whole seconds since 1970, found ${JSON.stringify(s)}`,
      "pass e.g. --source-date-epoch $(git log -1 --format=%ct)",
    );
  return Number(s);
}

function parsePull(s: string): PullPolicy {
  if (!(PULL_POLICIES as string[]).includes(s))
    throw new UsageError(
      "E_PULL",
      `expected --pull missing, always or never, found ${JSON.stringify(s)}`,
      "pass --pull missing (default), always, or never on air-gapped machines",
    );
  return s as PullPolicy;
}

function parseStage(s: string): LinkMode {
  if (s !== "auto" && s !== "copy" && s !== "link")
    throw new UsageError("E_STAGE", `expected --stage auto, copy or link, found ${JSON.stringify(s)}`, "pass --stage auto");
  return s;
}

export function register(program: Command, ctx: CommandContext): void {
  program
    .command("build")
    .summary("build a nokmem kubelet in Docker, verify it, publish it with checksums and provenance")
    .description(
      "Stage the source, apply the release's strategy, run `make WHAT=cmd/kubelet` in the build image (offline, --network none), check the binary is nokmem and stamped with the clean version, then publish kubelet, SHA256SUMS, manifest.json (in-toto/SLSA provenance), verdict.json, a CycloneDX SBOM per kubelet, DSSE envelopes with --sign-key, and build.log into --out atomically.",
    )
    .argument("[product]", "kubelet, or runc: the container runtime's own runc (docs/runc.md)", "kubelet")
    .requiredOption("--version <version>", "the release to build, e.g. v1.16.15 (for runc: 1.0.0-rc93, as `runc --version` prints it)")
    .option(
      "--source <source>",
      `git URL, local git repository, directory (dir:PATH forces a plain copy) or .tar.gz (default: upstream repository; for runc ${RUNC_UPSTREAM})`,
    )
    .option("--ref <ref>", "git tag, branch or commit to build (default: v<version>)")
    .option("--out <dir>", "folder to publish into (default: ./out/v<version>)")
    .option("--image <image>", "build image (default: the pin's image, else the one the tree's build/build-image names, else the catalog line's)")
    .option("--pull <policy>", "missing: pull the image when it is not here; always: pull first; never: only use images already here", "missing")
    .option("--strict-toolchain", "fail (exit 3) when the image's Go differs from the Go the release was built with")
    .option("--platform <list>", "comma-separated platforms", "linux/amd64")
    .option("--runner <runner>", "docker, or local (make on this host with Go on PATH)", "docker")
    .option("--cache-dir <dir>", "git mirrors, work folders and failed build logs", DEFAULT_CACHE_DIR)
    .option("--source-date-epoch <seconds>", "build date stamped into the binary (default: the commit's time)")
    .option("--wait", "wait for another build publishing into the same --out instead of failing")
    .option("--stage <mode>", "how a directory source is staged: auto (hard-link vendor/), copy, link", "auto")
    .option("--keep-work", "keep the staged tree under --cache-dir/work for inspection")
    .option(
      "--sign-key <key>",
      "sign manifest.json and verdict.json as DSSE envelopes: a PEM Ed25519 or ECDSA P-256 private key file, or env:VARNAME (docs/provenance.md)",
    )
    .option(
      "--package <formats>",
      "then package the published folder as `kubelet-nokmem package` does (rpm, deb or both; the release must be pinned): docs/packages.md",
    )
    .option("--package-release <n>", "with --package: the package release number", "1")
    .option("--gpg-key <secret-key>", "with --package: armoured OpenPGP secret key (file or env:VARNAME) that signs the packages and repositories")
    .option("--dry-run", "print the build plan and stop")
    .option("--json", "print the result as JSON on stdout")
    .option("-v, --verbose", "stream make's output")
    .addHelpText(
      "after",
      `
Examples:
  $ kubelet-nokmem build --version v1.16.15 --out ./out
  $ kubelet-nokmem build --version 1.20.15 --source ~/src/kubernetes --image kubelet-nokmem-toolchain:go1.19
  $ kubelet-nokmem build --version 1.18.20 --source kubernetes-src.tar.gz --json
  $ kubelet-nokmem build --version 1.16.15 --dry-run
  $ kubelet-nokmem build --version 1.20.15 --sign-key env:KUBELET_NOKMEM_SIGNING_KEY
  $ kubelet-nokmem build runc --version 1.0.0-rc93 --out ./out/runc
  $ kubelet-nokmem build runc --version 1.0.0-rc5 --source ~/src/runc --json`,
    )
    .action(async (product: string, o: BuildFlags) => {
      if (product === "runc") return buildRunc(o, ctx);
      if (product !== "kubelet")
        throw new UsageError(
          "E_USAGE",
          `expected the product kubelet or runc, found ${JSON.stringify(product)}`,
          "pass `build --version X` for kubelet, `build runc --version X` for runc",
        );
      const verbose = Boolean(o.verbose) || ctx.verbose();
      const runner = parseRunner(o.runner);
      const platforms = parsePlatforms(o.platform);
      const sourceDateEpoch = parseEpoch(o.sourceDateEpoch);
      const linkMode = parseStage(o.stage);
      const pull = parsePull(o.pull);
      if (o.image !== undefined) checkImageReference(o.image);
      // Parsed once, here: the default --out and the plan take the query; the plan refuses a bare line.
      const q = parseVersionQuery(o.version!);
      // The key is read and checked before anything is staged or built (and before a dry run prints the plan).
      const signKey = o.signKey !== undefined ? await (await import("../artifact/keys.js")).loadSigningKey(o.signKey) : undefined;
      const { parseFormats, parsePackageRelease } = await import("../package/layout.js");
      if (o.gpgKey !== undefined && o.package === undefined)
        throw new UsageError("E_FLAGS", "expected --gpg-key only with --package, found it alone", "add --package rpm,deb, or drop --gpg-key");
      // Read now, so an empty or unreadable --gpg-key stops the run before anything is built.
      if (o.gpgKey !== undefined) await (await import("../artifact/keys.js")).readKeyText("--gpg-key", o.gpgKey, "armoured OpenPGP secret key");
      const packaging =
        o.package === undefined ? null : { formats: parseFormats(o.package), release: parsePackageRelease(o.packageRelease), signed: o.gpgKey !== undefined };
      // A file where --out or --cache-dir belongs fails in one line, before anything is decided or made.
      await mustBeFolderOrNothing(resolvePath(o.out ?? join("out", `v${q.version ?? q.line}`)), "--out");
      await mustBeFolderOrNothing(resolvePath(o.cacheDir ?? DEFAULT_CACHE_DIR), "--cache-dir");
      const { decideBuild } = await import("../pipeline/decide.js");
      const plan = await decideBuild(ctx.catalog(), {
        version: q,
        source: o.source,
        ref: o.ref,
        image: o.image,
        runner,
        platforms,
        out: resolvePath(o.out ?? join("out", `v${q.version ?? q.line}`)),
        cacheDir: resolvePath(o.cacheDir ?? DEFAULT_CACHE_DIR),
        sourceDateEpoch,
        uid: process.getuid?.() ?? 0,
        gid: process.getgid?.() ?? 0,
        pull,
        strictToolchain: Boolean(o.strictToolchain),
        linkMode,
        keepWork: Boolean(o.keepWork),
        signKeyId: signKey?.keyid ?? null,
        package: packaging,
      });
      if (o.dryRun) {
        const { dryRunJson, describeBuildPlan } = await import("../pipeline/describe.js");
        if (o.json) return printJson(ctx.io, dryRunJson(plan));
        return ctx.io.out(describeBuildPlan(plan));
      }
      const { buildPhases } = await import("../pipeline/build-plan.js");
      const progress = new Progress(progressSink(ctx.io), buildPhases(plan), verbose);
      // The pipeline (patch engine, audit, git, publication) loads only when a build runs.
      const { runBuild } = await import("../pipeline/run.js");
      const result = await runBuild(plan, {
        catalog: ctx.catalog(),
        signal: ctx.signal,
        progress,
        wait: o.wait,
        signKey,
        gpgKey: o.gpgKey,
        tool: { name: "kubelet-nokmem", version: toolVersion() },
        onFailureTail: (t) => ctx.io.err(t),
      });
      if (o.json) return printJson(ctx.io, buildJson(result));
      ctx.io.out(
        [
          `built:    ${result.version} (${result.strategy}, verdict ${result.verdict}) in ${result.seconds}s`,
          ...result.binaries.map((b) => `kubelet:  ${b.path}\nsha256:   ${b.sha256}`),
          `image:    ${result.image.ref} (rule ${result.image.rule}, Go ${result.image.go ?? "unknown"})`,
          ...(result.toolchain.matches === false ? [`note:     ${result.toolchain.note}`] : []),
          `manifest: ${result.manifest}${result.keyid ? ` (signed by ${result.keyid})` : ""}`,
          `check:    (cd ${result.out} && sha256sum -c SHA256SUMS)`,
        ].join("\n"),
      );
    });
}

async function mustBeFolderOrNothing(path: string, flag: string): Promise<void> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => (err.code === "ENOENT" ? null : Promise.reject(err)));
  if (st && !st.isDirectory()) {
    throw new UsageError(
      "E_NOT_A_FOLDER",
      `expected ${flag} to be a folder (or nothing yet), found ${st.isFile() ? "a file" : fileKind(st)} at ${path}`,
      `pass another ${flag}, or move ${path} away`,
    );
  }
}

/** Kubelet-only flags that mean nothing for a runc build, refused rather than ignored: each with why. */
const KUBELET_ONLY: [keyof BuildFlags, string, string][] = [
  ["platform", "--platform", "runc is built for linux/amd64, in Docker"],
  ["sourceDateEpoch", "--source-date-epoch", "runc is built for linux/amd64, in Docker"],
  ["wait", "--wait", "runc is built for linux/amd64, in Docker"],
  ["strictToolchain", "--strict-toolchain", "runc is built for linux/amd64, in Docker"],
  ["package", "--package", "the packages carry a kubelet; runc is not packaged"],
  ["gpgKey", "--gpg-key", "it signs packages, and runc is not packaged"],
];

/**
 * `build runc`: the container runtime's runc, the second product, planned
 * and walked by the same pipeline as a kubelet (src/pipeline/build-plan.ts,
 * run.ts). Its `--json` contract is docs/build.md's "build runc" section.
 */
async function buildRunc(o: BuildFlags, ctx: CommandContext): Promise<void> {
  const given = KUBELET_ONLY.find(([k]) => o[k] !== undefined && !(k === "platform" && o.platform === "linux/amd64"));
  if (given)
    throw new UsageError("E_FLAGS", `expected only runc's flags with \`build runc\`, found ${given[1]}`, `drop the flag: ${given[2]}; see docs/runc.md`);
  if (o.runner !== "docker")
    throw new UsageError(
      "E_RUNNER",
      `expected --runner docker for runc, found ${JSON.stringify(o.runner)}`,
      "drop --runner: runc builds run in the runc toolchain image",
    );
  const pull = parsePull(o.pull);
  const linkMode = parseStage(o.stage);
  if (o.image !== undefined) checkImageReference(o.image);
  const { formatRuncVersion, parseRuncVersion } = await import("../runc-version.js");
  const parsed = parseRuncVersion(String(o.version ?? ""));
  // The key is read and checked before anything is staged or built, as for kubelet.
  const signKey = o.signKey !== undefined ? await (await import("../artifact/keys.js")).loadSigningKey(o.signKey) : undefined;
  const out = resolvePath(o.out ?? join("out", `runc-${parsed ? formatRuncVersion(parsed) : o.version}`));
  const cacheDir = resolvePath(o.cacheDir ?? DEFAULT_CACHE_DIR);
  const { decideRuncBuild } = await import("../pipeline/decide.js");
  const plan = decideRuncBuild(ctx.catalog(), {
    version: o.version!,
    source: o.source ?? RUNC_UPSTREAM,
    ref: o.ref,
    image: o.image,
    runner: "docker",
    platforms: [],
    out,
    cacheDir,
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    pull,
    strictToolchain: false,
    linkMode,
    keepWork: Boolean(o.keepWork),
    signKeyId: signKey?.keyid ?? null,
    package: null,
  });
  await mustBeFolderOrNothing(out, "--out");
  await mustBeFolderOrNothing(cacheDir, "--cache-dir");
  if (o.dryRun) {
    const { dryRunJson, describeBuildPlan } = await import("../pipeline/describe.js");
    if (o.json) return printJson(ctx.io, dryRunJson(plan));
    return ctx.io.out(describeBuildPlan(plan));
  }
  const { buildPhases } = await import("../pipeline/build-plan.js");
  const progress = new Progress(progressSink(ctx.io), buildPhases(plan), Boolean(o.verbose) || ctx.verbose());
  const { runBuild } = await import("../pipeline/run.js");
  const r = await runBuild(plan, {
    catalog: ctx.catalog(),
    signal: ctx.signal,
    progress,
    signKey,
    tool: { name: "kubelet-nokmem", version: toolVersion() },
    onFailureTail: (t) => ctx.io.err(t),
  });
  if (o.json) return printJson(ctx.io, runcBuildJson(r));
  const runc = r.runc!;
  ctx.io.out(
    [
      `built:    runc ${r.version} (${r.strategy}, verdict ${r.verdict}) in ${r.seconds}s`,
      `runc:     ${r.kubelet}`,
      `sha256:   ${r.sha256}`,
      `stamp:    runc version ${runc.stamp.version}, commit ${runc.stamp.commit ?? "(none)"}`,
      `tags:     BUILDTAGS="${runc.buildTags.join(" ")}" (Makefile default: ${runc.makefileTags.join(" ") || "none"})`,
      ...runc.disagreements.map((d) => `note:     ${d}`),
      `manifest: ${r.manifest}${r.keyid ? ` (signed by ${r.keyid})` : ""}`,
      `check:    (cd ${r.out} && sha256sum -c SHA256SUMS); kubelet-nokmem verify ${r.out}`,
    ].join("\n"),
  );
}

/** The `--json` contract of `build runc` (docs/build.md, "build runc"): the build's result in runc's words. */
function runcBuildJson(r: BuildResult) {
  if (!r.runc) throw new Error("internal: a runc build's result without its runc facts");
  return {
    product: "runc" as const,
    version: r.version,
    strategy: r.strategy,
    verdict: r.verdict,
    runc: r.kubelet,
    sha256: r.sha256,
    stamp: r.runc.stamp,
    buildTags: r.runc.buildTags,
    makefileTags: r.runc.makefileTags,
    kmemLayout: r.runc.kmemLayout,
    disagreements: r.runc.disagreements,
    go: r.runc.go,
    patches: r.runc.patches,
    image: { ref: r.image.ref, id: r.image.id },
    source: { kind: r.source.kind, origin: r.source.origin, commit: r.source.commit },
    out: r.out,
    sha256sums: r.sha256sums,
    verdictFile: join(r.out, "verdict.json"),
    manifest: r.manifest,
    attestations: r.attestations,
    keyid: r.keyid,
    log: r.log,
    seconds: r.seconds,
    plan: r.plan,
    bound: r.bound,
  };
}
