/**
 * The walk from `build --version` to the docker arguments, in-process through
 * the real CLI entry point: every module the build passes through is visited
 * once, in the order the plan's steps name, and the `docker run` the build
 * starts is exactly the `--dry-run --json` plan's make step with its pending
 * facts bound.
 *
 * The modules are the real ones, each entry point wrapped only to record that
 * it was called. The one child-process door (src/process/exec.ts) answers for
 * `docker` alone, as a recording fake: it says what `docker version` and
 * `docker image inspect` say, and for `docker run … make` "compiles" the
 * staged tree's vendored runc fs package: it keeps the Go files whose build
 * constraints the tags in the GOFLAGS it was given satisfy, and writes a
 * synthetic kubelet ELF (test/audit/synthetic.ts) stamped with the version
 * file the patch step wrote and carrying the marker strings those files hold,
 * so the real audit judges what the tree and the tag would give. No Go, no
 * Docker needed. Two faults can be injected into that toolchain (a Makefile
 * that does not pass GOFLAGS on; another runc copy compiled in), and then the
 * build must refuse to publish: that is what makes the verify step's
 * comparison a check that can fail.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, posix } from "node:path";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { Publication } from "../../src/artifact/publish.js";
import { main } from "../../src/cli.js";
import type { Io } from "../../src/commands/context.js";
import { stepOf, type BuildPlan, type BuildStep } from "../../src/pipeline/build-plan.js";
import { dockerRunArgs, GO_VERSION_LABEL } from "../../src/pipeline/docker.js";
import { Facts } from "../../src/pipeline/facts.js";
import type { Fact } from "../../src/pipeline/make-invocation.js";
import type { RunOptions, RunResult } from "../../src/process/exec.js";
import { MARKERS } from "../../src/audit/markers.js";
import { syntheticBinary } from "../audit/synthetic.js";
import { makeTree, RUNC_FS, type Era } from "../fixtures/k8s-tree.js";
import { runcFsFiles } from "../fixtures/runc-fs.js";
import { tempDir } from "../helpers/tmp.js";

/** The order in which the wrapped entry points were entered, and the fake docker. */
const walk = vi.hoisted(() => {
  const calls: string[] = [];
  /** The module with the named functions wrapped to record each call, then run the real one. */
  const recording = <M extends object>(module: M, ...names: (keyof M & string)[]): M => ({
    ...module,
    ...Object.fromEntries(
      names.map((name) => {
        const real = module[name] as (...args: unknown[]) => unknown;
        const wrapped = (...args: unknown[]) => {
          calls.push(name);
          return real(...args);
        };
        return [name, vi.fn(wrapped)];
      }),
    ),
  });
  return {
    calls,
    recording,
    docker: null as null | ((args: string[], opts: RunOptions) => RunResult),
    /** Faults of the fake toolchain: GOFLAGS never reaches the compiler; these fs files are compiled beside the tree's. */
    fault: { dropGoflags: false, extraFsFiles: null as Record<string, string> | null },
  };
});

vi.mock("../../src/catalog/resolve.js", async (original) => walk.recording(await original<typeof import("../../src/catalog/resolve.js")>(), "resolve"));
vi.mock("../../src/source/peek.js", async (original) => walk.recording(await original<typeof import("../../src/source/peek.js")>(), "peekSource"));
vi.mock("../../src/tree/build-image.js", async (original) => walk.recording(await original<typeof import("../../src/tree/build-image.js")>(), "chooseImage"));
vi.mock("../../src/pipeline/build-plan.js", async (original) =>
  walk.recording(await original<typeof import("../../src/pipeline/build-plan.js")>(), "planBuild"),
);
vi.mock("../../src/pipeline/docker.js", async (original) => walk.recording(await original<typeof import("../../src/pipeline/docker.js")>(), "ensureImage"));
vi.mock("../../src/source/index.js", async (original) => walk.recording(await original<typeof import("../../src/source/index.js")>(), "stageSource"));
vi.mock("../../src/patch/engine.js", async (original) => walk.recording(await original<typeof import("../../src/patch/engine.js")>(), "applyStrategy"));
vi.mock("../../src/tree/inspect.js", async (original) => walk.recording(await original<typeof import("../../src/tree/inspect.js")>(), "readTreeFacts"));
vi.mock("../../src/audit/index.js", async (original) => walk.recording(await original<typeof import("../../src/audit/index.js")>(), "auditFile"));
vi.mock("../../src/artifact/checksums.js", async (original) =>
  walk.recording(await original<typeof import("../../src/artifact/checksums.js")>(), "formatSha256Sums"),
);
vi.mock("../../src/artifact/attest.js", async (original) =>
  walk.recording(await original<typeof import("../../src/artifact/attest.js")>(), "writeAttestations"),
);
// The one door to child processes: docker is answered by the fake below, anything else runs for real.
vi.mock("../../src/process/exec.js", async (importOriginal) => {
  const m = await importOriginal<typeof import("../../src/process/exec.js")>();
  return {
    ...m,
    run: vi.fn((cmd: Parameters<typeof m.run>[0], opts: RunOptions = {}) =>
      cmd.file === "docker" ? Promise.resolve().then(() => walk.docker!(cmd.args, opts)) : m.run(cmd, opts),
    ),
    runPipeline: vi.fn((from: Parameters<typeof m.runPipeline>[0], to: Parameters<typeof m.runPipeline>[1], opts?: RunOptions) => {
      if (from.file === "docker" || to.file === "docker") throw new Error("the build never pipes docker");
      return m.runPipeline(from, to, opts);
    }),
  };
});

