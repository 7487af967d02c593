/**
 * The CI templates under ci/ call the CLI. These tests parse them and check
 * that every command they run exists with the flags they pass, and that the
 * matrix fields they read are ones `matrix` prints, so the templates cannot rot.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildMatrix, gitlabChildPipeline, type MatrixEntry } from "../../src/catalog/matrix.js";
import { parseCatalog } from "../../src/catalog/load.js";
import { cli, ROOT } from "../helpers/cli.js";
import { parseEnvFile } from "./runner/env-file.js";

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
    const child = gitlabChildPipeline([
      { product: "kubelet", version: "1.16.15", line: "1.16", strategy: "kmem-override", platform: "linux/amd64", image: "i", sha256: "", slug: "s" },
      { product: "kubelet", version: "1.20.15", line: "1.20", strategy: "build-tag", platform: "linux/amd64", image: "i", sha256: "a".repeat(64), slug: "p" },
    ]);
    const jobs = Object.values(child).filter((j): j is { extends: string; variables: Record<string, string> } => typeof j === "object" && j !== null && "extends" in j);
    expect([...new Set(jobs.map((j) => j.extends))].sort()).toEqual([".kubelet-nokmem-build", ".kubelet-nokmem-package", ".kubelet-nokmem-propose"]);
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
    expect(github).toHaveLength(5);
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

/**
 * The optional package job on both engines: off unless its variable is set,
 * after the verified builds, every pinned kubelet folder into one
 * repository, signed when the key secret is set and saying so when it is not.
 * Its scripts run by bash with a stand-in `kubelet-nokmem` that records its
 * arguments (test/ci/*-pipeline/workflow.slow.test.ts run them for real).
 */
