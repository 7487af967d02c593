/**
 * SIGINT and SIGTERM at real points of real runs: each run ends by itself
 * with 130 (SIGINT) or 143 (SIGTERM), one line saying so, its locks
 * released, and no process it started left running (the process groups
 * of its children are checked through /proc).
 */
import { closeSync, copyFileSync, existsSync, ftruncateSync, openSync, readdirSync, readlinkSync, writeFileSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeTree, RUNC_FS } from "../fixtures/k8s-tree.js";
import { envWithGo, tempDir } from "../helpers/tmp.js";
import { fakeKubelet, writeOutDir } from "../pin/outdir-fixture.js";
import { awaitGone, cli, descendants, ended, ensureBuilt, snapshot, start, waitFor, type Running } from "./hangs-harness.js";

beforeAll(ensureBuilt, 180_000);

const SIGNALS = [
  ["SIGINT", 130, /SIGINT/],
  ["SIGTERM", 143, /SIGTERM/],
] as const;

function expectStopped(r: Running, result: { code: number | null; signal: NodeJS.Signals | null }, code: number, message: RegExp): void {
  expect(result, r.stderr()).toEqual({ code, signal: null });
  const errors = r
    .stderr()
    .split("\n")
    .filter((l) => l.startsWith("kubelet-nokmem: "));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(message);
  expect(errors[0]).not.toMatch(/internal error/);
}

/** Wait until the process has `path` open (it is reading it). */
async function waitUntilOpen(r: Running, path: string): Promise<void> {
  for (;;) {
    if (r.child.exitCode !== null) throw new Error(`the run ended before opening ${path}: ${r.stderr()}`);
    const fds = (() => {
      try {
        return readdirSync(`/proc/${r.child.pid}/fd`);
      } catch {
        return [];
      }
    })();
    if (
      fds.some((fd) => {
        try {
          return readlinkSync(`/proc/${r.child.pid}/fd/${fd}`) === path;
        } catch {
          return false;
        }
      })
    )
      return;
    await new Promise((res) => setTimeout(res, 20));
  }
}

describe.each(SIGNALS)("%s", (signal, code, message) => {
  it(`patch paused in the middle of its journalled write: finishes the write, releases the lock, exits ${code}`, async () => {
    const parent = tempDir();
    const tree = await makeTree(join(parent, "k"), { era: "1.16" });
    const r = start(["patch", tree.root], { env: { KUBELET_NOKMEM_PAUSE_AFTER_FILES: "1" } });
    await waitFor(r, /paused after 1 file/);
    r.child.kill(signal);
    expectStopped(r, await ended(r), code, message);
    // All or nothing: the series is in whole, the lock and the journal are gone.
    expect(existsSync(join(tree.root, ".kubelet-nokmem/lock"))).toBe(false);
    expect(existsSync(join(tree.root, ".kubelet-nokmem/journal.json"))).toBe(false);
    const check = cli(["patch", tree.root, "--check"]);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^already applied/);
  });

  it(`pin waiting for the catalog's lock: exits ${code}, the other run's lock and the catalog untouched`, () => {
    return (async () => {
      const parent = tempDir();
      const catalog = join(parent, "versions.json");
      copyFileSync(join(import.meta.dirname, "../../versions.json"), catalog);
      // Held by a live process on this host (this test runner): never stale, so pin waits.
      writeFileSync(`${catalog}.lock`, `${JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), purpose: "test" })}\n`);
      const out = join(parent, "out");
      writeOutDir(out, "1.16.15", { "linux/amd64": fakeKubelet("signals") });
      const before = snapshot(parent);
      const r = start(["pin", out, "--catalog", catalog]);
      await waitFor(r, /waiting for process \d+ .*to release/);
      r.child.kill(signal);
      expectStopped(r, await ended(r), code, message);
      expect(snapshot(parent)).toEqual(before);
    })();
  });

  it(`audit in the middle of reading a large file: exits ${code}, not 70`, async () => {
    const parent = tempDir();
    const path = join(parent, "kubelet");
    const header = Buffer.alloc(64);
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(header);
    header.writeUInt16LE(2, 16);
    header.writeUInt16LE(62, 18);
    header.writeUInt32LE(1, 20);
    const fd = openSync(path, "w");
    writeSync(fd, header);
    ftruncateSync(fd, 8 * 1024 * 1024 * 1024); // sparse 8 GiB: reading it takes far longer than the signal
    closeSync(fd);
    const r = start(["audit", path]);
    await waitUntilOpen(r, path);
    r.child.kill(signal);
    expectStopped(r, await ended(r), code, message);
  });

  it(`build --runner local during make: exits ${code}, make and its children are gone, nothing published`, async () => {
    const parent = tempDir();
    const tree = await makeTree(join(parent, "k"), { era: "1.20", version: "1.20.15", kind: "dir", sleepSeconds: 600 });
    const out = join(parent, "out");
    const r = start(
      ["build", "--version", "1.20.15", "--runner", "local", "--source", tree.root, "--out", out, "--cache-dir", join(parent, "cache"), "--verbose"],
      {
        env: { PATH: envWithGo().PATH! },
      },
    );
    // make → build.sh → sleep: the whole chain is running.
    let procs = descendants(r.child.pid!);
    while (!procs.some((p) => p.comm === "sleep")) {
      if (r.child.exitCode !== null) throw new Error(`the build ended before make started: ${r.stderr()}`);
      await new Promise((res) => setTimeout(res, 100));
      procs = descendants(r.child.pid!);
    }
    expect(procs.map((p) => p.comm)).toEqual(expect.arrayContaining(["make", "sleep"]));
    r.child.kill(signal);
    expectStopped(r, await ended(r), code, /interrupted|SIGINT|SIGTERM/);
    expect(await awaitGone(procs)).toEqual([]);
    expect(existsSync(out)).toBe(false);
    // The staged work folder is cleaned up too.
    expect(readdirSync(join(parent, "cache/work"))).toEqual([]);
  });
});

void RUNC_FS;
