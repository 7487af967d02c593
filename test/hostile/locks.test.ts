/**
 * Lock files a crash, a full disk or a hand edit leave behind: stale ones are
 * taken over (a patch or a pin then runs as usual), a live holder gives a
 * clear exit 9 naming it, and every wait is bounded and ends on a signal.
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { acquireLock } from "../../src/io/lock.js";
import { makeTree } from "../fixtures/k8s-tree.js";
import { CLI, cli, oneLineError, ROOT } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { fakeKubelet, writeOutDir } from "../pin/outdir-fixture.js";
import { STALE_LOCKS } from "./inputs.js";

/** The pid of a process that has ended. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", ""]);
  return r.pid;
}

const liveHolder = () => JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), purpose: "a test holding it" });

function outAndCatalog() {
  const dir = tempDir("kn-hostile-lock-");
  const out = join(dir, "out");
  writeOutDir(out, "1.16.15", { "linux/amd64": fakeKubelet("1.16.15") });
  const catalog = join(dir, "versions.json");
  copyFileSync(join(ROOT, "versions.json"), catalog);
  return { out, catalog };
}

describe.each(STALE_LOCKS)("a lock file $name", (lock) => {
  it("on a tree is taken over: patch runs and leaves no lock", async () => {
    const tree = await makeTree(join(tempDir("kn-hostile-lock-"), "k"), { era: "1.16" });
    mkdirSync(join(tree.root, ".kubelet-nokmem"));
    writeFileSync(join(tree.root, ".kubelet-nokmem/lock"), lock.content(deadPid()));
    const r = cli(["patch", tree.root]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(tree.root, ".kubelet-nokmem/lock"))).toBe(false);
  });

  it("on the catalog is taken over: pin runs and leaves no lock", () => {
    const { out, catalog } = outAndCatalog();
    writeFileSync(`${catalog}.lock`, lock.content(deadPid()));
    const r = cli(["pin", out, "--catalog", catalog]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(`${catalog}.lock`)).toBe(false);
  });
});

describe("a lock held by a live process", () => {
  it("patch exits 9 at once, naming the holder", async () => {
    const tree = await makeTree(join(tempDir("kn-hostile-lock-"), "k"), { era: "1.16" });
    mkdirSync(join(tree.root, ".kubelet-nokmem"));
    writeFileSync(join(tree.root, ".kubelet-nokmem/lock"), liveHolder());
    const r = cli(["patch", tree.root]);
    expect(r.code).toBe(9);
    expect(oneLineError(r)).toContain(`locked by process ${process.pid} on ${hostname()}`);
  });

  it.each([
    ["SIGINT", [130]],
    ["SIGTERM", [130, 143]],
  ] as const)("pin waits for it, and %s ends the wait with one line", async (signal, codes) => {
    const { out, catalog } = outAndCatalog();
    writeFileSync(`${catalog}.lock`, liveHolder());
    const child = spawn(process.execPath, [CLI, "pin", out, "--catalog", catalog], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    await new Promise<void>((resolve, reject) => {
      child.stderr.on("data", (d) => {
        stderr += String(d);
        if (stderr.includes("waiting for process")) resolve();
      });
      child.on("exit", (code) => reject(new Error(`pin ended (${code}) before waiting: ${stderr}`)));
    });
    child.removeAllListeners("exit");
    expect(stderr).toContain(`waiting for process ${process.pid} on ${hostname()} (a test holding it)`);
    const code = await new Promise<number | null>((resolve) => {
      child.on("exit", (c) => resolve(c));
      child.kill(signal);
    });
    expect(codes).toContain(code);
    expect(stderr.trim().split("\n").at(-1)).toMatch(/^kubelet-nokmem: interrupted while waiting for /);
    expect(existsSync(`${catalog}.lock`)).toBe(true); // the holder's lock is left alone
  });

  it("a bounded wait ends with BusyError naming the holder", async () => {
    const path = join(tempDir("kn-hostile-lock-"), "x.lock");
    writeFileSync(path, liveHolder());
    await expect(acquireLock(path, { what: "the thing", wait: true, waitMs: 1, pollMs: 1 })).rejects.toMatchObject({
      code: "E_BUSY",
      exitCode: 9,
      message: expect.stringContaining(`still locked by process ${process.pid} on ${hostname()}`),
    });
  });

  it("a lock whose pid now belongs to another process (a reused pid) is stale", async () => {
    const path = join(tempDir("kn-hostile-lock-"), "x.lock");
    writeFileSync(path, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: "2020-01-01T00:00:00Z", purpose: "", pidStart: 1 }));
    const lock = await acquireLock(path, { what: "the thing" });
    await lock.release();
    expect(existsSync(path)).toBe(false);
  });

  it("a holder on another host is never judged stale", async () => {
    const path = join(tempDir("kn-hostile-lock-"), "x.lock");
    writeFileSync(path, JSON.stringify({ pid: deadPid(), host: `not-${hostname()}`, startedAt: "2020-01-01T00:00:00Z", purpose: "" }));
    await expect(acquireLock(path, { what: "the thing" })).rejects.toMatchObject({ code: "E_BUSY" });
  });
});
