/**
 * What a crash leaves: temporary files of interrupted atomic writes (a copy
 * of a 32 MB source file each) and a stale .kubelet-nokmem/. The next run
 * that writes beside them removes those of dead writers; `patch --revert`
 * takes the whole folder away.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeTree, RUNC_FS } from "../fixtures/k8s-tree.js";
import { cli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { snapshotTree } from "./inputs.js";

const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid;
const KMEM_GO = `${RUNC_FS}/kmem.go`;

describe("leftovers of a crash", () => {
  it("temporary files of a dead writer beside a patched file are removed by the next patch; a live writer's are kept", async () => {
    const tree = await makeTree(join(tempDir("kn-hostile-left-"), "k"), { era: "1.16" });
    const dir = dirname(join(tree.root, KMEM_GO));
    const dead = `.kmem.go.${deadPid()}.0123abcd.tmp`;
    const live = `.kmem.go.${process.pid}.0123abcd.tmp`;
    const other = `.unrelated.${deadPid()}.0123abcd.tmp`;
    for (const n of [dead, live, other]) writeFileSync(join(dir, n), "x".repeat(1 << 20));
    const r = cli(["patch", tree.root]);
    expect(r.code, r.stderr).toBe(0);
    const left = readdirSync(dir);
    expect(left).not.toContain(dead);
    expect(left).toContain(live);
    expect(left).toContain(other); // only the file being written clears its own name
  });

  it("patch --revert removes a stale .kubelet-nokmem/ (dead lock, staged txn/, temp files) and leaves the tree as it was", async () => {
    const tree = await makeTree(join(tempDir("kn-hostile-left-"), "k"), { era: "1.16" });
    const original = snapshotTree(tree.root);
    expect(cli(["patch", tree.root, "--version-file", join(tempDir(), "v.env")]).code).toBe(0);
    const state = join(tree.root, ".kubelet-nokmem");
    mkdirSync(join(state, "txn"), { recursive: true });
    writeFileSync(join(state, "txn/0.after"), "staged by a run that died\n");
    writeFileSync(join(state, `.journal.json.${deadPid()}.0123abcd.tmp`), "half a journal");
    writeFileSync(join(state, "lock"), JSON.stringify({ pid: deadPid(), host: hostname(), startedAt: "2020-01-01T00:00:00Z", purpose: "patch" }));
    const r = cli(["patch", tree.root, "--revert"]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(state)).toBe(false);
    expect(snapshotTree(tree.root)).toEqual(original);
  });

  it("patch --revert on a never-patched tree with only a crash's leftovers removes them too", async () => {
    const tree = await makeTree(join(tempDir("kn-hostile-left-"), "k"), { era: "1.16" });
    const original = snapshotTree(tree.root);
    const state = join(tree.root, ".kubelet-nokmem");
    mkdirSync(join(state, "txn"), { recursive: true });
    writeFileSync(join(state, "lock"), "");
    writeFileSync(join(state, "txn/3.before"), "x");
    const r = cli(["patch", tree.root, "--revert"]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(state)).toBe(false);
    expect(snapshotTree(tree.root)).toEqual(original);
  });
});