/** Where each step of the plan enters the modules it owns, in the order it enters them. */
const ENTRIES: Record<BuildStep["step"], string[]> = {
  image: ["ensureImage"],
  // The staged tree's facts are read once, by the stage step (its release must be --version's); the patch engine takes them.
  stage: ["stageSource", "readTreeFacts"],
  // Only a runc's tree is inspected (test/pipeline/runc-build.slow.test.ts walks it); the walked builds are kubelets.
  inspect: ["readRuncTree"],
  patch: ["applyStrategy"],
  make: ["docker run make"],
  verify: ["auditFile"],
  checksum: ["formatSha256Sums"],
  attest: ["writeAttestations"],
  publish: ["Publication.commit"],
  // Only with `build --package` (test/os-package/plan.test.ts); the walked builds do not package.
  package: ["packageOutDir"],
};
/** Deciding the plan, before any step: resolve the release, read the tree's build-image files in place, choose the image, plan. */
const DECIDE = ["resolve", "peekSource", "chooseImage", "planBuild"];

const IMAGE_ID = `sha256:${"5e".repeat(32)}`;
const IMAGE_GO = "1.19.8";
const dockerCalls: string[][] = [];

/** The tags `go build` would get from GOFLAGS: `-tags=a,b` (or `-tags a,b`). */
function tagsOf(goflags: string): string[] {
  const m = /(?:^|\s)-tags[= ](\S+)/.exec(goflags);
  return m ? m[1]!.split(",").filter(Boolean) : [];
}

/** Whether a `//go:build` expression holds for these tags (&&, ||, !, parentheses). */
function constraintHolds(expr: string, tags: ReadonlySet<string>): boolean {
  const tokens = expr.match(/&&|\|\||!|\(|\)|[\w.]+/g) ?? [];
  let i = 0;
  const or = (): boolean => {
    let v = and();
    while (tokens[i] === "||") {
      i++;
      v = and() || v;
    }
    return v;
  };
  const and = (): boolean => {
    let v = not();
    while (tokens[i] === "&&") {
      i++;
      v = not() && v;
    }
    return v;
  };
  const not = (): boolean => {
    const t = tokens[i++];
    if (t === "!") return !not();
    if (t === "(") {
      const v = or();
      i++;
      return v;
    }
    return tags.has(t!);
  };
  return or();
}

/**
 * The kmem markers a kubelet carries when the fs package is compiled with
 * these tags: the marker strings in the files whose constraints hold, and the
 * path of each such kmem file that holds one (a file without strings is
 * inlined away and leaves no line-table entry, as f000fe1's kmem_disabled.go).
 */
function compileRuncFs(dir: string, tags: string[], extra: Record<string, string>): string[] {
  const held = new Set(["linux", "amd64", ...tags]);
  const files: Record<string, string> = {};
  for (const name of existsSync(dir) ? readdirSync(dir) : [])
    if (name.endsWith(".go") && !name.endsWith("_test.go")) files[name] = readFileSync(join(dir, name), "utf8");
  Object.assign(files, extra);
  const markers = new Set<string>();
  for (const [name, text] of Object.entries(files)) {
    const constraint = /^\/\/go:build (.+)$/m.exec(text)?.[1];
    if (constraint !== undefined && !constraintHolds(constraint, held)) continue;
    const strings = MARKERS.filter((m) => /^(enabled|disabled)-string:/.test(m.id) && text.includes(m.text)).map((m) => m.id);
    for (const id of strings) markers.add(id);
    const path = MARKERS.find((m) => m.id === `source-path:${name}`);
    if (path && strings.length) markers.add(path.id);
  }
  return [...markers];
}

