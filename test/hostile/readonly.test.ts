/**
 * Read-only commands open nothing for writing: `verify`, `audit`, `inspect`,
 * `resolve`, `matrix`, `doctor` (also with --metrics) and `report` run on a read-only bind mount of their
 * inputs (a write would fail with EROFS and end the command), and the folder
 * and its parent are compared byte for byte before and after. An unfinished
 * publication is reported, never finished, by the readers.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTree } from "../fixtures/k8s-tree.js";
import { cli, ROOT } from "../helpers/cli.js";
import { healthyNode, removeRoot, writeRoot } from "../node/node-root.js";
import { fakeKubelet, sha, writeOutDir } from "../pin/outdir-fixture.js";
import { snapshotTree } from "./inputs.js";

/** A read-only bind mount needs root (CI runs as root); without it only the before/after comparison runs. */
const canMount = process.getuid?.() === 0 && spawnSync("mount", ["--version"]).status === 0;

let base: string;
let data: string;
let mnt: string;
let nodeRoot: string;
let mounted = false;

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), "kn-hostile-ro-")); // lives for the whole file: removed in afterAll, after the unmount
  data = join(base, "data");
  mnt = join(base, "ro");
  mkdirSync(data);
  mkdirSync(mnt);
  const kubelet = fakeKubelet("1.16.15");
  writeOutDir(join(data, "out"), "1.16.15", { "linux/amd64": kubelet });
  // An out dir a build left half-way: a journal whose staged files are all there.
  writeOutDir(join(data, "half"), "1.16.15", { "linux/amd64": kubelet });
  mkdirSync(join(data, "half/.staging-AbC123"));
  writeFileSync(join(data, "half/.staging-AbC123/SHA256SUMS"), `${sha(kubelet)}  linux/amd64/kubelet\n`);
  writeFileSync(
    join(data, "half/.publish-journal.json"),
    JSON.stringify({
      schemaVersion: 1,
      pid: 1,
      staging: ".staging-AbC123",
      files: [{ name: "SHA256SUMS", sha256: sha(`${sha(kubelet)}  linux/amd64/kubelet\n`) }],
      remove: [],
    }),
  );
  writeFileSync(join(data, "half/.lock"), "");
  copyFileSync(join(ROOT, "versions.json"), join(data, "versions.json"));
  expect(cli(["pin", join(data, "out"), "--catalog", join(data, "versions.json")]).code).toBe(0);
  await makeTree(join(data, "tree"), { era: "1.16" });
  nodeRoot = await writeRoot(healthyNode());
  execFileSync("cp", ["-a", `${nodeRoot}/.`, join(data, "node")]);
  writeFileSync(
    join(data, "fleet.log"),
    `[pod/check-x/doctor] ${cli(["doctor", "--root", nodeRoot, "--json", "--node", "worker-1"]).stdout.split("\n").join("\n[pod/check-x/doctor] ")}\n`,
  );
  if (canMount) {
    execFileSync("mount", ["--bind", data, mnt]);
    mounted = true;
    execFileSync("mount", ["-o", "remount,bind,ro", mnt]);
  }
}, 120_000);

afterAll(async () => {
  if (mounted) execFileSync("umount", [mnt]);
  await removeRoot(nodeRoot);
  rmSync(base, { recursive: true, force: true });
});

const at = (p: string) => join(mounted ? mnt : data, p);

describe("read-only commands write nothing", () => {
  it.each([
    ["verify an out dir", () => ["verify", at("out"), "--catalog", at("versions.json")], 0],
    ["verify a bare kubelet", () => ["verify", at("out/linux/amd64/kubelet"), "--version", "1.16.15", "--catalog", at("versions.json")], 0],
    ["audit with a manifest", () => ["audit", at("out/linux/amd64/kubelet"), "--manifest", at("out"), "--catalog", at("versions.json")], 0],
    ["inspect a tree", () => ["inspect", at("tree"), "--catalog", at("versions.json")], 0],
    ["resolve", () => ["resolve", "1.16.15", "--catalog", at("versions.json")], 0],
    ["matrix", () => ["matrix", "--catalog", at("versions.json")], 0],
    ["doctor", () => ["doctor", "--root", at("node")], 0],
    ["doctor --metrics", () => ["doctor", "--root", at("node"), "--metrics"], 0],
    ["report", () => ["report", at("fleet.log"), "--json"], 0],
    ["verify an unfinished publication", () => ["verify", at("half"), "--catalog", at("versions.json")], 4],
    ["audit --manifest of an unfinished publication", () => ["audit", at("out/linux/amd64/kubelet"), "--manifest", at("half")], 4],
  ] as const)("%s", (_name, args, code) => {
    const before = snapshotTree(base);
    const r = cli([...args()]);
    expect(r.stderr).not.toMatch(/EROFS|read-only file system|internal error/i);
    expect(r.code, r.stderr).toBe(code);
    expect(snapshotTree(base)).toEqual(before);
  });

  it("the mount really is read-only (so a write would have failed the command)", () => {
    if (!mounted) return;
    expect(() => writeFileSync(join(mnt, "probe"), "x")).toThrow(/EROFS/);
  });
});
