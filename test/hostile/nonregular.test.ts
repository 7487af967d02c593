/**
 * FIFOs, sockets and devices at every path the tool reads: each run ends by
 * itself with one line naming what was found, and nothing outside (or
 * inside) the target changes. Before src/io/read.ts each of these hung.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeTree, RUNC_FS } from "../fixtures/k8s-tree.js";
import { tempDir } from "../helpers/tmp.js";
import { FileTooLargeError, NotRegularFileError, readRegularText, readRegularTextSync } from "../../src/io/read.js";
import { fakeKubelet, writeOutDir } from "../pin/outdir-fixture.js";
import { cli, ensureBuilt, expectOneLineError, snapshot } from "./hangs-harness.js";

beforeAll(ensureBuilt, 180_000);

const fifo = (path: string) => {
  rmSync(path, { force: true });
  execFileSync("mkfifo", [path]);
  return path;
};

/** A build output folder as `build` publishes one, its kubelet replaced by a FIFO when asked. */
function outDir(parent: string, kubelet: "fifo" | "file"): string {
  const out = join(parent, "out");
  writeOutDir(out, "1.16.15", { "linux/amd64": fakeKubelet("hostile") });
  if (kubelet === "fifo") fifo(join(out, "linux/amd64/kubelet"));
  return out;
}

describe("the reading door (src/io/read.ts)", () => {
  it("reads a procfs file whose stat size is 0 to its end, and stops at the limit", async () => {
    const status = await readRegularText("/proc/self/status");
    expect(status).toMatch(/^Name:/);
    expect(readRegularTextSync("/proc/self/status")).toMatch(/^Name:/);
    await expect(readRegularText("/proc/self/status", { maxBytes: 16 })).rejects.toBeInstanceOf(FileTooLargeError);
    expect(() => readRegularTextSync("/proc/self/status", { maxBytes: 16 })).toThrow(FileTooLargeError);
  });

  it.each(["/dev/zero", "/dev/null", "/proc/self"])("refuses %s without opening it", async (path) => {
    await expect(readRegularText(path)).rejects.toBeInstanceOf(NotRegularFileError);
    expect(() => readRegularTextSync(path)).toThrow(NotRegularFileError);
  });
});

