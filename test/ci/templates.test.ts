/**
 * The CI templates under ci/ call the CLI. These tests parse them and check
 * that every command they run exists with the flags they pass, and that the
 * matrix fields they read are ones `matrix` prints, so the templates cannot rot.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildMatrix, gitlabChildPipeline, type MatrixEntry } from "../../src/catalog/matrix.js";
import { parseCatalog } from "../../src/catalog/load.js";
import { cli, ROOT } from "../helpers/cli.js";

const read = (rel: string) => readFileSync(join(ROOT, rel), "utf8");

/** Every `kubelet-nokmem <command> …` in a script text, with the flags it passes. */
export function invocations(script: string): { command: string; flags: string[] }[] {
  const out: { command: string; flags: string[] }[] = [];
  const folded = script.replace(/\\\n/g, " ");
  for (const line of folded.split("\n")) {
    for (const m of line.matchAll(/kubelet-nokmem(?:@\S+)?\s+([a-z][a-z-]*)((?:\s+[^\s|;&>]+)*)/g)) {
      if (/^(install|--global)$/.test(m[1]!)) continue;
      // `image` has subcommands: `image build --tag …` is checked against `image build --help`.
      const sub = m[1] === "image" ? /^\s+([a-z]+)/.exec(m[2] ?? "")?.[1] : undefined;
      out.push({ command: sub ? `${m[1]} ${sub}` : m[1]!, flags: [...(m[2] ?? "").matchAll(/--[a-z][a-z-]*/g)].map((f) => f[0]) });
    }
  }
  return out;
}

/** All strings in a parsed YAML document (scripts live in `run:` and `script:` values). */
function strings(node: unknown): string[] {
  if (typeof node === "string") return [node];
  if (Array.isArray(node)) return node.flatMap(strings);
  if (node && typeof node === "object") return Object.values(node).flatMap(strings);
  return [];
}

const helpCache = new Map<string, string>();
function help(command: string): string {
  if (!helpCache.has(command)) {
    const r = cli([...command.split(" "), "--help"]);
    expect(r.code, `\`kubelet-nokmem ${command} --help\` failed: ${r.stderr}`).toBe(0);
    expect(r.stdout, `\`kubelet-nokmem ${command}\` does not exist`).toMatch(new RegExp(`^Usage: kubelet-nokmem ${command} `));
    helpCache.set(command, r.stdout);
  }
  return helpCache.get(command)!;
}

const TEMPLATES = ["ci/github/nokmem-kubelets.yml", "ci/gitlab/.gitlab-ci.yml", "ci/gitlab/build-job.yml", "ci/gitlab/install.yml"];

