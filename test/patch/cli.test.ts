/**
 * `kubelet-nokmem patch` as a child process: the JSON contract, exit codes,
 * the diff --dry-run prints, and a run killed in the middle of a series.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeTree, RUNC_FS } from "../fixtures/k8s-tree.js";
import { tempDir } from "../helpers/tmp.js";
import { snapshot } from "./helpers.js";

const ROOT = join(import.meta.dirname, "../..");
const CLI = join(ROOT, "dist/cli.js");
const KMEM_GO = `${RUNC_FS}/kmem.go`;
const VERSION_SH = "hack/lib/version.sh";

beforeAll(() => {
  execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "pipe" });
}, 120_000);

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, lastErr: r.stderr.trim().split("\n").at(-1) ?? "" };
}

describe("patch --json", () => {
  it("reports strategy, applied, alreadyApplied and files; a re-run exits 0 and writes nothing", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.13" });
    const first = cli(["patch", tree.root, "--json"]);
    expect(first.code).toBe(0);
    const j = JSON.parse(first.stdout);
    expect(j).toMatchObject({
      strategy: "vendor-stub",
      series: "vendor-stub/1.13",
      version: "1.13.12",
      operation: "apply",
      mode: "write",
      applied: true,
      alreadyApplied: false,
    });
    expect(j.files).toEqual([
      {
        path: `${RUNC_FS}/memory.go`,
        state: "changed",
        before: expect.any(String),
        after: expect.any(String),
        patches: ["../common/0001-stub-kmem-functions-in-memory-go.patch"],
      },
    ]);
    expect(j.versionFile).toMatchObject({ treePath: "_output/kubelet-nokmem/version.env", gitVersion: "v1.13.12", commit: tree.commit, written: true });
    const patched = snapshot(tree.root);
    const again = cli(["patch", tree.root, "--json"]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      applied: false,
      alreadyApplied: true,
      files: [{ state: "unchanged", before: j.files[0].before, after: j.files[0].after }],
    });
    expect(snapshot(tree.root)).toEqual(patched);
  });

  it("an error is one line on stderr and {error} on stdout, with the drift problems", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16" });
    rmSync(join(tree.root, `${RUNC_FS}/kmem_disabled.go`));
    const before = snapshot(tree.root);
    const r = cli(["patch", tree.root, "--json"]);
    expect(r.code).toBe(7);
    expect(r.lastErr).toMatch(
      /^kubelet-nokmem: expected kmem-override\/1\.16 to apply cleanly, found 1 problem in .*kmem_disabled\.go; nothing was changed \(fix: restore/,
    );
    const j = JSON.parse(r.stdout);
    expect(j.error).toMatchObject({ code: "E_PATCH_DRIFT", exitCode: 7 });
    expect(j.error.problems[0].message).toBe(`expected ${RUNC_FS}/kmem_disabled.go (the replacement's source) to exist, found no such file`);
    expect(snapshot(tree.root)).toEqual(before);
  });
});

describe("patch modes", () => {
  it("--check exits 0 and writes nothing; --dry-run prints a diff git apply accepts, equal to the real apply", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.13", memoryGoVariant: 1 });
    const before = snapshot(tree.root);
    const check = cli(["patch", tree.root, "--check"]);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/^applies cleanly \(v1\.13\.12/);
    const dry = cli(["patch", tree.root, "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(snapshot(tree.root)).toEqual(before);
    const copy = join(tempDir(), "copy");
    execFileSync("cp", ["-a", tree.root, copy]);
    execFileSync("git", ["apply"], { cwd: copy, input: dry.stdout });
    expect(cli(["patch", tree.root]).code).toBe(0);
    const mem = `${RUNC_FS}/memory.go`;
    expect(readFileSync(join(tree.root, mem), "utf8")).toBe(readFileSync(join(copy, mem), "utf8"));
    expect(cli(["patch", tree.root, "--check"]).stdout).toMatch(/^already applied/);
    expect(cli(["patch", tree.root, "--dry-run"]).stdout).toBe("");
  });

  it("--revert restores the original bytes; a second --revert has nothing to do", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16" });
    const original = readFileSync(join(tree.root, KMEM_GO));
    expect(cli(["patch", tree.root, "--edit-version-sh"]).code).toBe(0);
    const r = cli(["patch", tree.root, "--revert"]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(tree.root, KMEM_GO)).equals(original)).toBe(true);
    expect(execFileSync("git", ["status", "--porcelain", "--untracked-files=all"], { cwd: tree.root, encoding: "utf8" })).toBe("");
    expect(cli(["patch", tree.root, "--revert"]).stdout).toMatch(/^not applied/);
  });

  it("the release comes from the tree; --version must agree with it, and a plain folder needs it", async () => {
    const git = await makeTree(join(tempDir(), "k"), { era: "1.16" });
    const wrong = cli(["patch", git.root, "--version", "1.13.12"]);
    expect(wrong.code).toBe(2);
    expect(wrong.lastErr).toBe(
      "kubelet-nokmem: expected --version to name the release the tree is, found --version 1.13.12 but the tree says v1.16.15 (git describe); nothing was changed (fix: drop --version, or pass --version 1.16.15)",
    );
    expect(JSON.parse(cli(["patch", git.root, "--version", "1.13.12", "--json"]).stdout)).toMatchObject({ error: { code: "E_VERSION_MISMATCH" } });
    const dir = await makeTree(join(tempDir(), "d"), { era: "1.16", kind: "dir" });
    const none = cli(["patch", dir.root]);
    expect(none.code).toBe(2);
    expect(none.lastErr).toMatch(/^kubelet-nokmem: expected the tree to say which release it is .* \(fix: pass --version/);
    const given = cli(["patch", dir.root, "--version", "v1.16.15", "--commit", "0123456789abcdef0123456789abcdef01234567", "--version-suffix", "nokmem.1"]);
    expect(given.code).toBe(0);
    expect(readFileSync(join(dir.root, "_output/kubelet-nokmem/version.env"), "utf8")).toContain("KUBE_GIT_VERSION='v1.16.15+nokmem.1'");
    const archive = await makeTree(join(tempDir(), "a"), { era: "1.16", kind: "archive" });
    expect(JSON.parse(cli(["patch", archive.root, "--json"]).stdout).versionFile.commit).toBe(archive.commit);
  });

  it("rejects a bad --fuzz with a usage error", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16" });
    const r = cli(["patch", tree.root, "--fuzz", "-1"]);
    expect(r.code).toBe(2);
  });
});

describe("killed in the middle of a series", () => {
  /** Start a run that stops after `files` files, wait until it says so, SIGKILL it. */
  async function killAfter(args: string[], files: number): Promise<void> {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, KUBELET_NOKMEM_PAUSE_AFTER_FILES: String(files) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    await new Promise<void>((resolve, reject) => {
      let err = "";
      child.stderr.on("data", (d) => {
        err += String(d);
        if (err.includes(`paused after ${files} file`)) resolve();
      });
      child.on("exit", (code) => reject(new Error(`the run ended (${code}) before pausing: ${err}`)));
    });
    child.removeAllListeners("exit");
    const gone = new Promise((resolve) => child.on("exit", resolve));
    child.kill("SIGKILL");
    await gone;
  }

  it("the next writing run finishes an apply (a --check before it only says so): the tree ends fully patched", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16" });
    const done = await makeTree(join(tempDir(), "ref"), { era: "1.16" });
    expect(cli(["patch", done.root, "--edit-version-sh"]).code).toBe(0);
    const original = snapshot(tree.root);

    await killAfter(["patch", tree.root, "--edit-version-sh"], 1);
    // Half-way: kmem.go is written, version.sh and the record are not.
    expect(readFileSync(join(tree.root, KMEM_GO), "utf8")).toBe(readFileSync(join(done.root, KMEM_GO), "utf8"));
    expect(readFileSync(join(tree.root, VERSION_SH), "utf8")).toBe(Buffer.from(original[VERSION_SH]!.split(" ")[1]!, "base64").toString());
    expect(existsSync(join(tree.root, ".kubelet-nokmem/journal.json"))).toBe(true);

    const halfway = snapshot(tree.root);
    const check = cli(["patch", tree.root, "--check", "--edit-version-sh"]);
    expect(check.code).toBe(6);
    expect(check.lastErr).toContain("found .kubelet-nokmem/journal.json left by an interrupted apply; nothing was changed");
    expect(snapshot(tree.root)).toEqual(halfway);
    const next = cli(["patch", tree.root, "--edit-version-sh"]);
    expect(next.code).toBe(0);
    expect(next.stderr).toContain("recovered an interrupted apply: finished");
    expect(next.stdout).toMatch(/^already applied/);
    for (const f of [KMEM_GO, VERSION_SH, ".kubelet-nokmem/applied.json"]) {
      expect(readFileSync(join(tree.root, f), "utf8"), f).toBe(readFileSync(join(done.root, f), "utf8"));
    }
    expect(existsSync(join(tree.root, ".kubelet-nokmem/journal.json"))).toBe(false);
    expect(existsSync(join(tree.root, ".kubelet-nokmem/txn"))).toBe(false);
  });

  it("a revert killed midway is finished by the next run: the tree ends untouched", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16" });
    const original = snapshot(tree.root);
    expect(cli(["patch", tree.root, "--edit-version-sh", "--version-file", join(tempDir(), "v")]).code).toBe(0);
    await killAfter(["patch", tree.root, "--revert"], 2);
    const next = cli(["patch", tree.root, "--revert"]);
    expect(next.code).toBe(0);
    expect(next.stderr).toContain("recovered an interrupted revert: finished");
    expect(snapshot(tree.root)).toEqual(original);
  });

  it("when the stash of the new bytes is damaged, the next run rolls back: the tree ends untouched", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16" });
    const original = snapshot(tree.root);
    await killAfter(["patch", tree.root, "--edit-version-sh", "--version-file", join(tempDir(), "v")], 1);
    writeFileSync(join(tree.root, ".kubelet-nokmem/txn/1.after"), "damaged");
    const next = cli(["patch", tree.root, "--revert"]);
    expect(next.stderr).toContain("recovered an interrupted apply: rolled-back");
    expect(snapshot(tree.root)).toEqual(original);
  });

  it("a second run while one holds the tree is refused as busy", async () => {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16" });
    const child = spawn(process.execPath, [CLI, "patch", tree.root, "--edit-version-sh"], {
      env: { ...process.env, KUBELET_NOKMEM_PAUSE_AFTER_FILES: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      await new Promise<void>((resolve) => child.stderr.on("data", (d) => String(d).includes("paused") && resolve()));
      const r = cli(["patch", tree.root]);
      expect(r.code).toBe(9);
      expect(r.lastErr).toMatch(/expected the tree .* to be free, found it locked by process \d+/);
    } finally {
      const gone = new Promise((resolve) => child.on("exit", resolve));
      child.kill("SIGKILL");
      await gone;
    }
  });
});
