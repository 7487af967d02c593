/**
 * The doctor on real kubelets: fixture trees of the 1.18 and 1.22 eras built
 * with real make and Go, installed into fixture node roots, judged through the
 * built CLI. The default marker check must tell the tagged build from the
 * plain one, and must not call a kubelet without kmem code patched.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTree, type Era } from "../fixtures/k8s-tree.js";
import { envWithGo, tempDir } from "../helpers/tmp.js";
import { cli, ensureBuilt } from "../support/built-cli.js";
import { centos7NokmemBinariesNode, removeRoot, writeRoot, type NodeFiles } from "./node-root.js";

async function buildKubelet(era: Era, env: Record<string, string>): Promise<string> {
  const tree = await makeTree(join(tempDir(), "k"), { era });
  execFileSync("make", ["WHAT=cmd/kubelet"], { cwd: tree.root, env: { ...envWithGo(), GO111MODULE: "off", ...env }, stdio: "pipe" });
  return join(tree.root, "_output/local/bin/linux/amd64/kubelet");
}

const roots: string[] = [];
beforeAll(() => ensureBuilt(), 120_000);
afterAll(async () => {
  await Promise.all(roots.map(removeRoot));
});

/** A CentOS 7 node with kmem off and a nokmem runc: only the kubelet decides the verdict. */
async function nodeWith(kubelet: string): Promise<string> {
  const files: NodeFiles = { ...centos7NokmemBinariesNode(), "usr/bin/kubelet": null };
  const root = await writeRoot(files);
  roots.push(root);
  mkdirSync(join(root, "usr/bin"), { recursive: true });
  copyFileSync(kubelet, join(root, "usr/bin/kubelet"));
  return root;
}

async function doctor(root: string) {
  const r = await cli(["doctor", "--root", root, "--json"]);
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { verdict: string; binaries: { kubelet: { verdict: string; evidence: { id: string }[] } } };
}

describe("doctor with real fixture kubelets", () => {
  // A 1.22 kubelet carries no kmem code, so no marker either way: the marker
  // check says unknown (never patched), and on an unprotected 3.10 kernel the
  // node stays at risk until the version-aware audit says not-affected.
  it.each<[string, string, string, Era, Record<string, string>]>([
    ["a plain 1.18 build", "unpatched", "at-risk", "1.18", {}],
    ["a 1.18 build with GOFLAGS=-tags=nokmem", "patched", "healthy", "1.18", { GOFLAGS: "-tags=nokmem" }],
    ["a 1.22 build (no kmem code)", "unknown", "at-risk", "1.22", {}],
  ])("%s: kubelet %s, node %s", async (_name, kubeletVerdict, nodeVerdict, era, env) => {
    const root = await nodeWith(await buildKubelet(era, env));
    const report = await doctor(root);
    expect(report.binaries.kubelet.verdict).toBe(kubeletVerdict);
    expect(report.verdict).toBe(nodeVerdict);
  });
});
