/**
 * The whole build, for real: the CLI as a child process, real git, real
 * Docker with the offline toolchain image, real make and go build.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeGitArchive, makeTree, type Tree } from "../fixtures/k8s-tree.js";

const CLI = resolve("dist/cli.js");
const IMAGE = process.env.KUBELET_NOKMEM_TEST_IMAGE ?? "kubelet-nokmem-toolchain:go1.19";
const GO_PATH = `/usr/lib/go-1.19/bin:${process.env.PATH}`;

let tmp: string;
let cache: string;
let repo: Tree;

beforeAll(async () => {
  if (!existsSync(CLI)) execFileSync("npm", ["run", "build"], { stdio: "inherit" });
  tmp = mkdtempSync(join(tmpdir(), "kn-build-"));
  cache = join(tmp, "cache");
  repo = await makeTree(join(tmp, "repo"), { era: "1.20", version: "1.20.15", commitTime: 1_600_000_000 });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}, onStart?: (child: ChildProcess) => void): Promise<CliRun> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => res({ code, stdout, stderr }));
    onStart?.(child);
  });
}

const buildArgs = (out: string, extra: string[] = []) => ["build", "--version", "1.20.15", "--image", IMAGE, "--cache-dir", cache, "--out", out, ...extra];

function containersNamed(prefix: string): string[] {
  return execFileSync("docker", ["ps", "-a", "--filter", `name=${prefix}`, "--format", "{{.Names}}"], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
}

describe("build in Docker", () => {
  let first: { kubelet: string; sha256: string; manifest: string; verdict: string; out: string; source: { commit: string; treeDigest: string } };

  it("builds a nokmem kubelet from a git repository, verifies it and publishes it atomically", async () => {
    const out = join(tmp, "out-git");
    const r = await cli([...buildArgs(out), "--source", repo.root, "--json"]);
    expect(r.stderr).toContain("[5/8] make");
    expect(r.code, r.stderr).toBe(0);
    first = JSON.parse(r.stdout);
    expect(first).toMatchObject({ version: "v1.20.15", strategy: "build-tag", verdict: "patched", kubelet: join(out, "linux/amd64/kubelet") });
    expect(first.source.commit).toBe(repo.commit);
    expect(readdirSync(out).sort()).toEqual(["SHA256SUMS", "build.log", "linux", "manifest.json", "verdict.json"]);
    expect(execFileSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: out, encoding: "utf8" })).toBe("linux/amd64/kubelet: OK\n");
    expect(execFileSync(first.kubelet, ["--version"], { encoding: "utf8" })).toBe("Kubernetes v1.20.15\n");
    const probe = mkdtempSync(join(tmp, "cg-"));
    expect(execFileSync(first.kubelet, ["kmem-probe", probe], { encoding: "utf8" })).toBe("kmem: disabled\n");
    expect(existsSync(join(probe, "memory.kmem.limit_in_bytes"))).toBe(false);
    const m = JSON.parse(readFileSync(first.manifest, "utf8"));
    expect(m._type).toBe("https://in-toto.io/Statement/v1");
    expect(m.subject).toEqual([{ name: "linux/amd64/kubelet", digest: { sha256: first.sha256 } }]);
    expect(m.predicate.buildDefinition.internalParameters.env).toMatchObject({ GOFLAGS: "-tags=nokmem", SOURCE_DATE_EPOCH: "1600000000" });
    expect(m.predicate.buildDefinition.internalParameters.goVersion).toMatch(/^1\.19/);
    expect(JSON.parse(readFileSync(join(out, "verdict.json"), "utf8")).predicate.verdict).toBe("patched");
    expect(readFileSync(join(out, "build.log"), "utf8")).toContain("Building go targets for linux/amd64: cmd/kubelet");
    // Nothing left behind: no container, no staged tree, no lock.
    expect(containersNamed("kubelet-nokmem-build-")).toEqual([]);
    expect(readdirSync(join(cache, "work"))).toEqual([]);
  });

  it("builds the same bytes again from a git-archive tarball of the same tag (reproducible)", async () => {
    const tarball = makeGitArchive(repo, join(tmp, "kubernetes-src.tar.gz"));
    const out = join(tmp, "out-tar");
    const r = await cli([...buildArgs(out), "--source", tarball, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const second = JSON.parse(r.stdout);
    // The tree digests differ (git archive bakes the commit into hack/lib/version.sh), the kubelet does not.
    expect(second.source).toMatchObject({ kind: "archive", commit: repo.commit });
    expect(second.source.treeDigest).not.toBe(first.source.treeDigest);
    expect(second.sha256).toBe(first.sha256);
  });

  it("fails verification and publishes nothing when the build harness drops the tag", async () => {
    const trap = await makeTree(join(tmp, "trap"), { era: "1.20", version: "1.20.15", kind: "dir", dropsTag: true });
    const out = join(tmp, "out-trap");
    const r = await cli([...buildArgs(out), "--source", trap.root, "--source-date-epoch", "1600000000"]);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(
      /expected a kubelet the audit judges patched, stamped v1.20.15; found linux\/amd64: unpatched \(kmem-enabled code in the binary\)/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it("stops the container on SIGINT, publishes nothing, exits 130; a second build into the same --out meanwhile is refused; the next build succeeds", async () => {
    const slow = await makeTree(join(tmp, "slow"), { era: "1.20", version: "1.20.15", sleepSeconds: 120 });
    const out = join(tmp, "out-abort");
    let busy: CliRun | undefined;
    const r = await cli([...buildArgs(out), "--source", slow.root], {}, (child) => {
      // The interval drops the promise; the test awaits the CLI run and checks `busy` after it.
      // eslint-disable-next-line @typescript-eslint/no-misused-promises
      const poll = setInterval(async () => {
        if (containersNamed("kubelet-nokmem-build-").length === 0) return;
        clearInterval(poll);
        busy = await cli([...buildArgs(out), "--source", slow.root]);
        child.kill("SIGINT");
      }, 500);
      child.on("exit", () => clearInterval(poll));
    });
    expect(busy?.code, busy?.stderr).toBe(9);
    expect(busy?.stderr).toMatch(/expected the output folder .* to be free, found it locked by process/);
    expect(r.code, r.stderr).toBe(130);
    expect(containersNamed("kubelet-nokmem-build-")).toEqual([]);
    expect(existsSync(out)).toBe(false);
    const again = await cli([...buildArgs(out), "--source", repo.root, "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).sha256).toBe(first.sha256);
  });
});

describe("several platforms", () => {
  it("publishes one kubelet per platform under OUT/<os>/<arch>/ with one SHA256SUMS", async () => {
    const out = join(tmp, "out-multi");
    const r = await cli([...buildArgs(out), "--source", repo.root, "--platform", "linux/amd64,linux/arm64", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.binaries.map((b: { platform: string }) => b.platform)).toEqual(["linux/amd64", "linux/arm64"]);
    expect(execFileSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: out, encoding: "utf8" })).toBe("linux/amd64/kubelet: OK\nlinux/arm64/kubelet: OK\n");
    // ELF e_machine: 0x3e x86-64, 0xb7 AArch64.
    const machine = (p: string) => readFileSync(join(out, p)).readUInt16LE(18);
    expect([machine("linux/amd64/kubelet"), machine("linux/arm64/kubelet")]).toEqual([0x3e, 0xb7]);
    const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(m.subject.map((s: { name: string }) => s.name)).toEqual(["linux/amd64/kubelet", "linux/arm64/kubelet"]);
  });
});

describe("build with --runner local", () => {
  it("runs the same make on the host with Go on PATH", async () => {
    const out = join(tmp, "out-local");
    const r = await cli(["build", "--version", "1.20.15", "--runner", "local", "--cache-dir", cache, "--out", out, "--source", repo.root, "--json"], {
      PATH: GO_PATH,
    });
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ runner: "local", verdict: "patched" });
    expect(execFileSync(j.kubelet, ["--version"], { encoding: "utf8" })).toBe("Kubernetes v1.20.15\n");
    expect(execFileSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: out, encoding: "utf8" })).toBe("linux/amd64/kubelet: OK\n");
  });
});
