/**
 * Ordinary environment failures (no permission, a full or read-only file
 * system, a symlink loop, a file where a folder belongs) end in one line
 * with the path and the fix and their own exit code, never "internal error"
 * (70). Real permission checks run the CLI as `nobody` (tests run as root,
 * which permission bits do not stop); full and read-only file systems are
 * real tmpfs and read-only bind mounts, unmounted after each test.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { errnoToolError } from "../../src/errors.js";
import { makeTree } from "../fixtures/k8s-tree.js";
import { tempDir } from "../helpers/tmp.js";
import { fakeKubelet, writeOutDir } from "../pin/outdir-fixture.js";
import { CLI, cli, ensureBuilt, expectOneLineError, HANG_TIMEOUT_MS, snapshot, type CliResult } from "./hangs-harness.js";

beforeAll(ensureBuilt, 180_000);

const REPO_CATALOG = join(import.meta.dirname, "../../versions.json");
const mounts: string[] = [];
afterEach(() => {
  while (mounts.length) spawnSync("umount", [mounts.pop()!]);
});

function mount(args: string[], at: string): void {
  execFileSync("mount", [...args, at]);
  mounts.push(at);
}

/** The CLI as the unprivileged user `nobody`: permission bits apply to it. */
function cliAsNobody(args: string[], cwd: string): CliResult {
  const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, CLI, ...args], {
    encoding: "utf8",
    cwd,
    timeout: HANG_TIMEOUT_MS,
    killSignal: "SIGKILL",
    env: { ...process.env, HOME: cwd, PATH: `/usr/lib/go-1.19/bin:${process.env.PATH}` },
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, hung: r.signal === "SIGKILL" };
}

/** A folder `nobody` may enter and write. */
function sharedDir(): string {
  const d = tempDir();
  chmodSync(d, 0o777);
  return d;
}

