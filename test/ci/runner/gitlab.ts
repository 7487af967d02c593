/**
 * Runs a GitLab CI pipeline the way GitLab and a shell-executor runner would,
 * without either: `include: local` merged (the including file wins),
 * `extends` resolved (hashes merged deeply, everything else replaced),
 * `rules:` evaluated (`if:` over variables with == != && || and parentheses;
 * `changes:` against the pushed files, always true for other sources), stages
 * in order with a failed stage stopping the ones after it, each job in a
 * fresh clone with `before_script` + `script` run by bash with
 * `set -eo pipefail`, artifacts of earlier stages (or of `needs`) downloaded
 * first, and `trigger: include: artifact:` running the generated child
 * pipeline after GitLab's checks: the file's name must end in .yml/.yaml and
 * every configuration must pass GitLab's ci.json schema (./lint.ts).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { gitlabConfigProblems } from "./lint.js";
import { copyInto, globToRegExp, matchFiles, walkFiles } from "./files.js";
import { git } from "../../fixtures/k8s-tree.js";
import { checkout, freshMachine, runScript, touch } from "./machine.js";

type PipelineSource = "push" | "schedule" | "web" | "parent_pipeline";
type Status = "success" | "failed" | "skipped";
type Config = Record<string, unknown>;

export interface GitlabRunOptions {
  origin: string;
  branch: string;
  source: PipelineSource;
  changed?: string[];
  /** Variables given when the pipeline is run (the Run pipeline form, a schedule's variables). */
  pipelineVariables?: Record<string, string>;
  /** Project CI/CD variables. */
  projectVariables?: Record<string, string>;
  work: string;
  machinePath?: string[];
  /** The file to start from (default .gitlab-ci.yml); a child pipeline passes its text instead. */
  file?: string;
}

interface GitlabJobRecord {
  pipeline: string;
  job: string;
  stage: string;
  status: Status;
  log: string;
  variables: Record<string, string>;
}

export interface GitlabRun {
  created: boolean;
  /** Why GitLab refused to create the pipeline, when it did. */
  errors: string[];
  status: Status;
  jobs: GitlabJobRecord[];
  /** Job name → folder holding its artifacts (paths as in the project). */
  artifacts: Record<string, string>;
}

const RESERVED = new Set(["stages", "variables", "include", "default", "workflow", "image", "services", "cache", "before_script", "after_script", "spec"]);

function isHash(v: unknown): v is Config {
  return Boolean(v) && typeof v === "object" && !Array.isArray(v);
}

/** GitLab's deep merge for include and extends: hashes merge, other values are replaced. */
export function deepMerge(base: Config, over: Config): Config {
  const out: Config = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const mine = out[k];
    out[k] = isHash(mine) && isHash(v) ? deepMerge(mine, v) : v;
  }
  return out;
}

/** Read a configuration text, merging its local includes; schema problems of every file are collected. */
function loadConfig(text: string, name: string, project: string, problems: string[], depth = 0): Config {
  const doc = parse(text) as Config;
  problems.push(...gitlabConfigProblems(doc, name));
  const includes = doc.include === undefined ? [] : Array.isArray(doc.include) ? doc.include : [doc.include];
  let merged: Config = {};
  for (const inc of includes) {
    const local = typeof inc === "string" ? inc : isHash(inc) ? (inc.local as string | undefined) : undefined;
    if (!local) {
      problems.push(`${name}: include ${JSON.stringify(inc)} is outside the supported subset (local only)`);
      continue;
    }
    if (depth > 100) throw new Error("include nesting too deep");
    const path = join(project, local.replace(/^\//, ""));
    if (!existsSync(path)) {
      problems.push(`${name}: Local file \`${local}\` does not exist!`);
      continue;
    }
    merged = deepMerge(merged, loadConfig(readFileSync(path, "utf8"), local, project, problems, depth + 1));
  }
  const { include: _include, ...own } = doc;
  return deepMerge(merged, own);
}

function resolveExtends(config: Config, name: string, seen: string[] = []): Config {
  const job = config[name];
  if (!isHash(job)) throw new Error(`extends: unknown key ${name}`);
  if (seen.includes(name)) throw new Error(`extends cycle: ${[...seen, name].join(" → ")}`);
  const parents = job.extends === undefined ? [] : Array.isArray(job.extends) ? (job.extends as string[]) : [job.extends as string];
  let base: Config = {};
  for (const p of parents) base = deepMerge(base, resolveExtends(config, p, [...seen, name]));
  const { extends: _e, ...own } = job;
  return deepMerge(base, own);
}

/** `rules:if` expressions: $VAR, "strings", null, == != && || and parentheses. */
export function ruleMatches(expr: string, vars: Record<string, string>): boolean {
  const tokens = expr.match(/\$[A-Za-z_][A-Za-z0-9_]*|"[^"]*"|'[^']*'|==|!=|&&|\|\||\(|\)|null|\S+/g) ?? [];
  let pos = 0;
  const value = (t: string): string | null => {
    if (t.startsWith("$")) return vars[t.slice(1)] ?? null;
    if (t.startsWith('"') || t.startsWith("'")) return t.slice(1, -1);
    if (t === "null") return null;
    throw new Error(`rules:if token ${t} is outside the supported subset: ${expr}`);
  };
  const primary = (): boolean | string | null => {
    const t = tokens[pos++]!;
    if (t === "(") {
      const v = or();
      if (tokens[pos++] !== ")") throw new Error(`expected ) in ${expr}`);
      return v;
    }
    const left = value(t);
    const op = tokens[pos];
    if (op === "==" || op === "!=") {
      pos++;
      const right = value(tokens[pos++]!);
      return op === "==" ? left === right : left !== right;
    }
    return left;
  };
  const truth = (v: boolean | string | null) => (typeof v === "boolean" ? v : v !== null && v !== "");
  const and = (): boolean => {
    let v = truth(primary());
    while (tokens[pos] === "&&") {
      pos++;
      v = truth(primary()) && v;
    }
    return v;
  };
  const or = (): boolean => {
    let v = and();
    while (tokens[pos] === "||") {
      pos++;
      v = and() || v;
    }
    return v;
  };
  const result = or();
  if (pos !== tokens.length) throw new Error(`unexpected ${tokens[pos]} in ${expr}`);
  return result;
}

function included(job: Config, vars: Record<string, string>, o: GitlabRunOptions): boolean {
  if (job.rules === undefined) return true;
  for (const rule of job.rules as { if?: string; changes?: string[] | { paths: string[] }; when?: string }[]) {
    if (rule.if !== undefined && !ruleMatches(rule.if, vars)) continue;
    if (rule.changes !== undefined && o.source === "push") {
      const paths = Array.isArray(rule.changes) ? rule.changes : rule.changes.paths;
      if (!(o.changed ?? []).some((f) => paths.some((p) => globToRegExp(p).test(f)))) continue;
    }
    return rule.when !== "never";
  }
  return false;
}

/** $VAR and ${VAR} in a string, from the job's variables (artifacts:paths and variables values). */
function expand(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, n: string) => vars[n] ?? "");
}