describe("a FIFO or device where a file belongs is refused, never read", () => {
  it.each([
    ["a FIFO", (d: string) => fifo(join(d, "catalog.json")), /expected a readable catalog at .*catalog\.json, found a FIFO/],
    ["/dev/zero", () => "/dev/zero", /expected a readable catalog at \/dev\/zero, found a character device/],
    ["a directory", (d: string) => d, /expected a readable catalog at .*, found a directory/],
  ])("resolve --catalog %s: exit 5", (_what, make, message) => {
    const parent = tempDir();
    const catalog = make(parent);
    const before = snapshot(parent);
    expectOneLineError(cli(["resolve", "1.16", "--catalog", catalog]), 5, message);
    expect(snapshot(parent)).toEqual(before);
  });

  it("resolve --catalog on a socket: exit 5", async () => {
    const parent = tempDir();
    const sock = join(parent, "catalog.sock");
    const server = createServer().listen(sock);
    await new Promise((r) => server.once("listening", r));
    try {
      const before = snapshot(parent);
      expectOneLineError(cli(["resolve", "1.16", "--catalog", sock]), 5, /found a socket/);
      expect(snapshot(parent)).toEqual(before);
    } finally {
      server.close();
    }
  });

  it.each([
    ["a FIFO", (d: string) => fifo(join(d, "kubelet")), /expected a kubelet binary or a build output folder at .*kubelet, found a FIFO/],
    ["/dev/zero", () => "/dev/zero", /at \/dev\/zero, found a character device/],
  ])("verify %s: exit 2", (_what, make, message) => {
    const parent = tempDir();
    const target = make(parent);
    const before = snapshot(parent);
    expectOneLineError(cli(["verify", target, "--version", "1.16.15"]), 2, message);
    expect(snapshot(parent)).toEqual(before);
  });

  it("verify and pin of an out dir whose kubelet is a FIFO: refused naming it (exit 4), catalog untouched", () => {
    const parent = tempDir();
    const out = outDir(parent, "fifo");
    const catalog = join(parent, "versions.json");
    writeFileSync(catalog, execFileSync("cat", [join(import.meta.dirname, "../../versions.json")]));
    const before = snapshot(parent);
    for (const command of ["verify", "pin"]) {
      expectOneLineError(
        cli([command, out, "--catalog", catalog]),
        4,
        /expected .*out\/linux\/amd64\/kubelet to be a regular file inside .*out, found a FIFO where a regular file was expected; it was not used/,
      );
    }
    expect(snapshot(parent)).toEqual(before);
  });

  it("verify of an out dir whose manifest.json or SHA256SUMS is a FIFO: one line naming it, exit 4", () => {
    const parent = tempDir();
    const out = outDir(parent, "file");
    fifo(join(out, "SHA256SUMS"));
    let before = snapshot(parent);
    expectOneLineError(cli(["verify", out]), 4, /expected .*SHA256SUMS to be a regular file inside .*, found a FIFO/);
    expect(snapshot(parent)).toEqual(before);
    fifo(join(out, "manifest.json"));
    before = snapshot(parent);
    expectOneLineError(cli(["verify", out]), 4, /expected .*manifest\.json to be a regular file inside .*, found a FIFO/);
    expect(snapshot(parent)).toEqual(before);
  });

  it("pin with a FIFO as --catalog: exit 5, nothing written", () => {
    const parent = tempDir();
    const out = outDir(parent, "file");
    const catalog = fifo(join(parent, "versions.json"));
    const before = snapshot(parent);
    expectOneLineError(cli(["pin", out, "--catalog", catalog]), 5, /found a FIFO/);
    expect(snapshot(parent)).toEqual(before);
  });

  it.each([
    ["kmem.go", `${RUNC_FS}/kmem.go`],
    ["kmem_disabled.go", `${RUNC_FS}/kmem_disabled.go`],
    ["hack/lib/version.sh", "hack/lib/version.sh"],
  ])("patch on a tree whose %s is a FIFO: exit 6 (tree inspection refuses it), the tree unchanged", async (_name, rel) => {
    const parent = tempDir();
    const tree = await makeTree(join(parent, "k"), { era: "1.16", kind: "dir" });
    fifo(join(tree.root, rel));
    const before = snapshot(parent);
    for (const mode of [[], ["--check"], ["--dry-run"]]) {
      const r = rel.replace(/\./g, "\\.");
      expectOneLineError(
        cli(["patch", tree.root, "--version", "1.16.15", "--commit", "0".repeat(40), ...mode]),
        6,
        new RegExp(`(expected a regular file at ${r}, found a FIFO|found ${r} is a FIFO); nothing was changed`),
      );
    }
    expect(snapshot(parent)).toEqual(before);
  });

  it("patch with a FIFO as --version-file: exit 2 before anything is written", async () => {
    const parent = tempDir();
    const tree = await makeTree(join(parent, "k"), { era: "1.16" });
    const vf = fifo(join(parent, "version.env"));
    const before = snapshot(parent);
    expectOneLineError(
      cli(["patch", tree.root, "--version-file", vf]),
      2,
      /expected --version-file .* to name a regular file .*, found .*version\.env is a FIFO; nothing was changed/,
    );
    expect(snapshot(parent)).toEqual(before);
  });

  it("patch --version-file under /proc ends at once (Node's recursive mkdir spun there): exit 2, tree unchanged", async () => {
    const parent = tempDir();
    const tree = await makeTree(join(parent, "k"), { era: "1.16" });
    const before = snapshot(parent);
    expectOneLineError(
      cli(["patch", tree.root, "--version-file", "/proc/nope/x"]),
      2,
      /expected --version-file \/proc\/nope\/x to name a regular file .*, found \/proc is on procfs, where no file can be made; nothing was changed/,
    );
    expect(snapshot(parent)).toEqual(before);
  });

  it("patch on a tree whose journal is a FIFO: one line, nothing written", async () => {
    const parent = tempDir();
    const tree = await makeTree(join(parent, "k"), { era: "1.16" });
    mkdirSync(join(tree.root, ".kubelet-nokmem"));
    fifo(join(tree.root, ".kubelet-nokmem/journal.json"));
    const before = snapshot(parent);
    const r = cli(["patch", tree.root, "--check"]);
    expect(r.hung).toBe(false);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBe(70);
    expect(
      r.stderr
        .trim()
        .split("\n")
        .filter((l) => l.startsWith("kubelet-nokmem: ")),
    ).toEqual([expect.stringMatching(/journal\.json.*a FIFO/)]);
    expect(snapshot(parent)).toEqual(before);
  });

  it("build --source naming a FIFO as the tarball: exit 6 before anything is staged", () => {
    const parent = tempDir();
    const tarball = fifo(join(parent, "kubernetes.tar.gz"));
    const before = snapshot(parent);
    const r = cli(
      ["build", "--version", "1.16.15", "--runner", "local", "--source", tarball, "--out", join(parent, "out"), "--cache-dir", join(parent, "cache")],
      {
        env: { PATH: `/usr/lib/go-1.19/bin:${process.env.PATH}` },
      },
    );
    expectOneLineError(
      r,
      6,
      /expected a gzip-compressed tar file at .*kubernetes\.tar\.gz, found unreadable data \(expected a regular file at .*, found a FIFO\)/,
    );
    const after = snapshot(parent);
    // The cache folder may be made; nothing is staged or published.
    expect(Object.keys(after).filter((k) => !k.startsWith("cache"))).toEqual(Object.keys(before));
    expect(Object.keys(after).filter((k) => k.startsWith("cache/work/"))).toEqual([]);
  });

  it("patch --patches DIR whose series file is a FIFO: exit 7, nothing written", async () => {
    const parent = tempDir();
    const tree = await makeTree(join(parent, "k"), { era: "1.16" });
    mkdirSync(join(parent, "series/kmem-override/1.16"), { recursive: true });
    fifo(join(parent, "series/kmem-override/1.16/series"));
    const before = snapshot(parent);
    expectOneLineError(
      cli(["patch", tree.root, "--patches", join(parent, "series")]),
      7,
      /expected the series file of kmem-override\/1\.16 at .*, found a FIFO/,
    );
    expect(snapshot(parent)).toEqual(before);
  });

  it("audit of a FIFO, a device and a folder holding a kubelet-named FIFO: each reported, none read", () => {
    const parent = tempDir();
    const f = fifo(join(parent, "kubelet"));
    mkdirSync(join(parent, "bin"));
    fifo(join(parent, "bin/kubelet"));
    const before = snapshot(parent);
    const r = cli(["audit", f, "/dev/zero", join(parent, "bin"), "--json"]);
    expect(r.hung).toBe(false);
    expect(r.code).not.toBe(70);
    const reports = JSON.parse(r.stdout).reports as { path: string; errors: { code: string; message: string }[] }[];
    expect(reports.map((b) => [b.path, b.errors[0]?.code])).toEqual([
      [f, "E_AUDIT_NOT_REGULAR"],
      ["/dev/zero", "E_AUDIT_NOT_REGULAR"],
      [join(parent, "bin/kubelet"), "E_AUDIT_NOT_REGULAR"],
    ]);
    expect(reports[1]!.errors[0]!.message).toMatch(/found a character device/);
    expect(snapshot(parent)).toEqual(before);
  });

  it("doctor on a node whose /etc/hostname, /proc/cgroups and kubelet are FIFOs: a report, no hang", () => {
    const root = tempDir();
    mkdirSync(join(root, "etc"));
    mkdirSync(join(root, "proc/sys/kernel"), { recursive: true });
    mkdirSync(join(root, "usr/bin"), { recursive: true });
    writeFileSync(join(root, "proc/sys/kernel/osrelease"), "3.10.0-1160.el7.x86_64\n");
    fifo(join(root, "etc/hostname"));
    fifo(join(root, "proc/cgroups"));
    fifo(join(root, "usr/bin/kubelet"));
    const before = snapshot(root);
    const r = cli(["doctor", "--root", root, "--json"]);
    expect(r.hung).toBe(false);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).node).toBeNull();
    expect(snapshot(root)).toEqual(before);
  });
});
