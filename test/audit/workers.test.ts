/**
 * The folder audit's worker threads (src/audit/pass.ts, pass-worker.ts):
 * the same reports, digests and order as the pass on the main thread, from
 * tsc's output and from the bundle the package ships; hostile files refused
 * before any worker reads them.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { open, mkdir, mkdtemp, readFile, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditPaths } from "../../src/audit/index.js";
import { MARKERS } from "../../src/audit/markers.js";
import { passInline } from "../../src/audit/pass.js";
import type { PassRequest, PassResponse } from "../../src/audit/pass.js";
import { loadCatalog } from "../../src/catalog/load.js";
import type { AuditJson } from "../../src/commands/audit.js";
import { cli, ROOT } from "../helpers/cli.js";
import { syntheticBinary } from "./synthetic.js";

const catalog = loadCatalog();
let dir: string;
let folder: string;
let outside: string;
/** A marker 3 bytes before the 1 MiB chunk boundary: found only across two reads. */
const SEAM = (1 << 20) - 3;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "audit-workers-"));
  folder = join(dir, "bin");
  await mkdir(folder);
  const put = (name: string, bytes: Buffer | string) => writeFile(join(folder, name), bytes, { mode: 0o755 });
  await put(
    "kubelet-patched",
    syntheticBinary({ markers: ["disabled-string:runc-build", "source-path:kmem_disabled.go", "identity:kubelet"], stamps: { gitVersion: "v1.20.2" } }),
  );
  await put("kubelet-normal", syntheticBinary({ markers: ["enabled-string:kmem-limit-file", "identity:kubelet"], stamps: { gitVersion: "v1.20.2" } }));
  await put("runc", syntheticBinary({ markers: ["identity:runc"] }));
  await put("kubelet-script", "#!/bin/sh\necho kubelet\n");
  // Big enough for several reads, a marker across a chunk seam and one near the end.
  await put("kubelet-big", syntheticBinary({ markers: ["identity:kubelet"], stamps: { gitVersion: "v1.20.2" } }));
  const big = join(folder, "kubelet-big");
  await truncate(big, 5 * 2 ** 20 + 12345);
  const fh = await open(big, "r+");
  await fh.write(Buffer.from("\0memory.kmem.limit_in_bytes\0", "latin1"), 0, undefined, SEAM - 1);
  await fh.write(Buffer.from("\0kernel memory accounting not supported by this kernel\0", "latin1"), 0, undefined, 5 * 2 ** 20);
  await fh.close();
  // Hostile entries: a FIFO and a link out of the folder's root.
  execFileSync("mkfifo", [join(folder, "kubelet-fifo")]);
  outside = join(dir, "outside-kubelet");
  await writeFile(outside, syntheticBinary({ markers: ["identity:kubelet"] }), { mode: 0o755 });
  await symlink(outside, join(folder, "kubelet-link"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function auditJson(args: string[]): AuditJson {
  const r = cli(["audit", ...args, "--json", "--fail-on", "none"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as AuditJson;
}

describe("a folder audit on worker threads", () => {
  it("gives the reports, digests and order of the pass on the main thread", async () => {
    const threads = auditJson([folder, "--all", "--jobs", "4"]);
    const one = auditJson([folder, "--all", "--jobs", "1"]);
    expect(threads).toEqual(one);
    const inline = await auditPaths([folder], { catalog, all: true, concurrency: 1 });
    expect(threads.reports).toEqual(JSON.parse(JSON.stringify(inline)));
    expect(threads.reports.map((r) => r.path.split("/").at(-1))).toEqual([
      "kubelet-big",
      "kubelet-fifo",
      "kubelet-link",
      "kubelet-normal",
      "kubelet-patched",
      "runc",
    ]);
    for (const r of threads.reports.filter((x) => x.sha256)) {
      expect(r.sha256, r.path).toBe(
        createHash("sha256")
          .update(await readFile(r.path))
          .digest("hex"),
      );
    }
    const big = threads.reports.find((r) => r.path.endsWith("kubelet-big"))!;
    expect(big.evidence.find((e) => e.id === "enabled-string:kmem-limit-file")?.offsets).toEqual([SEAM]);
    expect(big.evidence.find((e) => e.id === "enabled-string:kmem-not-supported")?.count).toBe(1);
    expect(threads.reports.find((r) => r.path.endsWith("kubelet-fifo"))!.errors.map((e) => e.code)).toEqual(["E_AUDIT_NOT_REGULAR"]);
  });

  it("under --root, a link out of the root is not followed out of it", () => {
    const threads = auditJson(["--root", dir, "/bin", "--all", "--jobs", "4"]);
    expect(threads).toEqual(auditJson(["--root", dir, "/bin", "--all", "--jobs", "1"]));
    const link = threads.reports.find((r) => r.path === "/bin/kubelet-link")!;
    expect(link.sha256).toBeNull();
    expect(link.errors.length).toBe(1);
  });
});

/** One pass by a worker script, as src/audit/pass.ts asks for it. */
async function workerPass(script: string, file: string): Promise<PassResponse> {
  const fh = await open(file, "r");
  const worker = new Worker(new URL(pathToFileURL(script)));
  try {
    const size = (await fh.stat()).size;
    const req: PassRequest = { id: 1, fd: fh.fd, size, chunk: 1 << 20, markerIds: MARKERS.map((m) => m.id), ignore: [] };
    const answer = new Promise<PassResponse>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    worker.postMessage(req);
    return await answer;
  } finally {
    await worker.terminate();
    await fh.close();
  }
}

describe("the worker script", () => {
  it.each([
    ["the bundle's (dist/chunks/pass-worker.js, shipped in the package)", "dist/chunks/pass-worker.js"],
    ["tsc's (dist/audit/pass-worker.js)", "dist/audit/pass-worker.js"],
  ])("%s makes the same pass as the main thread", async (_name, script) => {
    const file = join(folder, "kubelet-big");
    const res = await workerPass(join(ROOT, script), file);
    const fh = await open(file, "r");
    try {
      const size = (await fh.stat()).size;
      const inline = await passInline({ fh, size, chunk: 1 << 20, markers: MARKERS, ignore: [] });
      expect(res).toEqual({ id: 1, sha256: inline.sha256, bytes: size, hits: [...inline.hits] });
    } finally {
      await fh.close();
    }
  });

  it("answers a read error as the file's error, not by dying", async () => {
    // A descriptor of a folder: read() fails with EISDIR.
    const fh = await open(folder, "r");
    const worker = new Worker(new URL(pathToFileURL(join(ROOT, "dist/chunks/pass-worker.js"))));
    try {
      const answer = new Promise<PassResponse>((resolve) => worker.once("message", resolve));
      worker.postMessage({ id: 7, fd: fh.fd, size: 10, chunk: 1 << 20, markerIds: [], ignore: [] } satisfies PassRequest);
      expect(await answer).toMatchObject({ id: 7, error: { code: "EISDIR" } });
    } finally {
      await worker.terminate();
      await fh.close();
    }
  });
});