function asVariables(v: unknown): Record<string, string> {
  if (!isHash(v)) return {};
  // A variable is a scalar or { value, description }.
  const text = (x: unknown) => (typeof x === "string" || typeof x === "number" || typeof x === "boolean" ? String(x) : "");
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, isHash(x) ? text(x.value) : text(x)]));
}

let pipelineCounter = 500;

export async function runPipeline(o: GitlabRunOptions, childText?: { text: string; name: string; forwarded: Record<string, string> }): Promise<GitlabRun> {
  const id = pipelineCounter++;
  const project = join(o.work, `source-${id}`);
  const sha = checkout(o.origin, o.branch, project);
  const problems: string[] = [];
  const start = childText ?? { text: readFileSync(join(project, o.file ?? ".gitlab-ci.yml"), "utf8"), name: o.file ?? ".gitlab-ci.yml", forwarded: {} };
  const config = loadConfig(start.text, start.name, project, problems);
  const run: GitlabRun = { created: false, errors: problems, status: "skipped", jobs: [], artifacts: {} };
  if (problems.length) return run;

  const stages = [".pre", ...((config.stages as string[] | undefined) ?? ["build", "test", "deploy"]), ".post"];
  const globalVars = asVariables(config.variables);
  const predefined: Record<string, string> = {
    CI: "true",
    GITLAB_CI: "true",
    CI_PIPELINE_SOURCE: o.source,
    CI_PIPELINE_ID: String(id),
    CI_COMMIT_SHA: sha,
    CI_COMMIT_BRANCH: o.branch,
    CI_COMMIT_REF_NAME: o.branch,
    CI_DEFAULT_BRANCH: git(o.origin, ["symbolic-ref", "--short", "HEAD"]),
    CI_REPOSITORY_URL: o.origin,
  };
  // Precedence, lowest first: predefined, YAML globals, (per job: YAML job), project, pipeline.
  const pipelineLevel = { ...predefined, ...globalVars, ...start.forwarded, ...(o.projectVariables ?? {}), ...(o.pipelineVariables ?? {}) };

  const jobs = Object.keys(config)
    .filter((k) => !RESERVED.has(k) && !k.startsWith("."))
    .map((name) => ({ name, job: resolveExtends(config, name) }))
    .filter(({ job }) => included(job, pipelineLevel, o));
  for (const { name, job } of jobs) {
    const stage = (job.stage as string | undefined) ?? "test";
    if (!stages.includes(stage)) problems.push(`${name} job: chosen stage ${stage} does not exist; available stages are ${stages.join(", ")}`);
  }
  if (!jobs.length) problems.push("Pipeline will not run for the selected trigger. The rules configuration prevented any jobs from being added to the pipeline.");
  if (problems.length) return run;
  run.created = true;

  let failed = false;
  for (const stage of stages) {
    for (const { name, job } of jobs.filter((j) => ((j.job.stage as string | undefined) ?? "test") === stage)) {
      const vars = { ...predefined, ...globalVars, ...start.forwarded, ...asVariables(job.variables), ...(o.projectVariables ?? {}), ...(o.pipelineVariables ?? {}) };
      if (failed && job.when !== "always") {
        run.jobs.push({ pipeline: String(id), job: name, stage, status: "skipped", log: "", variables: vars });
        continue;
      }
      const status = job.trigger ? await triggerChild(name, job, vars, globalVars, o, run) : await runJobScript(name, job, stage, stages, jobs, vars, o, run, id);
      if (status === "failed" && !job.allow_failure) failed = true;
    }
  }
  run.status = failed ? "failed" : "success";
  return run;
}

