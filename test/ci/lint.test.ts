/**
 * The CI templates pass the real linters — actionlint for the GitHub workflow,
 * GitLab's ci.json schema (and its YAML-name rule) for the GitLab files and
 * the child pipeline `matrix --format gitlab` prints — and both linters fail
 * on a deliberately broken copy, so a passing check means something.
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CLI, cli, ROOT } from "../helpers/cli.js";
import { parseEnvFile } from "./runner/env-file.js";
import { actionlint, gitlabConfigProblems } from "./runner/lint.js";

const read = (rel: string) => readFileSync(join(ROOT, rel), "utf8");
const WORKFLOW = "ci/github/nokmem-kubelets.yml";
const GITLAB = ["ci/gitlab/.gitlab-ci.yml", "ci/gitlab/build-job.yml", "ci/gitlab/install.yml"];

const tmp = mkdtempSync(join(tmpdir(), "kn-ci-lint-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function catalogWith(pins: Record<string, unknown>): string {
  const file = join(tmp, `versions-${Object.keys(pins).join("_") || "empty"}.json`);
  writeFileSync(file, JSON.stringify({ ...JSON.parse(read("versions.json")), pins }, null, 2));
  return file;
}

describe("actionlint on the GitHub workflow", () => {
  it("finds nothing", async () => {
    expect(await actionlint(read(WORKFLOW), WORKFLOW)).toEqual([]);
  });

  it.each([
    ["an output the plan job does not have", (t: string) => t.replace("needs.plan.outputs.empty != 'true'", "needs.plan.outputs.emtpy != 'true'"), /emtpy/],
    ["a job without runs-on", (t: string) => t.replace("needs.plan.outputs.unpinned == 'true' }}\n    runs-on: ubuntu-24.04\n", "needs.plan.outputs.unpinned == 'true' }}\n"), /runs-on/],
    ["a package job reading a plan output that does not exist", (t: string) => t.replace("needs.plan.outputs.pinned != ''", "needs.plan.outputs.pined != ''"), /pined/],
    ["a package job that needs a job it does not wait for", (t: string) => t.replace("PINNED: ${{ needs.plan.outputs.pinned }}", "PINNED: ${{ needs.propose.outputs.pinned }}"), /propose/],
    ["a step id used twice", (t: string) => t.replace("      - id: matrix\n", "      - id: matrix\n        name: first\n        run: 'true'\n      - id: matrix\n"), /matrix/],
  ])("fails on a copy with %s", async (_what, breakIt, message) => {
    const broken = breakIt(read(WORKFLOW));
    expect(broken).not.toBe(read(WORKFLOW));
    const findings = await actionlint(broken, WORKFLOW);
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.map((f) => f.message).join("\n")).toMatch(message);
  });
});

/** Every `uses:` line that does not name a full 40-hex commit followed by its tag as a comment (`@<sha> # v1.2.3`). */
function unpinnedUses(yamlText: string): string[] {
  return yamlText
    .split("\n")
    .filter((l) => /^\s*(?:-\s+)?uses:/.test(l))
    .filter((l) => !/^\s*(?:-\s+)?uses:\s+[\w.-]+\/[\w./-]+@[0-9a-f]{40}\s+#\s+v\d+(?:\.\d+){0,2}\s*$/.test(l) && !/uses:\s+\.\//.test(l))
    .map((l) => l.trim());
}

describe("the GitHub workflow's supply chain", () => {
  const text = read(WORKFLOW);
  const wf = parse(text) as { concurrency?: { group?: string; "cancel-in-progress"?: boolean }; jobs: Record<string, { if?: string; steps: { uses?: string }[] }> };

  it("pins every action by a full commit SHA, with the tag as a comment", () => {
    const uses = Object.values(wf.jobs).flatMap((j) => j.steps.flatMap((st) => (st.uses ? [st.uses] : [])));
    expect(uses.length).toBeGreaterThan(5);
    for (const u of uses) expect(u).toMatch(/@[0-9a-f]{40}$/);
    expect(unpinnedUses(text)).toEqual([]);
  });

  it.each([
    ["a tag", "actions/checkout@v7"],
    ["a short SHA", "actions/checkout@3d3c42e"],
    ["a SHA without its tag", "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1"],
    ["a branch", "actions/checkout@main"],
  ])("the check refuses %s", (_what, ref) => {
    expect(unpinnedUses(`    steps:\n      - uses: ${ref}\n`)).toHaveLength(1);
  });

  it("queues runs per ref in one concurrency group, without cancelling a run in progress", () => {
    expect(wf.concurrency).toEqual({ group: expect.stringContaining("${{ github.ref }}"), "cancel-in-progress": false });
  });

  it("runs the propose job after failed builds, not after a cancelled run", () => {
    expect(wf.jobs.propose!.if).toMatch(/^\$\{\{ !cancelled\(\) && /);
    expect(wf.jobs.build!.if).toMatch(/!cancelled\(\)/);
  });
});

describe("GitLab's ci.json schema on the GitLab templates", () => {
  it.each(GITLAB)("%s is accepted", (file) => {
    expect(gitlabConfigProblems(parse(read(file)), file)).toEqual([]);
  });

  it.each([
    ["the child pipeline of a bootstrap run", { "1.16.15": undefined }, ["--releases", "1.16.15,1.20.15"]],
    ["the child pipeline of pinned releases", { "1.16.15": { commit: "", image: "img", sha256: { "linux/amd64": "a".repeat(64) } } }, []],
    ["an empty child pipeline", {}, []],
  ])("%s (printed by `matrix --format gitlab`) is accepted", (_what, pins, extra) => {
    const catalog = catalogWith(Object.fromEntries(Object.entries(pins).filter(([, p]) => p)));
    const r = cli(["matrix", "--catalog", catalog, "--format", "gitlab", ...extra]);
    expect(r.code, r.stderr).toBe(0);
    const child = parse(r.stdout);
    expect(gitlabConfigProblems(child, "child-pipeline.yml")).toEqual([]);
    // Every job the child names exists as a template in the included file.
    const template = parse(read("ci/gitlab/build-job.yml")) as Record<string, unknown>;
    for (const job of Object.values(child as Record<string, { extends?: string }>)) if (job && typeof job === "object" && "extends" in job) expect(template).toHaveProperty(job.extends!);
  });

  it.each([
    ["a child pipeline artifact named .json", (t: string) => t.replace("- artifact: child-pipeline.yml", "- artifact: child-pipeline.json"), /does not have YAML extension/],
    ["an unknown job keyword", (t: string) => t.replace("  stage: plan\n", "  stage: plan\n  scripts: [x]\n"), /scripts/],
    ["a trigger strategy GitLab does not know", (t: string) => t.replace("strategy: depend", "strategy: wait"), /trigger|strategy|allowed/],
  ])(".gitlab-ci.yml fails with %s", (_what, breakIt, message) => {
    const text = read("ci/gitlab/.gitlab-ci.yml");
    const broken = breakIt(text);
    expect(broken).not.toBe(text);
    const problems = gitlabConfigProblems(parse(broken), ".gitlab-ci.yml");
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join("\n")).toMatch(message);
  });
});

/**
 * The schema lets hidden jobs (`.name`) hold anything; the template jobs are
 * checked as the child pipeline's jobs that extend them see them: made
 * visible, as a job of their own.
 */
function templatesAsJobs(text: string): Record<string, unknown> {
  const doc = parse(text) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(doc).map(([k, v]) => [k.startsWith(".kubelet-nokmem-") && k !== ".kubelet-nokmem-install" ? k.slice(1) : k, v]));
}

describe("GitLab's ci.json schema on the template jobs, the package job among them", () => {
  it("build-job.yml's template jobs are accepted as jobs", () => {
    const doc = templatesAsJobs(read("ci/gitlab/build-job.yml"));
    expect(doc).toHaveProperty("kubelet-nokmem-package");
    expect(gitlabConfigProblems(doc, "ci/gitlab/build-job.yml")).toEqual([]);
  });

  it.each([
    ["an artifacts keyword GitLab does not know", (t: string) => t.replace("      - packaged.json\n", "      - packaged.json\n    keep: always\n"), /keep/],
    ["rules that are not a list", (t: string) => t.replace("  rules:\n    - if: $KUBELET_NOKMEM_PACKAGE\n", "  rules: $KUBELET_NOKMEM_PACKAGE\n"), /rules/],
  ])("the package job fails with %s", (_what, breakIt, message) => {
    const text = read("ci/gitlab/build-job.yml");
    const broken = breakIt(text);
    expect(broken).not.toBe(text);
    const problems = gitlabConfigProblems(templatesAsJobs(broken), "ci/gitlab/build-job.yml");
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join("\n")).toMatch(message);
  });
});

