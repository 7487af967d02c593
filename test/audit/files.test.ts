/** Malformed and hostile inputs: each one a per-file error, none blocks, the rest of the audit goes on. */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, open, rm, symlink, truncate, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { auditFile, auditPaths } from "../../src/audit/index.js";
import { loadCatalog } from "../../src/catalog/load.js";
import { syntheticBinary } from "./synthetic.js";

const catalog = loadCatalog();
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "audit-files-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const kubelet = () =>
  syntheticBinary({ markers: ["disabled-string:runc-build", "source-path:kmem_disabled.go", "identity:kubelet"], stamps: { gitVersion: "v1.20.2" } });

async function put(name: string, bytes: Buffer | string, mode = 0o755): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, bytes, { mode });
  return p;
}

describe("one file at a time", () => {
  it("audits a well-formed binary (the control case)", async () => {
    const r = await auditFile(await put("kubelet", kubelet()), { catalog });
    expect(r.errors).toEqual([]);
    expect(r.verdict).toBe("patched");
    expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("an empty file", async () => {
    const r = await auditFile(await put("kubelet", ""), { catalog });
    expect(r.errors.map((e) => e.code)).toEqual(["E_AUDIT_EMPTY"]);
    expect(r).toMatchObject({ verdict: "unknown", size: 0 });
  });

  it("a file that is not ELF", async () => {
    const r = await auditFile(await put("kubelet", '#!/bin/sh\nexec /usr/bin/kubelet.real "$@"\n'), { catalog });
    expect(r.errors[0]).toMatchObject({ code: "E_AUDIT_NOT_ELF" });
    expect(r.errors[0]!.message).toMatch(/found a script/);
  });

  it("a file cut inside the ELF header", async () => {
    const r = await auditFile(await put("kubelet", kubelet().subarray(0, 20)), { catalog });
    expect(r.errors.map((e) => e.code)).toEqual(["E_AUDIT_ELF_MALFORMED"]);
  });

  it("a binary truncated before its section headers: hashed and searched, verdict unknown", async () => {
    const bytes = kubelet();
    const r = await auditFile(await put("kubelet", bytes.subarray(0, bytes.length - 100)), { catalog });
    expect(r.errors.map((e) => e.code)).toEqual(["E_AUDIT_ELF_MALFORMED"]);
    expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.evidence.map((e) => e.id)).toContain("disabled-string:runc-build");
    expect(r.verdict).toBe("unknown");
  });

  it("a huge file: a 64 GiB sparse non-ELF file is rejected from its header, not read", async () => {
    const p = await put("kubelet", "");
    await truncate(p, 64 * 2 ** 30);
    const r = await auditFile(p, { catalog });
    expect(r.errors.map((e) => e.code)).toEqual(["E_AUDIT_NOT_ELF"]);
    expect(r.size).toBe(64 * 2 ** 30);
  });

  it("a large ELF file is streamed with bounded memory, markers near its end found", async () => {
    const head = kubelet();
    const p = await put("kubelet", head);
    const size = 384 * 2 ** 20;
    await truncate(p, size);
    const fh = await open(p, "r+");
    await fh.write(Buffer.from("\0memory.kmem.limit_in_bytes\0", "latin1"), 0, undefined, size - 1000);
    await fh.close();
    const before = process.memoryUsage().rss;
    const r = await auditFile(p, { catalog });
    expect(r.evidence.find((e) => e.id === "enabled-string:kmem-limit-file")?.offsets).toEqual([size - 999]);
    expect(process.memoryUsage().rss - before).toBeLessThan(128 * 2 ** 20);
  });

  it("an unreadable file", async () => {
    const p = await put("kubelet", kubelet(), 0o000);
    await chmod(dir, 0o755);
    if (process.getuid?.() !== 0) {
      const r = await auditFile(p, { catalog });
      expect(r.errors.map((e) => e.code)).toEqual(["E_AUDIT_UNREADABLE"]);
      return;
    }
    // root reads anything: run the CLI as nobody instead.
    const cli = resolve("dist/cli.js");
    if (!existsSync(cli)) return expect.fail("run `npm run build` first: this case runs dist/cli.js as an unprivileged user");
    const out = spawnSync(process.execPath, [cli, "audit", p, "--json", "--fail-on", "none"], { uid: 65534, gid: 65534, encoding: "utf8" });
    const json = JSON.parse(out.stdout);
    expect(json.reports[0].errors.map((e: { code: string }) => e.code)).toEqual(["E_AUDIT_UNREADABLE"]);
  });

  it("a FIFO is skipped without being opened (no writer would ever come)", async () => {
    const p = join(dir, "kubelet");
    execFileSync("mkfifo", [p]);
    const r = await auditFile(p, { catalog });
    expect(r.errors.map((e) => e.code)).toEqual(["E_AUDIT_NOT_REGULAR"]);
    expect(r.errors[0]!.message).toMatch(/a FIFO/);
  });

  it.each(["/dev/zero", "/dev/null"])("the character device %s is skipped, never read", async (dev) => {
    const r = await auditFile(dev, { catalog });
    expect(r.errors.map((e) => e.code)).toEqual(["E_AUDIT_NOT_REGULAR"]);
  });

  it("a symlink loop", async () => {
    await symlink(join(dir, "b"), join(dir, "kubelet"));
    await symlink(join(dir, "kubelet"), join(dir, "b"));
    const r = await auditFile(join(dir, "kubelet"), { catalog });
    expect(r.errors.map((e) => e.code)).toEqual(["E_AUDIT_SYMLINK_LOOP"]);
  });

  it("a path that does not exist", async () => {
    const r = await auditFile(join(dir, "gone"), { catalog });
    expect(r.errors.map((e) => e.code)).toEqual(["E_AUDIT_NOT_FOUND"]);
  });
});

describe("many files", () => {
  it("a file that vanishes after the walk found it: its own error, the others audited", async () => {
    await mkdir(join(dir, "bin"));
    const a = join(dir, "bin", "kubelet-a");
    const b = join(dir, "bin", "kubelet-b");
    await writeFile(a, kubelet(), { mode: 0o755 });
    await writeFile(b, kubelet(), { mode: 0o755 });
    const c = await put("kubelet-c", kubelet());
    const reports = await auditPaths([join(dir, "bin"), c], {
      catalog,
      all: false,
      concurrency: 1,
      // Delete b while a is being reported: b vanishes mid-audit.
      onReport: (r) => {
        if (r.path === a) void unlink(b);
      },
    });
    expect(reports.map((r) => [r.path, r.errors.map((e) => e.code)])).toEqual([
      [a, []],
      [b, ["E_AUDIT_NOT_FOUND"]],
      [c, []],
    ]);
  });

  it("walks folders: kubelet-named executables by default, every ELF with all", async () => {
    await mkdir(join(dir, "a", "b"), { recursive: true });
    await writeFile(join(dir, "a", "b", "kubelet"), kubelet(), { mode: 0o755 });
    await writeFile(join(dir, "a", "runc"), syntheticBinary({ markers: ["identity:runc"] }), { mode: 0o755 });
    await writeFile(join(dir, "a", "kubelet.conf"), "not a binary", { mode: 0o644 });
    await writeFile(join(dir, "a", "notes.txt"), "text", { mode: 0o755 });
    execFileSync("mkfifo", [join(dir, "a", "pipe")]);
    await symlink(join(dir, "a"), join(dir, "a", "b", "loop")); // a folder symlink: not followed
    const byDefault = await auditPaths([dir], { catalog, all: false });
    expect(byDefault.map((r) => r.path)).toEqual([join(dir, "a", "b", "kubelet")]);
    const all = await auditPaths([dir], { catalog, all: true });
    expect(all.map((r) => r.path)).toEqual([join(dir, "a", "b", "kubelet"), join(dir, "a", "runc")]);
    expect(all[1]!.program).toBe("runc");
  });

  it("a kubelet-named FIFO or loop inside a folder is reported, and the walk goes on", async () => {
    execFileSync("mkfifo", [join(dir, "kubelet-pipe")]);
    await symlink(join(dir, "kubelet-loop"), join(dir, "kubelet-loop"));
    await put("kubelet", kubelet());
    const reports = await auditPaths([dir], { catalog, all: false });
    expect(reports.map((r) => [r.path.slice(dir.length + 1), r.errors.map((e) => e.code)])).toEqual([
      ["kubelet", []],
      ["kubelet-loop", ["E_AUDIT_SYMLINK_LOOP"]],
      ["kubelet-pipe", ["E_AUDIT_NOT_REGULAR"]],
    ]);
  });

  it("audits several files in parallel and keeps their order", async () => {
    const paths = await Promise.all(Array.from({ length: 6 }, (_, i) => put(`k${i}`, i % 2 ? kubelet() : "junk")));
    const reports = await auditPaths(paths, { catalog, all: false, concurrency: 3 });
    expect(reports.map((r) => r.path)).toEqual(paths);
    expect(reports.map((r) => r.errors.length)).toEqual([1, 0, 1, 0, 1, 0]);
  });
});