describe("CI templates", () => {
  it.each(TEMPLATES)("%s is valid YAML", (file) => {
    expect(() => parse(read(file))).not.toThrow();
    expect(parse(read(file))).toBeTypeOf("object");
  });

  it.each(TEMPLATES)("%s calls only commands and flags the CLI has", (file) => {
    const calls = strings(parse(read(file))).flatMap(invocations);
    // install.yml only installs the tool and prints its version.
    if (file.endsWith("install.yml")) expect(read(file)).toMatch(/^\s+kubelet-nokmem --version$/m);
    else expect(calls.length).toBeGreaterThan(0);
    for (const { command, flags } of calls) {
      const text = help(command);
      for (const flag of flags) expect(text, `${file}: kubelet-nokmem ${command} has no ${flag}`).toMatch(new RegExp(`${flag}\\b`));
    }
  });

  it("the invocation finder sees folded commands, conditional flags and subcommands", () => {
    expect(invocations('x="$(kubelet-nokmem matrix --format github ${LINES:+--line "$LINES"})"')).toEqual([{ command: "matrix", flags: ["--format", "--line"] }]);
    expect(invocations("sudo kubelet-nokmem image build --tag t ${M:+--mirror \"$M\"}")).toEqual([{ command: "image build", flags: ["--tag", "--mirror"] }]);
  });

  it("the GitHub workflow reads only fields the matrix entries have", () => {
    const catalog = parseCatalog(read("versions.json"));
    const entry = buildMatrix({ ...catalog, pins: { "1.16.15": { commit: "", image: "i", sha256: { "linux/amd64": "" } } } })[0]!;
    const used = [...read("ci/github/nokmem-kubelets.yml").matchAll(/(?<![.\w])matrix\.([a-zA-Z0-9_]+)/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(0);
    for (const field of used) expect(entry, `matrix.${field}`).toHaveProperty(field);
  });

  it("the GitLab child pipeline extends the template jobs and sets the variables each reads", () => {
    const template = parse(read("ci/gitlab/build-job.yml")) as Record<string, unknown>;
    const child = gitlabChildPipeline([{ product: "kubelet", version: "1.16.15", line: "1.16", strategy: "kmem-override", platform: "linux/amd64", image: "i", sha256: "", slug: "s" }]);
    const jobs = Object.values(child).filter((j): j is { extends: string; variables: Record<string, string> } => typeof j === "object" && j !== null && "extends" in j);
    expect(jobs.map((j) => j.extends).sort()).toEqual([".kubelet-nokmem-build", ".kubelet-nokmem-propose"]);
    for (const job of jobs) {
      expect(template).toHaveProperty(job.extends);
      const reads = [...JSON.stringify(template[job.extends]).matchAll(/\$\{?(KUBE_[A-Z0-9_]+)/g)].map((m) => m[1]!);
      expect(reads.length, job.extends).toBeGreaterThan(0);
      for (const v of reads) expect(job.variables, `${job.extends} reads ${v}`).toHaveProperty(v);
    }
    expect((child.include as { local: string }[])[0]!.local).toBe("ci/gitlab/build-job.yml");
  });

  it("the GitHub workflow rebuilds on a schedule and fails on a mismatch through verify", () => {
    const wf = parse(read("ci/github/nokmem-kubelets.yml")) as { on: { schedule?: unknown[] }; jobs: { build: { steps: { run?: string }[] } } };
    expect(wf.on.schedule?.length).toBeGreaterThan(0);
    expect(wf.jobs.build.steps.some((s) => s.run?.includes("kubelet-nokmem verify"))).toBe(true);
  });

  it("every job installs the tool with the same script, on both engines", () => {
    const wf = parse(read("ci/github/nokmem-kubelets.yml")) as { jobs: Record<string, { steps: { name?: string; run?: string }[] }> };
    const github = Object.values(wf.jobs).map((j) => j.steps.find((s) => s.name === "Install kubelet-nokmem")?.run);
    expect(github).toHaveLength(4);
    const gitlab = (parse(read("ci/gitlab/install.yml")) as Record<string, { before_script: string[] }>)[".kubelet-nokmem-install"]!.before_script;
    expect(gitlab).toHaveLength(1);
    for (const script of github) expect(script).toBe(gitlab[0]);
    // Every GitLab job that runs the tool extends the install job.
    const jobs = { ...(parse(read("ci/gitlab/.gitlab-ci.yml")) as Record<string, { extends?: string; script?: string[] }>), ...(parse(read("ci/gitlab/build-job.yml")) as Record<string, { extends?: string; script?: string[] }>) };
    for (const [name, job] of Object.entries(jobs)) {
      if (job?.script?.some((l) => l.includes("kubelet-nokmem "))) expect(job.extends, name).toBe(".kubelet-nokmem-install");
    }
  });
});

/**
 * A catalog with a kubelet pin and a runc pin side by side, and each
 * template's build script run by bash for each entry, with a stand-in
 * `kubelet-nokmem` on PATH that records its arguments: the entry's product
 * decides the command.
 */
describe("a mixed matrix: a runc entry next to a kubelet entry", () => {
  const sha = (c: string) => c.repeat(64);
  const catalog = parseCatalog(read("versions.json"));
  const entries = buildMatrix({
    ...catalog,
    pins: { "1.16.15": { commit: "", image: "kubelet-nokmem-toolchain:go1.19", sha256: { "linux/amd64": sha("a") } } },
    runcPins: { "1.0.0-rc93": { commit: "", image: "kubelet-nokmem-toolchain:go1.19-runc", strategy: "runc-build-tag", sha256: { "linux/amd64": sha("b") } } },
  });

  /** Run `script` with `env`; returns each recorded `kubelet-nokmem` call as one line. */
  function runScript(script: string, env: Record<string, string>): string[] {
    const dir = mkdtempSync(join(tmpdir(), "kn-ci-script-"));
    try {
      const record = join(dir, "calls");
      writeFileSync(join(dir, "kubelet-nokmem"), `#!/bin/sh\necho "$*" >> "${record}"\n`);
      chmodSync(join(dir, "kubelet-nokmem"), 0o755);
      // As GitHub runs a `run:` script (bash --noprofile --norc -eo pipefail); GitLab's shell runner is no stricter.
      execFileSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], { cwd: dir, env: { PATH: `${dir}:/usr/bin:/bin`, GITHUB_STEP_SUMMARY: join(dir, "summary"), ...env }, stdio: "pipe" });
      return readFileSync(record, "utf8").trim().split("\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const expected = (e: MatrixEntry) =>
    e.product === "runc"
      ? `build runc --catalog versions.json --version ${e.version} --image ${e.image} --pull missing --out out/${e.slug} --json`
      : `build --catalog versions.json --version ${e.version} --platform ${e.platform} --image ${e.image} --pull missing --out out/${e.slug} --json`;

  it("the matrix holds both, each with its product", () => {
    expect(entries.map((e) => [e.product, e.version, e.image])).toEqual([
      ["kubelet", "1.16.15", "kubelet-nokmem-toolchain:go1.19"],
      ["runc", "1.0.0-rc93", "kubelet-nokmem-toolchain:go1.19-runc"],
    ]);
  });

  it("GitHub: the build step runs `build runc` for the runc entry and `build` for the kubelet, then verify", () => {
    const wf = parse(read("ci/github/nokmem-kubelets.yml")) as { jobs: { build: { name: string; steps: { name?: string; if?: string; env?: Record<string, string>; run?: string }[] } } };
    const steps = wf.jobs.build.steps.filter((s) => s.run?.includes("kubelet-nokmem build ") || s.run?.includes("kubelet-nokmem verify "));
    expect(steps).toHaveLength(2);
    for (const e of entries) {
      const fromMatrix = (v: string) => v.replace(/\$\{\{\s*matrix\.([a-z0-9]+)\s*\}\}/gi, (_, f: string) => String(e[f as keyof MatrixEntry]));
      const calls = steps.flatMap((s) => runScript(s.run!, Object.fromEntries(Object.entries(s.env ?? {}).map(([k, v]) => [k, fromMatrix(v)]))));
      expect(calls).toEqual([expected(e), `verify out/${e.slug} --catalog versions.json --json`]);
      expect(fromMatrix(wf.jobs.build.name)).toBe(`${e.product} ${e.version} ${e.platform}`);
    }
  });

  it("GitLab: each child job runs `build runc` for the runc entry and `build` for the kubelet, then verify", () => {
    const template = (parse(read("ci/gitlab/build-job.yml")) as Record<string, { script: string[] }>)[".kubelet-nokmem-build"]!;
    const child = gitlabChildPipeline(entries);
    for (const e of entries) {
      const job = child[`${e.product} ${e.version} ${e.platform}`] as { variables: Record<string, string> };
      expect(job.variables.KUBE_PRODUCT).toBe(e.product);
      const calls = template.script.flatMap((line) => runScript(line, job.variables));
      expect(calls).toEqual([expected(e), `verify out/${e.slug} --catalog versions.json --json`]);
    }
  });
});
