/**
 * debootstrap mounts proc inside the root it makes and leaves it mounted when
 * it is killed or fails; the image commands then remove that root. Real
 * mounts (as root, which image build needs anyway): whatever debootstrap
 * left is unmounted first, and nothing outside the root is touched.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeRootfs, unmountUnder } from "../../src/pipeline/image.js";

const made: string[] = [];
const fresh = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
};

/** Mount points at or under `dir`, as util-linux's findmnt lists them (not the code under test's reading). */
function mountsUnder(dir: string): string[] {
  const { filesystems } = JSON.parse(execFileSync("findmnt", ["--json", "--list", "--output", "TARGET"], { encoding: "utf8" })) as {
    filesystems: { target: string }[];
  };
  return filesystems.map((f) => f.target).filter((p) => p === dir || p.startsWith(`${dir}/`));
}

const mount = (...args: string[]) => execFileSync("mount", args);

afterEach(() => {
  // A failed test must not leave mounts for the next one, nor remove through them.
  for (const d of made.splice(0)) {
    for (const p of mountsUnder(d).sort((a, b) => b.length - a.length)) execFileSync("umount", ["-l", p]);
    rmSync(d, { recursive: true, force: true });
  }
});

describe.skipIf(process.getuid?.() !== 0)("mounts left in a root filesystem (as root)", () => {
  it("unmounts nested mounts, names with spaces, and nothing beside the root", async () => {
    const root = fresh("kn-mounts-");
    const sibling = `${root}-sibling`;
    made.push(sibling);
    for (const d of [join(root, "proc"), join(root, "with space"), sibling]) mkdirSync(d, { recursive: true });
    mount("-t", "tmpfs", "none", join(root, "with space"));
    mkdirSync(join(root, "with space", "inner"));
    mount("-t", "tmpfs", "none", join(root, "with space", "inner"));
    mount("-t", "proc", "proc", join(root, "proc"));
    mount("-t", "tmpfs", "none", sibling);
    expect(mountsUnder(root)).toHaveLength(3);

    await unmountUnder(root);

    expect(mountsUnder(root)).toEqual([]);
    // A folder whose name only starts with the root's is not inside it.
    expect(mountsUnder(sibling)).toEqual([sibling]);
  });

  it("a path that is not there, or has no mounts, is left as it is", async () => {
    const root = fresh("kn-mounts-");
    writeFileSync(join(root, "file"), "kept");
    await unmountUnder(join(root, "missing"));
    await unmountUnder(root);
    expect(readFileSync(join(root, "file"), "utf8")).toBe("kept");
  });

  /** A debootstrap on PATH that mounts proc in its target as the real one does, then fails or hangs. */
  function fakeDebootstrap(then: "fail" | "hang"): string {
    const bin = fresh("kn-fake-debootstrap-");
    const script = join(bin, "debootstrap");
    // The target is the fourth argument (minbaseArgs: variant, include, suite, dir, mirror).
    writeFileSync(
      script,
      `#!/bin/sh\nset -e\nmkdir -p "$4/proc"\nmount -t proc proc "$4/proc"\necho "I: mounted proc"\n${then === "fail" ? "exit 1" : "exec sleep 60"}\n`,
    );
    chmodSync(script, 0o755);
    return bin;
  }

  async function withPath<T>(bin: string, f: () => Promise<T>): Promise<T> {
    const saved = process.env.PATH;
    process.env.PATH = `${bin}:${saved}`;
    try {
      return await f();
    } finally {
      process.env.PATH = saved;
    }
  }

  const spec = { suite: "bookworm", mirror: "http://deb.debian.org/debian", include: ["make"] };

  it("debootstrap failing after it mounted proc: E_DEBOOTSTRAP, and the root has no mount left", async () => {
    const bin = fakeDebootstrap("fail");
    const dir = join(fresh("kn-rootfs-"), "rootfs");
    const failed = withPath(bin, () => makeRootfs(spec, dir, { signal: new AbortController().signal }));
    await expect(failed).rejects.toMatchObject({ code: "E_DEBOOTSTRAP" });
    expect(mountsUnder(dir)).toEqual([]);
  });

  it("stopped (a signal) while debootstrap runs: the root has no mount left", async () => {
    const bin = fakeDebootstrap("hang");
    const dir = join(fresh("kn-rootfs-"), "rootfs");
    const stop = new AbortController();
    const lines: string[] = [];
    const running = withPath(bin, () => makeRootfs(spec, dir, { signal: stop.signal, onLine: (l) => lines.push(l) }));
    await expect.poll(() => lines.join("\n"), { timeout: 10_000 }).toContain("mounted proc");
    expect(mountsUnder(dir)).toHaveLength(1);
    stop.abort(new Error("SIGTERM"));
    await expect(running).rejects.toThrow();
    expect(mountsUnder(dir)).toEqual([]);
  });
});
