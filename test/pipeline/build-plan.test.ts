/**
 * The build as data: planBuild is pure, pending facts are explicit and bound
 * once, and `build --dry-run --json` prints the plan without Docker.
 */
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCatalog } from "../../src/catalog/load.js";
import { resolve } from "../../src/catalog/resolve.js";
import { planBuild, type BuildOptions } from "../../src/pipeline/build-plan.js";
import { argvOf } from "../../src/pipeline/describe.js";
import { Facts } from "../../src/pipeline/facts.js";
import { dockerRunArgs } from "../../src/pipeline/docker.js";
import type { MakeInvocation } from "../../src/pipeline/make-invocation.js";
import { chooseImage } from "../../src/tree/build-image.js";
import { makeTarball, makeTree, MEASURED_BUILD_IMAGES } from "../fixtures/k8s-tree.js";
import { cli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { BUILD_OPTIONS, CONTAINER, TREE, v1_16_15DockerRun } from "./fixtures.js";

const catalog = loadCatalog();
const opts = BUILD_OPTIONS;
const spec = { kind: "directory" as const, path: "/src/k8s" };

function planFor(version: string, o: Partial<BuildOptions> = {}) {
  const res = resolve(catalog, version);
  const choice = chooseImage({ runner: "docker", pin: null, tree: null, catalog: { image: res.image, go: res.go } });
  return planBuild(res, { spec }, { choice }, { ...opts, ...o });
}

describe("planBuild", () => {
  it("lists every step in order, and is the same object for the same inputs", () => {
    const p = planFor("1.16.15");
    expect(p.steps.map((s) => s.step)).toEqual(["image", "stage", "patch", "make", "verify", "checksum", "attest", "publish"]);
    expect(planFor("1.16.15")).toEqual(p);
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
  });

  it("stages first when only the staged tree can name the image", () => {
    const res = resolve(catalog, "1.16.15");
    const p = planBuild(res, { spec }, { chooseOnceStaged: { runner: "docker", pin: null, catalog: { image: res.image, go: res.go } } }, opts);
    expect(p.steps.map((s) => s.step).slice(0, 2)).toEqual(["stage", "image"]);
    expect(p.image).toEqual({ pending: "imageChoice" });
    expect(p.pending.imageChoice).toBe("image");
  });

  it("marks what is only known while the build runs as pending, and names the step that binds it", () => {
    const p = planFor("1.20.15");
    expect(p.pending).toEqual({
      invocationId: "start",
      containerName: "start",
      tree: "stage",
      commit: "stage",
      commitTime: "stage",
      imageRef: "image",
      imageId: "image",
      imageGo: "image",
      goCacheVolume: "image",
      generatedKey: "make",
    });
    const make = p.steps.find((s) => s.step === "make") as MakeInvocation;
    expect(make.tree).toEqual({ pending: "tree" });
    expect(new Map(make.env).get("SOURCE_DATE_EPOCH")).toEqual({ pending: "commitTime", template: "{}" });
    expect(argvOf(p)).toContain("SOURCE_DATE_EPOCH=<commitTime>");
    // --source-date-epoch decides it up front.
    const fixed = planFor("1.20.15", { sourceDateEpoch: 7 });
    expect(fixed.pending.commitTime).toBeUndefined();
    expect(argvOf(fixed)).toContain("SOURCE_DATE_EPOCH=7");
  });

  it("binds a number fact into the environment as a string", () => {
    const facts = new Facts();
    facts.set("commitTime", 1600000000);
    const make = planFor("1.20.15").steps.find((s) => s.step === "make") as MakeInvocation;
    expect(new Map(facts.bind(make.env)).get("SOURCE_DATE_EPOCH")).toBe("1600000000");
  });

  it("binds the pending facts into exactly the docker arguments a build runs", () => {
    const p = planFor("1.16.15");
    const facts = new Facts();
    facts.set("invocationId", "X");
    facts.set("containerName", CONTAINER);
    facts.set("tree", TREE.root);
    facts.set("commitTime", TREE.commitTime);
    facts.set("imageRef", "registry.k8s.io/kube-cross@sha256:" + "c".repeat(64));
    facts.set("imageId", "sha256:" + "d".repeat(64));
    facts.set("imageGo", "1.12.9");
    facts.set("goCacheVolume", "kubelet-nokmem-gocache-1.16-dddddddddddd");
    facts.set("generatedKey", "e".repeat(64));
    const make = facts.bind(p.steps.find((s) => s.step === "make")!) as MakeInvocation;
    // By digest: a moved tag cannot change what builds.
    expect(dockerRunArgs(make)).toEqual(v1_16_15DockerRun("kubelet-nokmem-gocache-1.16-dddddddddddd", "registry.k8s.io/kube-cross@sha256:" + "c".repeat(64)));
    expect(() => facts.set("tree", "/elsewhere")).toThrow(/bound twice/);
    expect(() => dockerRunArgs(p.steps.find((s) => s.step === "make") as MakeInvocation)).toThrow(/pending/);
  });

  it("the local runner's paths wait for the staged tree and the Go on PATH", () => {
    const p = planFor("1.20.15", { runner: "local" });
    const make = p.steps.find((s) => s.step === "make") as MakeInvocation;
    expect(new Map(make.env).get("KUBE_GIT_VERSION_FILE")).toEqual({ pending: "tree", template: "{}/_output/kubelet-nokmem/version.env" });
    expect(make.goCache).toEqual({
      kind: "dir",
      name: { pending: "imageGo", template: "/cache/gocache/1.20-local-{}" },
      target: { pending: "tree", template: "{}/_output/local/go/cache" },
    });
    const facts = new Facts();
    facts.set("tree", "/t");
    facts.set("imageGo", "1.19.8");
    expect(facts.bind(make.goCache)).toEqual({ kind: "dir", name: "/cache/gocache/1.20-local-1.19.8", target: "/t/_output/local/go/cache" });
  });

  it("refuses a bare line", () => {
    expect(() => planFor("1.20")).toThrow(/exact release/);
  });
});

describe("build --dry-run --json on the four measured release layouts", () => {
  it.each(MEASURED_BUILD_IMAGES.map((m) => [m.version, m] as const))(
    "%s: the tree's image mapped to registry.k8s.io, the rule and the expected Go",
    async (_v, m) => {
      const dir = tempDir("kn-plan-");
      const tree = await makeTree(join(dir, "tree"), { era: m.era, version: m.version, buildImage: m.layout });
      // No docker on PATH: a dry run never needs it.
      const bin = join(dir, "bin");
      mkdirSync(bin);
      symlinkSync("/usr/bin/git", join(bin, "git"));
      const r = cli(["build", "--version", m.version, "--source", tree.root, "--out", join(dir, "out"), "--dry-run", "--json"], { PATH: bin });
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.plan.image).toMatchObject({
        rule: "tree",
        ref: m.mapped,
        requested: m.requested,
        expectedGo: m.go,
        expectedGoFrom: "build/build-image/cross/VERSION",
        moved: { to: "registry.k8s.io" },
      });
      expect(j.plan.steps.find((s: { step: string }) => s.step === "image")).toMatchObject({ pull: "missing", strictToolchain: false });
      const text = cli(["build", "--version", m.version, "--source", tree.root, "--out", join(dir, "out"), "--dry-run"], { PATH: bin });
      expect(text.stdout).toContain(`${m.mapped} (rule: tree`);
      expect(text.stdout).toContain(`expected ${m.go} (from build/build-image/cross/VERSION)`);
    },
  );

  it("--image and --pull are shown as given; a bad --pull is a usage error", async () => {
    const dir = tempDir("kn-plan-");
    const tree = await makeTree(join(dir, "tree"), { era: "1.20", kind: "dir" });
    const r = cli([
      "build",
      "--version",
      tree.version,
      "--source",
      tree.root,
      "--image",
      "mine:1",
      "--pull",
      "never",
      "--strict-toolchain",
      "--dry-run",
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.plan.image).toMatchObject({ rule: "flag", ref: "mine:1", expectedGo: "1.15.8" });
    expect(j.plan.steps[0]).toMatchObject({ step: "image", pull: "never", strictToolchain: true });
    const bad = cli(["build", "--version", tree.version, "--pull", "sometimes", "--dry-run"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/expected --pull missing, always or never/);
  });

  it("a tarball's image is chosen once it is staged: dry-run says so, and a build reads the staged tree's files", async () => {
    const dir = tempDir("kn-plan-");
    const m = MEASURED_BUILD_IMAGES[3]!;
    const tree = await makeTree(join(dir, "tree"), { era: m.era, version: m.version, buildImage: m.layout });
    const tarball = await makeTarball(tree, join(dir, "kubernetes-src.tar.gz"));
    const dry = cli(["build", "--version", m.version, "--source", tarball, "--out", join(dir, "out"), "--dry-run", "--json"]);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout).plan;
    expect(plan.image).toEqual({ pending: "imageChoice" });
    expect(plan.steps.map((s: { step: string }) => s.step).slice(0, 2)).toEqual(["stage", "image"]);
    // A real build stages, reads the tree's build-image files, and asks for the mapped image (absent here; never pulled).
    const r = cli([
      "build",
      "--version",
      m.version,
      "--source",
      tarball,
      "--out",
      join(dir, "out"),
      "--cache-dir",
      join(dir, "cache"),
      "--pull",
      "never",
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(3);
    expect(JSON.parse(r.stdout).error.message).toContain(`expected the build image ${m.mapped} on this machine`);
  });

  it("inspect shows the image a build would choose and the Go the tree expects", async () => {
    const dir = tempDir("kn-plan-");
    const m = MEASURED_BUILD_IMAGES[0]!;
    const tree = await makeTree(join(dir, "tree"), { era: m.era, version: m.version, buildImage: m.layout });
    const r = cli(["inspect", tree.root, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).buildImage).toMatchObject({ rule: "tree", ref: m.mapped, expectedGo: m.go });
  });
});