async function runJobScript(name: string, job: Config, stage: string, stages: string[], jobs: { name: string; job: Config }[], vars: Record<string, string>, o: GitlabRunOptions, run: GitlabRun, id: number): Promise<Status> {
  const machine = freshMachine(join(o.work, `${id}-${name.replace(/[^A-Za-z0-9.-]+/g, "_")}`), o.machinePath);
  const dir = join(machine.root, "project");
  checkout(o.origin, o.branch, dir);
  // Artifacts: from every job of an earlier stage, or only from the jobs `needs` lists.
  const needs = job.needs as (string | Config)[] | undefined;
  const from = needs
    ? needs.map((n) => (typeof n === "string" ? n : String(n.job)))
    : jobs.filter((j) => stages.indexOf((j.job.stage as string | undefined) ?? "test") < stages.indexOf(stage)).map((j) => j.name);
  for (const j of from) if (run.artifacts[j]) copyInto(run.artifacts[j], walkFiles(run.artifacts[j]), dir);

  const log = join(machine.root, "job.log");
  touch(log);
  const lines = [...((job.before_script as string[] | undefined) ?? []), ...((job.script as string[] | undefined) ?? [])].flat();
  const file = join(machine.temp, "script.sh");
  writeFileSync(file, `set -eo pipefail\nset +o noclobber\n${lines.join("\n")}\n`);
  const env = { ...machine.env, ...vars, CI_PROJECT_DIR: dir, CI_JOB_NAME: name, CI_JOB_STAGE: stage };
  const r = await runScript(["--noprofile", "--norc", file], { cwd: dir, env, log });
  const status: Status = r.code === 0 ? "success" : "failed";

  const art = job.artifacts as { paths?: string[]; when?: string } | undefined;
  const when = art?.when ?? "on_success";
  if (art?.paths && (when === "always" || (when === "on_success") === (status === "success"))) {
    const files = matchFiles(dir, art.paths.map((p) => expand(p, env as Record<string, string>)));
    const store = join(o.work, "artifacts", `${id}-${name.replace(/[^A-Za-z0-9.-]+/g, "_")}`);
    mkdirSync(store, { recursive: true });
    copyInto(dir, files, store);
    run.artifacts[name] = store;
  }
  run.jobs.push({ pipeline: String(id), job: name, stage, status, log: r.output, variables: vars });
  return status;
}

async function triggerChild(name: string, job: Config, vars: Record<string, string>, globalVars: Record<string, string>, o: GitlabRunOptions, run: GitlabRun): Promise<Status> {
  const trigger = job.trigger as { include?: { artifact?: string; job?: string; local?: string }[]; strategy?: string; forward?: { yaml_variables?: boolean } };
  const inc = trigger.include?.[0];
  const fail = (why: string): Status => {
    run.jobs.push({ pipeline: "", job: name, stage: String(job.stage), status: "failed", log: why, variables: vars });
    return "failed";
  };
  if (!inc?.artifact || !inc.job) return fail("trigger: only include: artifact: + job: is supported");
  // GitLab refuses a child configuration whose file name is not YAML.
  if (!/\.ya?ml$/.test(inc.artifact)) return fail(`Included file \`${inc.artifact}\` does not have YAML extension!`);
  const store = run.artifacts[inc.job];
  if (!store || !existsSync(join(store, inc.artifact))) return fail(`Job \`${inc.job}\` has no artifact ${inc.artifact}`);
  const forwarded = trigger.forward?.yaml_variables === false ? {} : { ...globalVars, ...asVariables(job.variables) };
  const child = await runPipeline({ ...o, source: "parent_pipeline", pipelineVariables: {}, file: undefined }, { text: readFileSync(join(store, inc.artifact), "utf8"), name: inc.artifact, forwarded });
  run.jobs.push(...child.jobs);
  Object.assign(run.artifacts, child.artifacts);
  if (!child.created) return fail(`child pipeline not created: ${child.errors.join("; ")}`);
  const status: Status = trigger.strategy === "depend" ? (child.status === "failed" ? "failed" : "success") : "success";
  run.jobs.push({ pipeline: "", job: name, stage: String(job.stage), status, log: `child pipeline ${child.status}`, variables: vars });
  return status;
}
