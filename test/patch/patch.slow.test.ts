/**
 * Patched fixture trees compile with real make and Go, and their kubelets
 * behave as nokmem: the stubbed functions are what runs. A plain make (no
 * GOFLAGS, so no nokmem tag) is used throughout: the patch alone must do it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { makeTree, RUNC_FS, type Era } from "../fixtures/k8s-tree.js";
import { envWithGo, tempDir } from "../helpers/tmp.js";

const ROOT = join(import.meta.dirname, "../..");
const CLI = join(ROOT, "dist/cli.js");

beforeAll(() => {
  execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "pipe" });
}, 120_000);

function make(root: string, env: Record<string, string> = {}): string {
  execFileSync("make", ["WHAT=cmd/kubelet"], { cwd: root, env: { ...envWithGo(), GO111MODULE: "off", ...env }, stdio: "pipe" });
  return join(root, "_output/local/bin/linux/amd64/kubelet");
}

function kubelet(bin: string, args: string[]) {
  const r = spawnSync(bin, args, { encoding: "utf8" });
  return { code: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

it.each<[Era, 0 | 1]>([
  ["1.13", 0],
  ["1.13", 1],
  ["1.16", 0],
])("era %s (memory.go variant %i): patched, gofmt-clean, builds, and the kubelet is nokmem with a clean version", async (era, variant) => {
  const tree = await makeTree(join(tempDir(), "k"), { era, memoryGoVariant: variant });
  const patch = spawnSync(process.execPath, [CLI, "patch", tree.root, "--json"], { encoding: "utf8" });
  expect(patch.status, patch.stderr).toBe(0);
  const result = JSON.parse(patch.stdout);
  expect(execFileSync("gofmt", ["-l", join(tree.root, RUNC_FS)], { env: envWithGo(), encoding: "utf8" })).toBe("");
  const bin = make(tree.root, { KUBE_GIT_VERSION_FILE: join(tree.root, result.versionFile.treePath), SOURCE_DATE_EPOCH: "1613563200" });
  expect(kubelet(bin, ["--version"]).out).toBe(`Kubernetes v${tree.version}`);
  const info = JSON.parse(kubelet(bin, ["version-json"]).out);
  expect(info).toMatchObject({ gitTreeState: "clean", gitCommit: tree.commit });
  const cg = join(tempDir(), "cg");
  mkdirSync(cg);
  expect(kubelet(bin, ["kmem-probe", cg]).out).toBe("kmem: disabled");
  const limit = kubelet(bin, ["kmem-limit", cg, "1048576"]);
  expect(limit.code).toBe(1);
  expect(limit.out).toBe("kubelet: kernel memory accounting disabled in this runc build");
});

it("1.16 built with the tag as well still compiles (kmem_disabled.go) and is nokmem", async () => {
  const tree = await makeTree(join(tempDir(), "k"), { era: "1.16" });
  expect(spawnSync(process.execPath, [CLI, "patch", tree.root, "--version-suffix", "nokmem.1"]).status).toBe(0);
  const bin = make(tree.root, { GOFLAGS: "-tags=nokmem", KUBE_GIT_VERSION_FILE: join(tree.root, "_output/kubelet-nokmem/version.env") });
  expect(kubelet(bin, ["--version"]).out).toBe("Kubernetes v1.16.15+nokmem.1");
  const cg = join(tempDir(), "cg");
  mkdirSync(cg);
  expect(kubelet(bin, ["kmem-probe", cg]).out).toBe("kmem: disabled");
});

it("without the patch the same plain build enables kmem (the test can tell)", async () => {
  const tree = await makeTree(join(tempDir(), "k"), { era: "1.13", memoryGoVariant: 1 });
  const cg = join(tempDir(), "cg");
  mkdirSync(cg);
  expect(kubelet(make(tree.root), ["kmem-probe", cg]).out).toBe("kmem: enabled");
});
