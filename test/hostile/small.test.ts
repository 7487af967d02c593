/**
 * Issue 15's smaller hostile inputs: a key given twice in the catalog, an
 * empty --platform, an image name that looks like an option, an ELF header
 * claiming 4 GiB of section headers, a 32 MiB memory.go, escape sequences in
 * a node's hostname, and commander's own usage errors under --json.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, closeSync, copyFileSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeTree, RUNC_FS } from "../fixtures/k8s-tree.js";
import { tempDir } from "../helpers/tmp.js";
import { CLI, cli, ensureBuilt, expectOneLineError, HANG_TIMEOUT_MS, snapshot } from "./hangs-harness.js";

beforeAll(ensureBuilt, 180_000);

const REPO_CATALOG = join(import.meta.dirname, "../../versions.json");

/** Run the CLI in a process that reports its own peak memory (maxRSS, in MiB) on its last stderr line. */
function cliWithPeakMemory(args: string[]): { code: number | null; stderr: string; stdout: string; peakMiB: number } {
  const script = `const { main } = await import(${JSON.stringify(CLI)}); const code = await main(process.argv.slice(1)); process.stderr.write("maxRSS=" + Math.round(process.resourceUsage().maxRSS / 1024) + "\\n"); process.exitCode = code;`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script, ...args], {
    encoding: "utf8",
    timeout: HANG_TIMEOUT_MS * 3,
    killSignal: "SIGKILL",
  });
  const peak = Number(/maxRSS=(\d+)/.exec(r.stderr)?.[1] ?? NaN);
  return { code: r.status, stderr: r.stderr.replace(/maxRSS=\d+\n$/, ""), stdout: r.stdout, peakMiB: peak };
}

describe("the catalog: each key once", () => {
  it.each([
    ['a second top-level "lines"', (t: string) => t.replace(/^\{/, '{\n  "lines": [],'), /at \/: expected each key once, found "lines" twice/],
    [
      "a key twice inside a line",
      (t: string) => t.replace(/"line": "1\.16",/, '"line": "1.16", "line": "1.16",'),
      /at \/lines\/\d+: expected each key once, found "line" twice/,
    ],
  ])("%s: exit 5, one line naming the key and where", (_what, edit, message) => {
    const parent = tempDir();
    const catalog = join(parent, "versions.json");
    const text = edit(readFileSync(REPO_CATALOG, "utf8"));
    expect(text).not.toBe(readFileSync(REPO_CATALOG, "utf8"));
    writeFileSync(catalog, text);
    const before = snapshot(parent);
    expectOneLineError(cli(["resolve", "1.16", "--catalog", catalog]), 5, message);
    expect(snapshot(parent)).toEqual(before);
  });
});

describe("flags that would silently mean something else", () => {
  it.each([
    [["build", "--version", "1.16.15", "--platform", "", "--dry-run"]],
    [["build", "--version", "1.16.15", "--platform", ",", "--dry-run"]],
    [["verify", "/bin/true", "--version", "1.16.15", "--platform", ""]],
  ])("%j: a usage error, not linux/amd64", (args) => {
    expectOneLineError(cli(args), 2, /expected (at least one platform|platforms such as linux\/amd64|platforms among linux\/amd64)/);
  });

  it.each(["-v", "--privileged", "-", "UPPER/case", "Upper", "a b", "image:tag:tag", "host:notaport/x"])(
    "build --image %j: exit 2 before docker is asked",
    (image) => {
      const parent = tempDir();
      expectOneLineError(
        cli(["build", "--version", "1.16.15", `--image=${image}`, "--out", join(parent, "out"), "--cache-dir", join(parent, "c")]),
        2,
        /expected --image to be an image reference/,
      );
      expect(snapshot(parent)).toEqual({});
    },
  );

  it("image check of a name starting with '-': exit 2, never an option to docker", () => {
    expectOneLineError(cli(["image", "check", "--", "--help"]), 2, /expected --image to be an image reference .*found "--help"/);
  });
});

describe("commander's own usage errors keep the --json contract", () => {
  it.each([
    [["resolve", "1.16", "--bogus", "--json"], /unknown option '--bogus'/],
    [["verify", "--json"], /missing required argument/],
    [["patch", "/tmp", "--fuzz", "--json"], /expected --fuzz to be a small whole number/],
    [["doctor", "--json", "--no-such-flag"], /unknown option '--no-such-flag'/],
  ])("%j: exit 2, one line on stderr, an {error} document on stdout", (args, message) => {
    const r = cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.error).toMatchObject({ code: expect.stringMatching(/^E_/), kind: "usage", exitCode: 2 });
    expect(doc.error.message).toMatch(message);
  });
});

