/**
 * The propose step of both templates, run as written with bash against a
 * workspace where one build published, one failed (no artifact), one was
 * published but cannot be pinned, and one was pinned already: it pins exactly
 * the first, lists the two others as not pinned, leaves the pinned one alone,
 * and exits 0 so the proposal still goes out.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { git } from "../fixtures/k8s-tree.js";
import { ROOT } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const read = (rel: string) => readFileSync(join(ROOT, rel), "utf8");
const workflow = parse(read("ci/github/nokmem-kubelets.yml")) as { jobs: { propose: { steps: { name?: string; run?: string }[] } } };
const GITHUB_STEP = workflow.jobs.propose.steps.find((s) => s.name?.startsWith("Pin every build"))!.run!;
const GITLAB_STEP = (parse(read("ci/gitlab/build-job.yml")) as Record<string, { script: string[] }>)[".kubelet-nokmem-propose"]!.script[0]!;

const ENTRIES = [
  { slug: "1.16.15-linux-amd64", sha256: "", outcome: "published" },
  { slug: "1.18.20-linux-amd64", sha256: "", outcome: "failed" },
  { slug: "1.20.15-linux-amd64", sha256: "", outcome: "unpinnable" },
  { slug: "1.17.17-linux-amd64", sha256: "a".repeat(64), outcome: "published" },
] as const;

/** A repository with versions.json, the builds' folders under `root`, and a stand-in kubelet-nokmem whose `pin` edits versions.json. */
function workspace(root: (slug: string) => string): { dir: string; bin: string } {
  const dir = tempDir("kn-propose-");
  writeFileSync(join(dir, "versions.json"), '{"pins": {}}\n');
  git(dir, ["init", "-q", "-b", "main"]);
  git(dir, ["add", "versions.json"]);
  git(dir, ["-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-q", "-m", "catalog"]);
  for (const e of ENTRIES) {
    if (e.outcome === "failed") continue;
    mkdirSync(join(dir, root(e.slug)), { recursive: true });
    writeFileSync(join(dir, root(e.slug), "SHA256SUMS"), `${"1".repeat(64)}  linux/amd64/kubelet\n`);
    if (e.outcome === "unpinnable") writeFileSync(join(dir, root(e.slug), "UNPINNABLE"), "");
  }
  const bin = join(dir, ".bin");
  mkdirSync(bin);
  writeFileSync(
    join(bin, "kubelet-nokmem"),
    `#!/bin/bash
[ "$1" = pin ] && [ "$3" = --catalog ] || { echo "unexpected: $*" >&2; exit 64; }
if [ -e "$2/UNPINNABLE" ]; then echo "expected a pin that agrees, found a conflict" >&2; exit 4; fi
echo "pinned $2" >> "$4"
echo "pinned $(basename "$2")"
`,
  );
  chmodSync(join(bin, "kubelet-nokmem"), 0o755);
  return { dir, bin };
}

function run(script: string, dir: string, bin: string, env: Record<string, string>, flags: string[]) {
  writeFileSync(join(dir, ".step.sh"), script);
  return spawnSync("bash", ["--noprofile", "--norc", ...flags, ".step.sh"], { cwd: dir, encoding: "utf8", env: { ...process.env, ...env, PATH: `${bin}:${process.env.PATH}` } });
}

const pinnedSlugs = (dir: string) => readFileSync(join(dir, "pins.txt"), "utf8").trim().split("\n");

describe.each([
  ["GitHub, bash -e (the runner's default shell)", ["-e"]],
  ["GitHub, bash -eo pipefail", ["-eo", "pipefail"]],
])("the GitHub propose step, %s", (_shell, flags) => {
  it("pins every build that succeeded and lists the failed ones", () => {
    const { dir, bin } = workspace((slug) => `built/kubelet-${slug}`);
    const matrix = JSON.stringify({ include: ENTRIES.map((e) => ({ slug: e.slug, sha256: e.sha256 })) });
    writeFileSync(join(dir, "summary.md"), "");
    const r = run(GITHUB_STEP, dir, bin, { MATRIX: matrix, GITHUB_STEP_SUMMARY: join(dir, "summary.md") }, flags);
    expect(r.status, r.stderr).toBe(0);
    expect(pinnedSlugs(dir)).toEqual(["pinned kubelet-1.16.15-linux-amd64"]);
    const failed = readFileSync(join(dir, "failed.txt"), "utf8");
    expect(failed).toMatch(/^1\.18\.20-linux-amd64: the build failed or published nothing$/m);
    expect(failed).toMatch(/^1\.20\.15-linux-amd64: not pinned: expected a pin that agrees, found a conflict$/m);
    expect(failed).not.toContain("1.17.17");
    expect(r.stdout).toMatch(/^::warning title=not pinned::1\.18\.20-linux-amd64/m);
    expect(readFileSync(join(dir, "summary.md"), "utf8")).toMatch(/### Proposed pins[\s\S]*### Builds not pinned/);
    expect(readFileSync(join(dir, "pins.diff"), "utf8")).toContain("+pinned built/kubelet-1.16.15-linux-amd64");
  });
});

describe("the GitLab propose job's pin script", () => {
  it("pins every build that succeeded and lists the failed ones", () => {
    const { dir, bin } = workspace((slug) => `out/${slug}`);
    const unpinned = ENTRIES.filter((e) => !e.sha256).map((e) => e.slug).join(" ");
    const r = run(GITLAB_STEP, dir, bin, { KUBE_UNPINNED: unpinned }, ["-eo", "pipefail"]);
    expect(r.status, r.stderr).toBe(0);
    expect(pinnedSlugs(dir)).toEqual(["pinned 1.16.15-linux-amd64"]);
    expect(r.stdout).toMatch(/Not pinned[^\n]*\n1\.18\.20-linux-amd64: the build failed or published nothing\n1\.20\.15-linux-amd64: not pinned: /);
  });
});
