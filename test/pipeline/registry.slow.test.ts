/**
 * The build image a tree asks for, pulled from a real registry and pinned by
 * digest: Debian's docker-registry on 127.0.0.1 (started here, stopped by pid),
 * the offline toolchain image pushed into it under a kube-cross-like name, and
 * fixture trees whose build/build-image files name that registry.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCatalog } from "../../src/catalog/load.js";
import { makeTree, type Tree } from "../fixtures/k8s-tree.js";
import { CLI, ROOT } from "../helpers/cli.js";

const BASE = process.env.KUBELET_NOKMEM_TEST_IMAGE ?? "kubelet-nokmem-toolchain:go1.19";
const REGISTRY_BIN = "/usr/bin/docker-registry";

let tmp: string;
let registry: ChildProcess | null = null;
let port = 0;
/** Our own copy of the toolchain image (a distinct id, so removing it never touches the shared image). */
let local = "";
let repo = "";
let tag = "";
let tree: Tree;
let catalog: string;
const madeImages: string[] = [];

function docker(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync("docker", args, { encoding: "utf8", input, env: { ...process.env, DOCKER_BUILDKIT: "0" }, timeout: 15 * 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function must(args: string[], input?: string): string {
  const r = docker(args, input);
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout.trim();
}

function kn(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 20 * 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

async function waitForRegistry(): Promise<void> {
  for (;;) {
    if (registry?.exitCode !== null) throw new Error("docker-registry exited before it answered");
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const imageId = (ref: string) => must(["image", "inspect", "--format", "{{.Id}}", ref]);
const hasImage = (ref: string) => docker(["image", "inspect", ref]).code === 0;
/** Drop every local name of our registry's repository (tags and digests), keeping the images under their other names. */
function forgetRegistryNames(): void {
  const names = must(["image", "ls", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}", repo]).split("\n").filter(Boolean);
  for (const line of names) {
    const [r, t, d] = line.split(" ");
    if (t && t !== "<none>") docker(["rmi", `${r}:${t}`]);
    if (d && d !== "<none>") docker(["rmi", `${r}@${d}`]);
  }
}

beforeAll(async () => {
  if (!existsSync(REGISTRY_BIN)) throw new Error(`${REGISTRY_BIN} is missing: apt-get install docker-registry (.ci/run does)`);
  tmp = mkdtempSync(join(tmpdir(), "kn-registry-"));
  port = await freePort();
  const config = join(tmp, "registry.yml");
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(tmp, "data")}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  registry = spawn(REGISTRY_BIN, ["serve", config], { stdio: "ignore" });
  await waitForRegistry();

  repo = `127.0.0.1:${port}/build-image/kube-cross`;
  tag = `${repo}:v1.15.5-1`;
  local = `kn-registry-test-${port}:base`;
  must(["build", "-q", "-t", local, "-"], `FROM ${BASE}\nLABEL io.github.kubelet-nokmem.test=registry-${port}\n`);
  madeImages.push(local);
  must(["tag", local, tag]);
  must(["push", tag]);
  forgetRegistryNames();

  tree = await makeTree(join(tmp, "tree"), {
    era: "1.20",
    version: "1.20.2",
    buildImage: { from: `${repo}:KUBE_BUILD_IMAGE_CROSS_TAG`, cross: "v1.15.5-1" },
  });
  catalog = join(tmp, "versions.json");
  copyFileSync(join(ROOT, "versions.json"), catalog);
}, 20 * 60_000);

afterAll(() => {
  if (repo) forgetRegistryNames();
  for (const image of madeImages) {
    const id = docker(["image", "inspect", "--format", "{{.Id}}", image]).stdout.trim();
    docker(["rmi", image]);
    // The Go cache volume the builds made for our image (one per line and image id).
    if (id) docker(["volume", "rm", `kubelet-nokmem-gocache-1.20-${id.replace(/^sha256:/, "").slice(0, 12)}`]);
  }
  if (registry?.pid && registry.exitCode === null) process.kill(registry.pid, "SIGTERM");
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const build = (out: string, extra: string[] = []) =>
  kn([
    "build",
    "--catalog",
    catalog,
    "--version",
    "1.20.2",
    "--source",
    tree.root,
    "--cache-dir",
    join(tmp, "cache"),
    "--out",
    join(tmp, out),
    "--json",
    ...extra,
  ]);

describe("the image the tree asks for, from a registry", () => {
  let first: {
    sha256: string;
    image: { ref: string; id: string; rule: string; pulled: boolean; go: string };
    toolchain: { expected: string; matches: boolean; note: string };
    manifest: string;
  };

  it("--pull never fails cleanly when the image is not here, and publishes nothing", () => {
    expect(hasImage(tag)).toBe(false);
    const r = build("out-never", ["--pull", "never"]);
    expect(r.code, r.stderr).toBe(3);
    const error = JSON.parse(r.stdout).error;
    expect(error).toMatchObject({ code: "E_IMAGE_MISSING" });
    expect(`${error.message} ${error.hint}`).toMatch(/--pull never/);
    expect(error.hint).toMatch(/kubelet-nokmem image build --tag/);
    expect(error.hint).toMatch(/--image/);
    expect(existsSync(join(tmp, "out-never"))).toBe(false);
    expect(hasImage(tag)).toBe(false);
  });

  let dryPlan: unknown;
  it("--dry-run names the tree's image, the rule and the expected Go without pulling it", () => {
    const r = build("out-1", ["--dry-run"]);
    expect(r.code, r.stderr).toBe(0);
    dryPlan = JSON.parse(r.stdout).plan;
    expect(JSON.parse(r.stdout).plan.image).toMatchObject({ rule: "tree", ref: tag, expectedGo: "1.15.5", expectedGoFrom: "build/build-image/cross/VERSION" });
    expect(hasImage(tag)).toBe(false);
    expect(existsSync(join(tmp, "out-1"))).toBe(false);
  });

  it("--pull missing pulls once, runs the image by digest and records the digest in the manifest", () => {
    const r = build("out-1");
    expect(r.code, r.stderr).toBe(0);
    first = JSON.parse(r.stdout);
    // The build walked the very plan --dry-run printed.
    expect(JSON.parse(r.stdout).plan).toEqual(dryPlan);
    expect(first.image).toMatchObject({ rule: "tree", pulled: true, id: imageId(local) });
    expect(first.image.ref).toMatch(new RegExp(`^${repo.replace(/[.]/g, "\\.")}@sha256:[0-9a-f]{64}$`));
    // The toolchain check: the tree expects Go 1.15.5, the image has Debian's 1.19 — allowed, and said.
    expect(first.toolchain).toMatchObject({ expected: "1.15.5", matches: false });
    expect(first.image.go).toMatch(/^1\.19/);
    const m = JSON.parse(readFileSync(first.manifest, "utf8"));
    expect(m.predicate.buildDefinition.internalParameters.image).toMatchObject({ ref: first.image.ref, id: first.image.id, rule: "tree", requested: tag });
    expect(m.predicate.buildDefinition.internalParameters.toolchain).toMatchObject({ expected: "1.15.5", matches: false });
    expect(m.predicate.buildDefinition.internalParameters.toolchain.note).toMatch(/differs from Go 1\.15\.5/);
    expect(m.predicate.buildDefinition.internalParameters.command).toContain(first.image.ref);
  });

  it("a second build reuses the image it pulled", () => {
    const r = build("out-2");
    expect(r.code, r.stderr).toBe(0);
    const second = JSON.parse(r.stdout);
    expect(second.image).toMatchObject({ ref: first.image.ref, id: first.image.id, pulled: false });
    expect(second.sha256).toBe(first.sha256);
  });

  it("--strict-toolchain refuses the image whose Go differs from the tree's (exit 3)", () => {
    const r = build("out-strict", ["--strict-toolchain"]);
    expect(r.code, r.stderr).toBe(3);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: "E_TOOLCHAIN" });
    expect(JSON.parse(r.stdout).error.message).toMatch(/expected Go 1\.15\.5 .* found Go 1\.19/);
    expect(existsSync(join(tmp, "out-strict"))).toBe(false);
  });

  it("the pin and the matrix carry the digest", () => {
    const pin = kn(["pin", join(tmp, "out-1"), "--catalog", catalog, "--json"]);
    expect(pin.code, pin.stderr).toBe(0);
    const pinned = parseCatalog(readFileSync(catalog, "utf8")).pins["1.20.2"]!;
    expect(pinned).toMatchObject({ image: first.image.ref, imageId: first.image.id });
    const matrix = kn(["matrix", "--catalog", catalog, "--line", "1.20"]);
    expect(matrix.code, matrix.stderr).toBe(0);
    expect(JSON.parse(matrix.stdout)).toEqual([expect.objectContaining({ version: "1.20.2", image: first.image.ref })]);
  });

  it("retagging the registry's tag to other content does not change what a pinned rebuild uses", () => {
    // Other content under the same tag in the registry.
    const other = `kn-registry-test-${port}:other`;
    must(["build", "-q", "-t", other, "-"], `FROM ${local}\nLABEL io.github.kubelet-nokmem.test=retagged-${port}\n`);
    madeImages.push(other);
    must(["tag", other, tag]);
    must(["push", tag]);
    forgetRegistryNames();
    must(["pull", tag]);
    expect(imageId(tag)).toBe(imageId(other));
    expect(imageId(tag)).not.toBe(first.image.id);
    // Nothing of the pinned image is known by its registry name here any more: the rebuild must pull it by digest.
    forgetRegistryNames();

    const dry = build("out-pinned", ["--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).plan.image).toMatchObject({ rule: "pin", ref: first.image.ref, pinnedId: first.image.id });

    const r = build("out-pinned");
    expect(r.code, r.stderr).toBe(0);
    const rebuilt = JSON.parse(r.stdout);
    expect(rebuilt.image).toMatchObject({ rule: "pin", ref: first.image.ref, id: first.image.id, pulled: true });
    expect(rebuilt.sha256).toBe(first.sha256);
    const verified = kn(["verify", join(tmp, "out-pinned"), "--catalog", catalog, "--json"]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout).outcome).toBe("match");
  });
});