describe("sizes that lie", () => {
  it("an ELF claiming 65535 section headers of 65535 bytes: reported malformed without allocating them", () => {
    const parent = tempDir();
    const path = join(parent, "kubelet");
    const header = Buffer.alloc(64);
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(header);
    header.writeUInt16LE(2, 16); // ET_EXEC
    header.writeUInt16LE(62, 18); // x86-64
    header.writeUInt32LE(1, 20);
    header.writeBigUInt64LE(0x400000n, 24);
    header.writeBigUInt64LE(64n, 40); // e_shoff
    header.writeUInt16LE(64, 52);
    header.writeUInt16LE(65535, 58); // e_shentsize
    header.writeUInt16LE(65535, 60); // e_shnum
    const fd = openSync(path, "w");
    writeSync(fd, header);
    ftruncateSync(fd, 256 * 1024 * 1024); // sparse: large enough that "capped by the file" alone would still allocate 256 MiB
    closeSync(fd);
    const r = cliWithPeakMemory(["audit", path, "--json"]);
    expect(r.code).not.toBe(70);
    const report = JSON.parse(r.stdout).reports[0];
    expect(report.errors[0]).toMatchObject({
      code: "E_AUDIT_ELF_MALFORMED",
      message: expect.stringMatching(/section headers of at most 256 bytes each, found 65535-byte entries/),
    });
    // Node alone is ~50 MiB; the claimed table is 4 GiB and the file 256 MiB.
    expect(r.peakMiB).toBeLessThan(200);
  });

  it("a 32 MiB memory.go: patch refuses it in one line instead of diffing it in memory", async () => {
    const parent = tempDir();
    const tree = await makeTree(join(parent, "k"), { era: "1.13" });
    const chunk = `// padding that is not source ${"x".repeat(990)}\n`;
    const memoryGo = join(tree.root, RUNC_FS, "memory.go");
    for (let i = 0; i < 32 * 1024; i++) appendFileSync(memoryGo, chunk);
    const before = snapshot(parent);
    const r = cliWithPeakMemory(["patch", tree.root]);
    // Tree inspection (src/tree/inspect.ts) reads the runc package first, bounded: a tree error.
    expect(r.code).toBe(6);
    expect(
      r.stderr
        .trim()
        .split("\n")
        .filter((l) => l.startsWith("kubelet-nokmem: ")),
    ).toEqual([expect.stringMatching(/expected vendor\/.*\/memory\.go to be source of at most \d+ MiB, found more; nothing was changed/)]);
    expect(r.peakMiB).toBeLessThan(200);
    expect(snapshot(parent)).toEqual(before);
  });
});

describe("text from a node never reaches the terminal raw", () => {
  it("doctor escapes control sequences in /etc/hostname (and keeps them, escaped, in --json)", () => {
    const root = tempDir();
    mkdirSync(join(root, "etc"));
    mkdirSync(join(root, "proc/sys/kernel"), { recursive: true });
    const evil = "node1\x1b]0;owned\x07\x1b[2J\x9b31m\u202e";
    writeFileSync(join(root, "etc/hostname"), `${evil}\n`);
    writeFileSync(join(root, "proc/sys/kernel/osrelease"), "5.10.0-26-amd64\n");
    const r = cli(["doctor", "--root", root]);
    expect(r.hung).toBe(false);
    expect(r.stdout).toContain("node1\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u202e");
    // eslint-disable-next-line no-control-regex
    expect(r.stdout + r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]/);
    const j = cli(["doctor", "--root", root, "--json"]);
    expect(JSON.parse(j.stdout).node).toBe(evil);
    const npd = cli(["doctor", "--root", root, "--npd"]);
    // eslint-disable-next-line no-control-regex
    expect(npd.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });
});

void copyFileSync;
void execFileSync;
