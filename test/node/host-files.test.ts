import { afterEach, describe, expect, it } from "vitest";
import { HostFiles } from "../../src/node/host-files.js";
import { DIR, FIFO, removeRoot, writeRoot, type NodeFiles } from "./node-root.js";

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map(removeRoot));
});
async function host(files: NodeFiles): Promise<HostFiles> {
  const root = await writeRoot(files);
  roots.push(root);
  return new HostFiles(root);
}

describe("HostFiles reads a node's files without writing or blocking", () => {
  it("reads a file, reports a missing one", async () => {
    const h = await host({ "proc/cmdline": "ro quiet\n" });
    expect(await h.read("/proc/cmdline")).toEqual({ path: "/proc/cmdline", state: "ok", text: "ro quiet\n" });
    expect(await h.read("/proc/cgroups")).toEqual({ path: "/proc/cgroups", state: "missing" });
    expect(await h.read("/proc/cmdline/x")).toEqual({ path: "/proc/cmdline/x", state: "missing" });
  });

  it("a directory where a file belongs is an I/O error; a FIFO is refused, not opened", async () => {
    const h = await host({ "a/slabinfo": DIR, "a/fifo": FIFO });
    expect(await h.read("/a/slabinfo")).toMatchObject({ state: "unreadable", cause: "io-error" });
    expect(await h.read("/a/fifo")).toMatchObject({ state: "unreadable", cause: "not-regular", reason: "not a regular file (a FIFO)" });
    expect(await h.scanTail("/a/fifo", 1024, () => {})).toMatchObject({ state: "unreadable", cause: "not-regular" });
  });

  it("bounds what it reads", async () => {
    const h = await host({ big: "x".repeat(200_000) });
    expect(await h.read("/big", 100_000)).toMatchObject({ state: "unreadable", cause: "too-large" });
  });

  it("follows absolute links inside the root, never out of it", async () => {
    const h = await host({
      "usr/bin/kubelet": { kind: "symlink", target: "/opt/k8s/kubelet" },
      "opt/k8s/kubelet": "inside",
      "etc/escape": { kind: "symlink", target: "../../../../../../etc/hostname" },
      "etc/hostname": "node-a\n",
      "loop/a": { kind: "symlink", target: "/loop/b" },
      "loop/b": { kind: "symlink", target: "/loop/a" },
    });
    expect(await h.read("/usr/bin/kubelet")).toMatchObject({ state: "ok", text: "inside" });
    expect(await h.locate("/usr/bin/kubelet")).toBe(`${h.root}/opt/k8s/kubelet`);
    expect(await h.read("/etc/escape")).toMatchObject({ state: "ok", text: "node-a\n" });
    expect(await h.read("/loop/a")).toMatchObject({ state: "unreadable" });
  });

  it("counts directories recursively, the top included", async () => {
    const h = await host({ "m/a/b/c": DIR, "m/a/d": DIR, "m/e": DIR, "m/file": "x" });
    expect(await h.countDirectories("/m")).toEqual({ state: "ok", count: 6, unlisted: 0, capped: false });
    expect(await h.countDirectories("/m", 3)).toMatchObject({ capped: true, count: 3 });
    expect(await h.countDirectories("/nothing")).toMatchObject({ state: "missing" });
  });

  it("scans only the tail of a log, starting at a whole line", async () => {
    const lines = Array.from({ length: 1000 }, (_, i) => `line ${String(i).padStart(4, "0")}`);
    const h = await host({ "var/log/messages": `${lines.join("\n")}\n` });
    const seen: string[] = [];
    const r = await h.scanTail("/var/log/messages", 100, (l) => seen.push(l));
    expect(r).toMatchObject({ state: "ok", scannedBytes: 100 });
    expect(seen.length).toBeGreaterThan(5);
    expect(seen.every((l) => /^line \d{4}$/.test(l))).toBe(true);
    expect(seen.at(-1)).toBe("line 0999");
    const all: string[] = [];
    await h.scanTail("/var/log/messages", 1 << 20, (l) => all.push(l));
    expect(all).toEqual(lines);
  });

  it("with a pattern, hands over exactly the lines holding a match, also across the reader's 1 MiB pieces", async () => {
    const noise = "Mar  3 09:00:01 worker kubelet: I0303 SyncLoop (PLEG): event for pod web";
    const lines = Array.from({ length: 60_000 }, (_, i) =>
      i % 7919 === 0 ? `Mar  3 09:00:0${i % 10} worker kernel: SLUB: Unable to allocate memory on node -1 #${i}` : `${noise} ${i}`,
    );
    const h = await host({ "var/log/messages": `${lines.join("\n")}\n` });
    const wanted = /SLUB: Unable/i;
    for (const tail of [1 << 30, 3_000_000]) {
      const all: string[] = [];
      await h.scanTail("/var/log/messages", tail, (l) => all.push(l));
      const seen: string[] = [];
      const r = await h.scanTail("/var/log/messages", tail, (l) => seen.push(l), wanted);
      expect(r).toMatchObject({ state: "ok" });
      expect(seen).toEqual(all.filter((l) => wanted.test(l)));
      expect(seen.length).toBeGreaterThan(2);
    }
  });
});
