import { afterEach, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { markerFinder, markerStringAuditor } from "../../src/node/marker-auditor.js";
import { FIFO, fakeBinary, KMEM_ENABLED_BINARY, NOKMEM_BINARY, removeRoot, writeRoot } from "./node-root.js";

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map(removeRoot));
});

describe("markerFinder", () => {
  it("finds a marker split across every possible chunk boundary", () => {
    const marker = "kernel memory accounting disabled in this runc build";
    const data = Buffer.from(`xxxx${marker}yyyy`, "latin1");
    for (let cut = 1; cut < data.length; cut++) {
      const f = markerFinder({ m: marker, other: "memory.kmem.limit_in_bytes" });
      f.push(data.subarray(0, cut));
      f.push(data.subarray(cut));
      expect([...f.found()], `cut at ${cut}`).toEqual(["m"]);
    }
  });
});

describe("markerStringAuditor", () => {
  async function audit(content: Buffer | typeof FIFO) {
    const root = await writeRoot({ bin: content });
    roots.push(root);
    return markerStringAuditor(join(root, "bin"));
  }

  it.each([
    ["a build that enables kmem", KMEM_ENABLED_BINARY, "unpatched"],
    ["a nokmem build", NOKMEM_BINARY, "patched"],
    ["a binary without markers", fakeBinary("runc version 1.1.4"), "unknown"],
    ["a binary with both kinds", fakeBinary("memory.kmem.limit_in_bytes", "kernel memory accounting disabled in this runc build"), "unknown"],
    ["a script, not ELF", Buffer.from("#!/bin/sh\necho memory.kmem.limit_in_bytes\n"), "unknown"],
    ["an empty file", Buffer.alloc(0), "unknown"],
  ])("%s is %s", async (_name, content, verdict) => {
    expect((await audit(content)).verdict).toBe(verdict);
  });

  it("finds markers past the first megabyte, across the read boundary", async () => {
    const marker = Buffer.from("memory.kmem.limit_in_bytes", "latin1");
    const big = Buffer.concat([fakeBinary(), Buffer.alloc(1024 * 1024 - fakeBinary().length - 10), marker, Buffer.alloc(100)]);
    const r = await audit(big);
    expect(r.verdict).toBe("unpatched");
    expect(r.evidence.map((e) => e.id)).toEqual(["kmem-limit-file"]);
  });

  it("refuses a FIFO without blocking", async () => {
    await expect(audit(FIFO)).rejects.toThrow(/special file/);
  });

  it("never runs what it audits", async () => {
    const root = await writeRoot({});
    roots.push(root);
    const canary = join(root, "ran");
    await writeFile(join(root, "bin"), Buffer.concat([Buffer.from(`#!/bin/sh\ntouch ${canary}\n`), NOKMEM_BINARY]), { mode: 0o755 });
    await markerStringAuditor(join(root, "bin"));
    expect(existsSync(canary)).toBe(false);
  });
});
