/**
 * A consumer repository as a team starts it: its own versions.json with no
 * pins, the CI templates copied in, pushed to a bare "origin" that accepts
 * push options the way GitLab does and records them (a post-receive hook, as
 * a server sees them). Plus the tool as a released tarball (`npm pack` of
 * this checkout) and a stand-in `gh` that checks the pushed branch exists.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { cli, ROOT } from "../../helpers/cli.js";
import { git, makeTree } from "../../fixtures/k8s-tree.js";

/** The build image the CI runs use. */
export const CI_IMAGE = process.env.KUBELET_NOKMEM_TEST_IMAGE ?? "kubelet-nokmem-toolchain:go1.19";

const TEMPLATE_FILES: Record<string, string> = {
  ".github/workflows/nokmem-kubelets.yml": "ci/github/nokmem-kubelets.yml",
  ".gitlab-ci.yml": "ci/gitlab/.gitlab-ci.yml",
  "ci/gitlab/build-job.yml": "ci/gitlab/build-job.yml",
  "ci/gitlab/install.yml": "ci/gitlab/install.yml",
};

export interface Consumer {
  origin: string;
  /** A working clone to make commits from, as a developer would. */
  clone: string;
  /** Push options the origin received, one `key=value` per line. */
  pushOptionsLog: string;
}

export function makeConsumer(dir: string): Consumer {
  const origin = join(dir, "origin.git");
  const clone = join(dir, "clone");
  mkdirSync(origin, { recursive: true });
  git(origin, ["init", "--quiet", "--bare", "--initial-branch=main"]);
  git(origin, ["config", "receive.advertisePushOptions", "true"]);
  const pushOptionsLog = join(dir, "push-options.log");
  writeFileSync(pushOptionsLog, "");
  const hook = join(origin, "hooks", "post-receive");
  writeFileSync(hook, `#!/bin/sh\ni=0\nwhile [ "$i" -lt "\${GIT_PUSH_OPTION_COUNT:-0}" ]; do eval "echo \\"\\$GIT_PUSH_OPTION_$i\\"" >> '${pushOptionsLog}'; i=$((i+1)); done\n`);
  chmodSync(hook, 0o755);
  git(dir, ["clone", "--quiet", origin, clone]);
  const catalog = JSON.parse(readFileSync(join(ROOT, "versions.json"), "utf8")) as { pins: unknown };
  catalog.pins = {};
  writeFileSync(join(clone, "versions.json"), `${JSON.stringify(catalog, null, 2)}\n`);
  for (const [to, from] of Object.entries(TEMPLATE_FILES)) {
    mkdirSync(dirname(join(clone, to)), { recursive: true });
    copyFileSync(join(ROOT, from), join(clone, to));
  }
  git(clone, ["add", "-A"]);
  git(clone, ["commit", "--quiet", "-m", "Adopt nokmem kubelets"]);
  git(clone, ["push", "--quiet", "origin", "main"]);
  return { origin, clone, pushOptionsLog };
}

/** What an end-to-end CI test starts from; filled in before the file's tests run. */
interface CiStart {
  tmp: string;
  consumer: Consumer;
  /** The variables a team sets: the packed tool, the Kubernetes source, the build image. */
  variables: { KUBELET_NOKMEM: string; KUBERNETES_SOURCE: string; KUBELET_NOKMEM_IMAGE: string };
}

/**
 * Before the file's tests: a 1.16 fixture release as the Kubernetes source, a
 * consumer repository with no pins, and the tool packed as a release, in a
 * fresh folder named after `prefix`; after them, that folder goes.
 */
export function startConsumer(prefix: string): CiStart {
  const start = {} as CiStart;
  beforeAll(async () => {
    start.tmp = mkdtempSync(join(tmpdir(), prefix));
    const tree = await makeTree(join(start.tmp, "kubernetes"), { era: "1.16" });
    start.consumer = makeConsumer(join(start.tmp, "consumer"));
    start.variables = { KUBELET_NOKMEM: packTool(join(start.tmp, "release")), KUBERNETES_SOURCE: tree.root, KUBELET_NOKMEM_IMAGE: CI_IMAGE };
  });
  afterAll(() => {
    if (start.tmp) rmSync(start.tmp, { recursive: true, force: true });
  });
  return start;
}