describe("matrix --help examples run as written", () => {
  const help = () => cli(["matrix", "--help"]).stdout;
  const bin = join(tmp, "bin");
  const shell = (script: string, env: Record<string, string>) => {
    spawnSync("mkdir", ["-p", bin]);
    try {
      symlinkSync(CLI, join(bin, "kubelet-nokmem"));
    } catch {
      /* made by an earlier case */
    }
    return spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], { cwd: tmp, encoding: "utf8", env: { ...process.env, ...env, PATH: `${bin}:${process.env.PATH}` } });
  };

  it("the $GITHUB_OUTPUT example writes a line the runner accepts", () => {
    const example = help().split("\n").find((l) => l.startsWith("  $ ") && l.includes("GITHUB_OUTPUT"))!.replace(/^\s*\$ /, "");
    const out = join(tmp, "github_output");
    writeFileSync(out, "");
    const r = shell(example, { GITHUB_OUTPUT: out });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(parseEnvFile(readFileSync(out, "utf8")).matrix!)).toEqual({ include: [] });
  });

  it("the old `--compact >> $GITHUB_OUTPUT` form is what the runner refuses", () => {
    const out = join(tmp, "github_output_old");
    writeFileSync(out, "");
    shell('kubelet-nokmem matrix --format github --compact >> "$GITHUB_OUTPUT"', { GITHUB_OUTPUT: out });
    expect(() => parseEnvFile(readFileSync(out, "utf8"))).toThrow(/Invalid format/);
  });

  it("the GitLab example writes a .yml child pipeline", () => {
    const example = help().split("\n").find((l) => l.startsWith("  $ ") && l.includes("--format gitlab"))!;
    expect(example).toMatch(/> \S+\.ya?ml\b/);
  });
});