describe("errno → the environment's or the user's error, with path and fix", () => {
  it.each([
    ["EACCES", "open", 3, /expected permission to open \/x\/y, found permission denied \(EACCES\) \(fix: fix the permissions of \/x\/y/],
    ["EPERM", "unlink", 3, /expected permission to remove \/x\/y, found permission denied \(EPERM\)/],
    ["ENOSPC", "write", 3, /expected space to write \/x\/y, found the file system full \(ENOSPC\) \(fix: free space/],
    ["EROFS", "open", 3, /expected to open \/x\/y, found a read-only file system \(EROFS\)/],
    ["EEXIST", "mkdir", 2, /expected nothing in the way of \/x\/y, found something already there \(EEXIST\) \(fix: remove or rename \/x\/y/],
    ["ELOOP", "stat", 2, /expected \/x\/y to lead to a file or folder, found a symbolic link loop \(ELOOP\)/],
    ["ENOTDIR", "mkdir", 2, /expected a folder at \/x\/y \(or on the way to it\), found a file \(ENOTDIR\)/],
    ["EISDIR", "open", 2, /expected a file at \/x\/y, found a directory \(EISDIR\)/],
  ])("%s from %s: exit %i", (code, syscall, exit, message) => {
    const err = Object.assign(new Error(`${code}: ${syscall} '/x/y'`), { code, syscall, path: "/x/y" });
    const e = errnoToolError(err)!;
    expect(e.exitCode).toBe(exit);
    expect(e.oneLine()).toMatch(message);
  });

  it("anything else stays an internal error", () => {
    expect(errnoToolError(new Error("boom"))).toBeNull();
    expect(errnoToolError(Object.assign(new Error("x"), { code: "EWHATEVER" }))).toBeNull();
  });

  it("build --out that is a file, or a path through a file: exit 2 before anything starts", () => {
    const parent = tempDir();
    writeFileSync(join(parent, "outfile"), "mine\n");
    const before = snapshot(parent);
    const args = ["build", "--version", "1.16.15", "--runner", "local", "--source", join(parent, "nosuch"), "--cache-dir", join(parent, "cache")];
    expectOneLineError(
      cli([...args, "--out", join(parent, "outfile")]),
      2,
      /expected --out to be a folder \(or nothing yet\), found a file at .*outfile \(fix: pass another --out/,
    );
    expectOneLineError(
      cli([...args, "--out", join(parent, "outfile/x")]),
      2,
      /expected a folder at .*outfile\/x \(or on the way to it\), found a file \(ENOTDIR\)/,
    );
    expect(snapshot(parent)).toEqual(before);
  });

  it("build --out in a folder nobody may write: exit 3 naming it, not 70", async () => {
    const parent = sharedDir();
    const tree = await makeTree(join(parent, "k"), { era: "1.16", kind: "dir" });
    execFileSync("chmod", ["-R", "a+rX", parent]);
    const locked = join(parent, "locked");
    mkdirSync(locked, { mode: 0o755 });
    const before = snapshot(locked);
    const r = cliAsNobody(
      ["build", "--version", "1.16.15", "--runner", "local", "--source", tree.root, "--out", join(locked, "out"), "--cache-dir", join(parent, "cache")],
      parent,
    );
    expectOneLineError(
      r,
      3,
      /expected permission to create the folder .*locked\/out, found permission denied \(EACCES\) \(fix: fix the permissions of .*locked\/out/,
    );
    expect(snapshot(locked)).toEqual(before);
  });

  it("a catalog nobody may read: exit 5 with the fix", () => {
    const parent = sharedDir();
    const catalog = join(parent, "versions.json");
    copyFileSync(REPO_CATALOG, catalog);
    chmodSync(catalog, 0o600);
    const before = snapshot(parent);
    expectOneLineError(
      cliAsNobody(["resolve", "1.16", "--catalog", catalog], parent),
      5,
      /expected a readable catalog at .*versions\.json, found permission denied \(fix: make .*versions\.json readable/,
    );
    expect(snapshot(parent)).toEqual(before);
  });

  it("a version file on a full file system (ENOSPC): exit 3 naming the path, no temporary file left", async () => {
    const parent = tempDir();
    const tree = await makeTree(join(parent, "k"), { era: "1.16" });
    const full = join(parent, "full");
    mkdirSync(full);
    mount(["-t", "tmpfs", "-o", "size=16k", "tmpfs"], full);
    spawnSync("dd", ["if=/dev/zero", `of=${join(full, "filler")}`, "bs=4k", "count=64"]);
    const before = snapshot(full);
    const r = cli(["patch", tree.root, "--version-file", join(full, "version.env")]);
    expectOneLineError(r, 3, /expected space to write .*full\/version\.env, found the file system full \(ENOSPC\) \(fix: free space where/);
    expect(snapshot(full)).toEqual(before);
  });

  it("a catalog on a read-only file system (EROFS): pin exits 3 naming it, nothing changed", () => {
    const parent = tempDir();
    const ro = join(parent, "ro");
    mkdirSync(ro);
    copyFileSync(REPO_CATALOG, join(ro, "versions.json"));
    mount(["--bind", ro], ro);
    execFileSync("mount", ["-o", "remount,bind,ro", ro]);
    const out = join(parent, "out");
    writeOutDir(out, "1.16.15", { "linux/amd64": fakeKubelet("erofs") });
    const before = snapshot(parent);
    expectOneLineError(
      cli(["pin", out, "--catalog", join(ro, "versions.json")]),
      3,
      /found a read-only file system \(EROFS\) \(fix: choose a path on a writable file system/,
    );
    expect(snapshot(parent)).toEqual(before);
  });

  it("a symlink loop given as catalog, binary or tree: one line, exit 5 / 2 / 6", () => {
    const parent = tempDir();
    symlinkSync("b", join(parent, "a"));
    symlinkSync("a", join(parent, "b"));
    const loop = join(parent, "a");
    const before = snapshot(parent);
    expectOneLineError(cli(["resolve", "1.16", "--catalog", loop]), 5, /found a symbolic link loop/);
    expectOneLineError(cli(["verify", loop, "--version", "1.16.15"]), 2, /found a symbolic link loop/);
    expectOneLineError(cli(["patch", loop, "--version", "1.16.15"]), 6, /found a symbolic link loop/);
    expect(snapshot(parent)).toEqual(before);
  });
});