describe("the package job", () => {
  function runRecorded(script: string, env: Record<string, string>): { calls: string[]; output: string } {
    const dir = mkdtempSync(join(tmpdir(), "kn-ci-package-"));
    try {
      const record = join(dir, "calls");
      writeFileSync(record, "");
      writeFileSync(join(dir, "kubelet-nokmem"), `#!/bin/sh\necho "$*" >> "${record}"\necho '{}'\n`);
      chmodSync(join(dir, "kubelet-nokmem"), 0o755);
      // The packaging tools are "installed" (the job installs only what is missing).
      for (const tool of ["rpmbuild", "rpmsign", "rpm2cpio", "createrepo_c", "apt-ftparchive", "dpkg-deb", "gpg", "cpio"]) {
        writeFileSync(join(dir, tool), "#!/bin/sh\nexit 0\n");
        chmodSync(join(dir, tool), 0o755);
      }
      execFileSync("mkdir", ["-p", join(dir, "repository")]);
      const output = execFileSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
        cwd: dir,
        env: { PATH: `${dir}:/usr/bin:/bin`, GITHUB_STEP_SUMMARY: join(dir, "summary"), ...env },
        encoding: "utf8",
      });
      const summary = join(dir, "summary");
      return { calls: readFileSync(record, "utf8").trim().split("\n").filter(Boolean), output: output + (existsSync(summary) ? readFileSync(summary, "utf8") : "") };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  type Job = { needs?: string[]; if?: string; steps: { name?: string; uses?: string; env?: Record<string, string>; run?: string; with?: Record<string, string> }[] };
  const wf = parse(read("ci/github/nokmem-kubelets.yml")) as { jobs: Record<string, Job & { outputs?: Record<string, string> }> };
  const gitlab = parse(read("ci/gitlab/build-job.yml")) as Record<string, { stage?: string; rules?: { if: string }[]; script: string[]; artifacts: { paths: string[] } }>;

  it("GitHub: off unless KUBELET_NOKMEM_PACKAGE is set, after plan and the verified builds, when some kubelet is pinned; uploads the repository", () => {
    const job = wf.jobs.package!;
    expect(job.needs).toEqual(["plan", "build"]);
    for (const part of ["vars.KUBELET_NOKMEM_PACKAGE != ''", "needs.build.result == 'success'", "needs.plan.outputs.pinned != ''"]) expect(job.if).toContain(part);
    expect(wf.jobs.plan!.outputs).toHaveProperty("pinned");
    const upload = job.steps.at(-1)!;
    expect(upload.uses).toMatch(/^actions\/upload-artifact@[0-9a-f]{40}$/);
    expect(upload.with).toMatchObject({ name: "repository", path: "repository/", "if-no-files-found": "error" });
  });

  it("GitHub: the plan's `pinned` output names the pinned kubelets only", () => {
    const step = wf.jobs.plan!.steps.find((s) => s.run?.includes(`echo "pinned=`))!;
    const line = step.run!.split("\n").find((l) => l.includes(`echo "pinned=`))!;
    const matrix = JSON.stringify({
      include: [
        { product: "kubelet", sha256: "a".repeat(64), slug: "1.16.15-linux-amd64" },
        { product: "kubelet", sha256: "", slug: "1.20.15-linux-amd64" },
        { product: "runc", sha256: "b".repeat(64), slug: "runc-1.0.0-rc93-linux-amd64" },
        { product: "kubelet", sha256: "c".repeat(64), slug: "1.18.20-linux-amd64" },
      ],
    });
    const dir = mkdtempSync(join(tmpdir(), "kn-ci-pinned-"));
    try {
      const out = join(dir, "out");
      writeFileSync(out, "");
      execFileSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", line], { env: { PATH: process.env.PATH, matrix, GITHUB_OUTPUT: out } });
      expect(parseEnvFile(readFileSync(out, "utf8"))).toEqual({ pinned: "1.16.15-linux-amd64 1.18.20-linux-amd64" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const githubScript = () => wf.jobs.package!.steps.find((s) => s.run?.includes("kubelet-nokmem package"))!;
  const gitlabScript = () => gitlab[".kubelet-nokmem-package"]!.script.join("\n");

  it.each([
    ["GitHub", () => githubScript().run!, (key: string) => ({ FORMATS: "rpm,deb", PINNED: "1.16.15-linux-amd64 1.20.15-linux-amd64", GPG_KEY: key })],
    ["GitLab", gitlabScript, (key: string) => ({ KUBELET_NOKMEM_PACKAGE: "rpm,deb", KUBE_PINNED: "1.16.15-linux-amd64 1.20.15-linux-amd64", KUBELET_NOKMEM_GPG_KEY: key })],
  ])("%s: every pinned folder into one repository, signed with the key secret when it is set", (engine, script, env) => {
    const folder = (slug: string) => (engine === "GitHub" ? `built/kubelet-${slug}` : `out/${slug}`);
    const folders = `${folder("1.16.15-linux-amd64")} ${folder("1.20.15-linux-amd64")}`;
    const signed = runRecorded(script(), env("-----BEGIN PGP PRIVATE KEY BLOCK-----"));
    const gpgArg = engine === "GitHub" ? "env:GPG_KEY" : "env:KUBELET_NOKMEM_GPG_KEY";
    expect(signed.calls).toEqual([`package ${folders} --catalog versions.json --format rpm,deb --repo repository --gpg-key ${gpgArg} --json`]);
    expect(signed.output).not.toMatch(/NOT signed/);
    const unsigned = runRecorded(script(), env(""));
    expect(unsigned.calls).toEqual([`package ${folders} --catalog versions.json --format rpm,deb --repo repository --json`]);
    expect(unsigned.output).toMatch(/KUBELET_NOKMEM_GPG_KEY is not set: the packages and the repository metadata are NOT signed/);
  });

  it("GitLab: a File-type key variable (a path) is passed as the key file", () => {
    const dir = mkdtempSync(join(tmpdir(), "kn-ci-keyfile-"));
    try {
      const file = join(dir, "key.asc");
      writeFileSync(file, "key");
      const r = runRecorded(gitlabScript(), { KUBELET_NOKMEM_PACKAGE: "true", KUBE_PINNED: "1.16.15-linux-amd64", KUBELET_NOKMEM_GPG_KEY: file });
      expect(r.calls).toEqual([`package out/1.16.15-linux-amd64 --catalog versions.json --format rpm,deb --repo repository --gpg-key ${file} --json`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("GitLab: off unless KUBELET_NOKMEM_PACKAGE is set, in a stage after the builds, keeping the repository", () => {
    const job = gitlab[".kubelet-nokmem-package"]!;
    expect(job.rules).toEqual([{ if: "$KUBELET_NOKMEM_PACKAGE" }]);
    const stages = (parse(read("ci/gitlab/build-job.yml")) as { stages: string[] }).stages;
    expect(stages.indexOf(job.stage!)).toBeGreaterThan(stages.indexOf("build"));
    expect(job.artifacts.paths).toContain("repository/");
  });
});
