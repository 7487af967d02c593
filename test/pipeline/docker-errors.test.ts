/**
 * The errors a person meets when Docker is not usable, through the real CLI
 * entry point (in-process) and the real docker client.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../src/cli.js";
import type { Io } from "../../src/commands/context.js";

function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t), progress: (t) => err.push(t), isTTY: false };
  return { io, out, err };
}

let tmp: string;
const saved = { ...process.env };
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "kn-docker-errors-"));
});
afterEach(() => {
  process.env = { ...saved };
  rmSync(tmp, { recursive: true, force: true });
});

const build = (extra: string[] = []) => [
  "build",
  "--version",
  "1.20.15",
  "--source",
  tmp,
  "--cache-dir",
  join(tmp, "cache"),
  "--out",
  join(tmp, "out"),
  ...extra,
];

describe("Docker problems are environment errors (exit 3) that say how to fix them", () => {
  it("no docker client on PATH", async () => {
    // A PATH with git and tar but no docker.
    const bin = join(tmp, "bin");
    rmSync(bin, { force: true, recursive: true });
    mkdirSync(bin);
    for (const tool of ["git", "tar"]) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
    process.env.PATH = bin;
    const { io, err } = captureIo();
    expect(await main(build(["--image", "whatever:1"]), io)).toBe(3);
    expect(err.join("\n")).toMatch(/expected the `docker` client on PATH, found nothing \(fix: install Docker/);
  });

  it("daemon not running (DOCKER_HOST at a dead socket)", async () => {
    process.env.DOCKER_HOST = `unix://${join(tmp, "dead.sock")}`;
    const { io, err, out } = captureIo();
    expect(await main([...build(["--image", "whatever:1"]), "--json"], io)).toBe(3);
    expect(err.join("\n")).toMatch(/expected a running Docker daemon at unix:\/\/.*dead\.sock, found none answering \(fix: start it/);
    expect(JSON.parse(out.join("\n")).error).toMatchObject({ code: "E_DOCKER_DAEMON", exitCode: 3 });
  });

  it("image missing locally", async () => {
    const { io, err } = captureIo();
    expect(await main(build(["--image", "kubelet-nokmem-no-such-image:1"]), io)).toBe(3);
    expect(err.join("\n")).toMatch(
      /expected the build image kubelet-nokmem-no-such-image:1 on this machine, found no such image \(fix: build it offline with `kubelet-nokmem image build --tag kubelet-nokmem-no-such-image:1`, or `docker pull/,
    );
  });

  it("image check says the same for a missing image", async () => {
    const { io, err } = captureIo();
    expect(await main(["image", "check", "kubelet-nokmem-no-such-image:1"], io)).toBe(3);
    expect(err.join("\n")).toMatch(/E?expected the build image/);
  });

  it("nothing is left in --out after a preflight failure", async () => {
    const { io } = captureIo();
    await main(build(["--image", "kubelet-nokmem-no-such-image:1"]), io);
    expect(existsSync(join(tmp, "out"))).toBe(false);
  });
});

describe("usage errors (exit 2)", () => {
  it.each([
    [["build", "--version", "1.20"], /exact release/],
    [["build", "--version", "1.20.15", "--platform", "windows/amd64"], /expected platforms/],
    [["build", "--version", "1.20.15", "--runner", "podman"], /expected --runner docker or local/],
    [["build", "--version", "1.20.15", "--source-date-epoch", "yesterday"], /whole seconds/],
    [["build", "--version", "1.20.15", "--source", "/nonexistent/k8s"], /found nothing at/],
  ])("%j", async (args, re) => {
    const { io, err } = captureIo();
    expect(await main([...args, "--image", "kubelet-nokmem-toolchain:go1.19", "--out", join(tmp, "out")], io)).toBe(2);
    expect(err.join("\n")).toMatch(re);
  });
});

describe("--dry-run", () => {
  it("prints the plan as JSON and touches nothing", async () => {
    const { io, out } = captureIo();
    expect(
      await main(
        [
          "build",
          "--version",
          "v1.16.15",
          "--dry-run",
          "--json",
          "--image",
          "kubelet-nokmem-toolchain:go1.19",
          "--out",
          join(tmp, "out"),
          "--source-date-epoch",
          "7",
        ],
        io,
      ),
    ).toBe(0);
    const j = JSON.parse(out.join("\n"));
    expect(j.plan).toMatchObject({ version: "1.16.15", strategy: "kmem-override", runner: "docker", command: ["make", "WHAT=cmd/kubelet"] });
    expect(j.argv.slice(0, 4)).toEqual(["docker", "run", "--rm", "--name"]);
    expect(j.argv).toContain("SOURCE_DATE_EPOCH=7");
    expect(j.source).toEqual({ kind: "git", origin: "https://github.com/kubernetes/kubernetes.git", ref: "v1.16.15" });
    expect(existsSync(join(tmp, "out"))).toBe(false);
  });
});

describe("image build preflight", () => {
  it("says to run as root when it is not", async () => {
    if (process.getuid?.() !== 0) return; // needs root to start the CLI as someone else
    const { spawnSync } = await import("node:child_process");
    const path = await import("node:path");
    const cli = path.resolve("dist/cli.js");
    if (!existsSync(cli)) return; // built by `npm test` before the suites run
    const r = spawnSync(process.execPath, [cli, "image", "build", "--json"], { uid: 65534, gid: 65534, encoding: "utf8", cwd: "/" });
    expect(r.status, r.stderr).toBe(3);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: "E_NOT_ROOT", hint: "run `sudo kubelet-nokmem image build`" });
  });
});