/** Change one byte of a pinned checksum in the consumer's versions.json (a drifted pin) and push it. */
export function commitPinDrift(c: Consumer, version: string, platform: string): void {
  commitCatalog(c, (catalog) => {
    const sha = catalog.pins[version]!.sha256[platform]!;
    catalog.pins[version]!.sha256[platform] = sha.slice(0, -1) + (sha.at(-1) === "0" ? "1" : "0");
  }, "Pin drift");
}

/** Change versions.json in the consumer (as a reviewed commit would) and push it. */
function commitCatalog(c: Consumer, change: (catalog: { pins: Record<string, { sha256: Record<string, string> }> }) => void, message: string): void {
  git(c.clone, ["pull", "--quiet", "--ff-only", "origin", "main"]);
  const file = join(c.clone, "versions.json");
  const catalog = JSON.parse(readFileSync(file, "utf8"));
  change(catalog);
  writeFileSync(file, `${JSON.stringify(catalog, null, 2)}\n`);
  git(c.clone, ["commit", "--quiet", "-am", message]);
  git(c.clone, ["push", "--quiet", "origin", "main"]);
}

/** Merge a proposed branch into main on the origin (a fast-forward, as a merge button would do here). */
export function mergeProposal(c: Consumer, branch: string): void {
  const main = git(c.origin, ["rev-parse", "refs/heads/main"]);
  const head = git(c.origin, ["rev-parse", `refs/heads/${branch}`]);
  if (git(c.origin, ["merge-base", main, head]) !== main) throw new Error(`${branch} does not fast-forward main`);
  git(c.origin, ["update-ref", "refs/heads/main", head, main]);
}

export function catalogAt(c: Consumer, ref: string): { pins: Record<string, { image: string; sha256: Record<string, string> }>; runcPins?: Record<string, { image: string; strategy?: string; sha256: Record<string, string> }> } {
  return JSON.parse(git(c.origin, ["show", `${ref}:versions.json`]));
}

/** The released tarball of this checkout, as `npm pack` makes it. */
function packTool(into: string): string {
  mkdirSync(into, { recursive: true });
  const r = spawnSync("npm", ["pack", "--silent", "--pack-destination", into], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`npm pack failed: ${r.stderr}`);
  return join(into, r.stdout.trim().split("\n").at(-1)!);
}

/**
 * `gh` as a hosted runner has it, for the one call the workflow makes:
 * `gh pr create --base B --head H …`. It records its arguments and, like the
 * real one, fails when the head branch is not on the remote.
 */
export function fakeGh(dir: string): { bin: string; record: string } {
  const bin = join(dir, "gh-bin");
  mkdirSync(bin, { recursive: true });
  const record = join(dir, "gh-calls.log");
  writeFileSync(record, "");
  const script = `#!/usr/bin/env bash
set -euo pipefail
printf '%s\\n' "$*" >> '${record}'
head=""
while [ $# -gt 0 ]; do case "$1" in --head) head="$2"; shift 2;; *) shift;; esac; done
[ -n "$GH_TOKEN" ] || { echo "gh: GH_TOKEN is not set" >&2; exit 4; }
git ls-remote --exit-code origin "refs/heads/$head" > /dev/null || { echo "gh: head branch $head is not on the remote" >&2; exit 1; }
echo "https://github.invalid/pull/1"
`;
  writeFileSync(join(bin, "gh"), script);
  chmodSync(join(bin, "gh"), 0o755);
  return { bin, record };
}

/**
 * The RPM a repository job published, as rpm reads it, and the kubelet inside
 * it matched against the consumer's merged pin (`verify` of a package file).
 */
export function expectPinnedRpm(start: CiStart, rpm: string): void {
  const q = spawnSync("rpm", ["-qp", "--qf", "%{NAME} %{VERSION}-%{RELEASE} %{ARCH}", rpm], { encoding: "utf8" });
  expect(q.stdout, q.stderr).toBe("kubelet 1.16.15-1.nokmem x86_64");
  const catalogFile = join(start.tmp, "versions-main.json");
  writeFileSync(catalogFile, JSON.stringify(catalogAt(start.consumer, "main")));
  const v = cli(["verify", rpm, "--catalog", catalogFile, "--json"]);
  expect(v.code, v.stderr).toBe(0);
  expect((JSON.parse(v.stdout) as { results: { outcome: string; path: string }[] }).results).toEqual([
    expect.objectContaining({ outcome: "match", path: `${rpm}!/usr/bin/kubelet`, version: "1.16.15" }),
  ]);
}