/** `docker run … make`, as the Kubernetes Makefile of a nokmem-capable tree would leave it: a kubelet per platform. */
function fakeMake(args: string[]): RunResult {
  const mounts = new Map<string, string>();
  const env = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "-v") {
      const [host, target] = args[++i]!.split(":") as [string, string];
      mounts.set(target, host);
    } else if (args[i] === "-e") {
      const [k, ...v] = args[++i]!.split("=");
      env.set(k!, v.join("="));
    }
  }
  const tree = mounts.get("/src");
  if (!tree) throw new Error(`fake make: no tree mounted at /src in ${args.join(" ")}`);
  const onHost = (p: string) => join(tree, posix.relative("/src", p));
  const versionFile = readFileSync(onHost(env.get("KUBE_GIT_VERSION_FILE")!), "utf8");
  const gitVersion = /^KUBE_GIT_VERSION=['"]?([^'"\n]*)/m.exec(versionFile)?.[1];
  if (!gitVersion) throw new Error(`fake make: no KUBE_GIT_VERSION in\n${versionFile}`);
  const goflags = walk.fault.dropGoflags ? "" : (env.get("GOFLAGS") ?? "");
  const markers = compileRuncFs(join(tree, RUNC_FS), tagsOf(goflags), walk.fault.extraFsFiles ?? {});
  for (const platform of (env.get("KUBE_BUILD_PLATFORMS") ?? "").split(" ").filter(Boolean)) {
    const dir = join(tree, "_output/local/bin", platform);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "kubelet"), syntheticBinary({ markers: [...markers, "identity:kubelet"], stamps: { gitVersion } }), { mode: 0o755 });
  }
  return { exitCode: 0, stdout: "+++ [fake] Building go targets for linux/amd64: ./cmd/kubelet", stderr: "" };
}

walk.docker = (args, opts) => {
  dockerCalls.push(args);
  const ok = (stdout = ""): RunResult => ({ exitCode: 0, stdout, stderr: "" });
  const [verb, sub] = args;
  if (verb === "version") return ok("20.10.24+dfsg1");
  if (verb === "image" && sub === "inspect") {
    return ok(
      JSON.stringify({
        Id: IMAGE_ID,
        Created: "2026-11-30T00:00:00Z",
        RepoDigests: [],
        Config: { Env: ["PATH=/usr/bin"], Labels: { [GO_VERSION_LABEL]: IMAGE_GO } },
      }),
    );
  }
  if (verb === "volume" && sub === "inspect") return ok("[]");
  if (verb === "rm" && sub === "-f") return ok();
  if (verb === "run" && args.slice(-2).join(" ") === "make WHAT=cmd/kubelet") {
    walk.calls.push("docker run make");
    const r = fakeMake(args);
    opts.onLine?.(r.stdout);
    return r;
  }
  throw new Error(`fake docker: unexpected \`docker ${args.join(" ")}\``);
};

// Publication is a class: record its commit on the prototype, then run the real one.
const commit = Reflect.get<Publication, "commit">(Publication.prototype, "commit");
vi.spyOn(Publication.prototype, "commit").mockImplementation(function (this: Publication, ...args: Parameters<Publication["commit"]>) {
  walk.calls.push("Publication.commit");
  return commit.apply(this, args);
});

function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t), progress: (t) => err.push(t), isTTY: false };
  return { io, out, err };
}

async function kn(args: string[]): Promise<{ code: number; json: Record<string, unknown>; err: string }> {
  const { io, out, err } = captureIo();
  const code = await main(args, io);
  return { code, json: JSON.parse(out.join("\n")) as Record<string, unknown>, err: err.join("\n") };
}

beforeEach(() => {
  walk.calls.length = 0;
  dockerCalls.length = 0;
  walk.fault = { dropGoflags: false, extraFsFiles: null };
});

describe.each(["git", "dir"] as const)("build --version 1.20.15 from a %s source", (kind) => {
  it("visits each module once, in the plan's order, and runs docker with the dry run's make step, bound", async () => {
    const tmp = tempDir("kn-walk-");
    const tree = await makeTree(join(tmp, "k8s"), { era: "1.20", version: "1.20.15", kind });
    const args = ["build", "--version", "1.20.15", "--source", tree.root, "--cache-dir", join(tmp, "cache"), "--out", join(tmp, "out"), "--json"];

    const dry = await kn([...args, "--dry-run"]);
    expect(dry.code, dry.err).toBe(0);
    const dryPlan = dry.json.plan as BuildPlan;
    // Deciding reads, never runs: no docker, and each deciding module once.
    expect(walk.calls).toEqual(DECIDE);
    expect(dockerCalls).toEqual([]);

    walk.calls.length = 0;
    const built = await kn(args);
    expect(built.code, built.err).toBe(0);
    const plan = built.json.plan as BuildPlan;
    // The build walked the very plan --dry-run printed.
    expect(plan).toEqual(dryPlan);

    // Each entry once, in the order the plan's steps run (not a copy of it written here).
    const expected = [...DECIDE, ...plan.steps.flatMap((s) => ENTRIES[s.step])];
    expect(walk.calls).toEqual(expected);
    for (const entry of new Set(expected))
      expect(
        walk.calls.filter((c) => c === entry),
        entry,
      ).toHaveLength(1);

    // The one `docker run … make` is the dry run's make step with the facts the build bound.
    const facts = new Facts();
    for (const [fact, value] of Object.entries(built.json.bound as Record<string, unknown>)) facts.set(fact as Fact, value);
    const makeRuns = dockerCalls.filter((a) => a[0] === "run");
    const make = stepOf(dryPlan, "make");
    if (make.product !== "kubelet") throw new Error("a kubelet plan with a runc make step");
    expect(makeRuns).toEqual([dockerRunArgs(facts.bind(make))]);
    // What --dry-run showed as `<fact>` is what was bound.
    const shown = dry.json.argv as string[];
    expect(shown[0]).toBe("docker");
    expect(shown.slice(1)).toHaveLength(makeRuns[0]!.length);
    for (const [i, a] of shown.slice(1).entries()) if (!/<\w+>/.test(a)) expect(makeRuns[0]![i], `argument ${i}`).toBe(a);

    // Every pending fact of the plan was bound, by the build, exactly once (Facts refuses a second binding).
    expect(Object.keys(built.json.bound as object).sort()).toEqual(Object.keys(plan.pending).sort());
    expect(built.json.bound).toMatchObject({ imageId: IMAGE_ID, imageGo: IMAGE_GO, tree: expect.stringContaining(join(tmp, "cache")) });

    // The real audit judged the kubelet the fake make left, and the build reported its word: the one this release's strategy expects.
    expect(stepOf(plan, "verify").expect).toBe("patched");
    expect(built.json.verdict).toBe("patched");
    expect(
      createHash("sha256")
        .update(readFileSync(built.json.kubelet as string))
        .digest("hex"),
    ).toBe(built.json.sha256);
  });
});

/** A build of `version` (era `era`) from a git source, with the fake toolchain as it stands. */
async function buildOf(era: Era, version: string) {
  const tmp = tempDir("kn-walk-");
  const tree = await makeTree(join(tmp, "k8s"), { era, version });
  const out = join(tmp, "out");
  const r = await kn(["build", "--version", version, "--source", tree.root, "--cache-dir", join(tmp, "cache"), "--out", out, "--json"]);
  return { ...r, out };
}

describe("the verify step compares the audit's verdict with the strategy's, for every strategy", () => {
  it("1.22.17 (strategy none): the audit finds no kmem code, and the build reports not-affected", async () => {
    const r = await buildOf("1.22", "1.22.17");
    expect(r.code, r.err).toBe(0);
    expect(stepOf(r.json.plan as BuildPlan, "verify").expect).toBe("not-affected");
    expect(r.json.verdict).toBe("not-affected");
  });

  it("1.20.15 when GOFLAGS never reaches the compiler: the audit says unpatched, exit 4, nothing published", async () => {
    walk.fault.dropGoflags = true;
    const r = await buildOf("1.20", "1.20.15");
    expect(r.code, r.err).toBe(4);
    expect(r.json.error).toMatchObject({ code: "E_NOT_NOKMEM" });
    expect((r.json.error as { message: string }).message).toMatch(
      /^expected a kubelet the audit judges patched, stamped v1\.20\.15; found linux\/amd64: unpatched \(kmem-enabled code in the binary\)/,
    );
    expect(existsSync(join(r.out, "SHA256SUMS"))).toBe(false);
  });

  it("1.22.17 when another runc with kmem code is compiled in: the audit says unpatched where not-affected is expected, exit 4", async () => {
    walk.fault.extraFsFiles = { "kmem.go": runcFsFiles("split-rc7+")["kmem.go"]! };
    const r = await buildOf("1.22", "1.22.17");
    expect(r.code, r.err).toBe(4);
    expect(r.json.error).toMatchObject({ code: "E_NOT_NOKMEM" });
    expect((r.json.error as { message: string }).message).toMatch(
      /^expected a kubelet the audit judges not-affected, stamped v1\.22\.17; found linux\/amd64: unpatched/,
    );
    expect(existsSync(join(r.out, "SHA256SUMS"))).toBe(false);
  });
});
