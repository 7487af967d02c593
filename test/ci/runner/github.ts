/**
 * Runs a GitHub Actions workflow the way a runner would, without a runner:
 * jobs in `needs` order with `if:` and the needs context; the matrix expanded
 * from the plan job's real output; each `run:` step written to a file and run
 * with GitHub's default shell (`bash --noprofile --norc -eo pipefail {0}`)
 * in a fresh clone, with $GITHUB_OUTPUT, $GITHUB_ENV, $GITHUB_PATH and
 * $GITHUB_STEP_SUMMARY files read by the runner's rules after each step;
 * ${{ }} expressions evaluated (./expressions.ts). `uses:` steps are stood in
 * for by what they do: checkout = a clone of the repository at the run's
 * commit, setup-node = nothing (Node is here), upload/download-artifact =
 * copying files into and out of the run's artifact store. Any other action
 * fails the run: the templates must stay inside what this harness proves.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { parseEnvFile, parsePathFile } from "./env-file.js";
import { condition, interpolate, interpolateDeep, toText, type ExprContext, type Value } from "./expressions.js";
import { commonRoot, copyInto, globToRegExp, matchFiles, searchRoot, walkFiles } from "./files.js";
import { git } from "../../fixtures/k8s-tree.js";
import { checkout, freshMachine, runScript, touch } from "./machine.js";

type GithubEvent = "push" | "schedule" | "workflow_dispatch";

export interface GithubRunOptions {
  /** The workflow file, relative to the repository root. */
  workflow: string;
  /** The repository to clone (a path or URL a `git clone` accepts). */
  origin: string;
  branch: string;
  event: GithubEvent;
  /** Files the push changed (for `on.push.paths`). */
  changed?: string[];
  inputs?: Record<string, string>;
  vars?: Record<string, string>;
  secrets?: Record<string, string>;
  /** Folder for this run's machines, logs and artifacts. */
  work: string;
  /** Folders put in front of PATH on every machine (tools a hosted runner has). */
  machinePath?: string[];
  runId?: number;
  /** Run only these jobs (a job needing one left out is skipped). */
  only?: string[];
}

type Conclusion = "success" | "failure" | "skipped";

interface StepRecord {
  name: string;
  outcome: Conclusion;
  outputs: Record<string, string>;
  log: string;
}

interface JobRecord {
  job: string;
  matrix: Record<string, Value> | null;
  result: Conclusion;
  steps: StepRecord[];
  outputs: Record<string, string>;
}

export interface GithubRun {
  triggered: boolean;
  conclusion: Conclusion;
  sha: string;
  jobs: JobRecord[];
  /** Job id → overall result (a matrix job fails when any leg fails). */
  results: Record<string, Conclusion>;
  summary: string;
  artifacts: string;
}

interface Step {
  id?: string;
  name?: string;
  if?: string | boolean;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  "continue-on-error"?: boolean;
}

interface Job {
  needs?: string | string[];
  if?: string | boolean;
  "runs-on": string;
  strategy?: { matrix?: unknown; "fail-fast"?: boolean };
  outputs?: Record<string, string>;
  env?: Record<string, unknown>;
  steps: Step[];
}

interface Workflow {
  on: Record<string, unknown>;
  env?: Record<string, unknown>;
  jobs: Record<string, Job>;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function triggers(wf: Workflow, o: GithubRunOptions): boolean {
  if (!(o.event in wf.on)) return false;
  if (o.event !== "push") return true;
  const push = (wf.on.push ?? {}) as { branches?: string[]; paths?: string[] };
  if (push.branches && !push.branches.some((b) => globToRegExp(b).test(o.branch))) return false;
  if (push.paths && !(o.changed ?? []).some((f) => push.paths!.some((p) => globToRegExp(p).test(f)))) return false;
  return true;
}

/** Jobs in an order where every job comes after the jobs it needs. */
function order(jobs: Record<string, Job>): string[] {
  const done: string[] = [];
  const visit = (id: string, path: string[]) => {
    if (done.includes(id)) return;
    if (path.includes(id)) throw new Error(`needs cycle: ${[...path, id].join(" → ")}`);
    if (!jobs[id]) throw new Error(`job ${path.at(-1)} needs unknown job ${id}`);
    for (const n of list(jobs[id].needs)) visit(n, [...path, id]);
    done.push(id);
  };
  for (const id of Object.keys(jobs)) visit(id, []);
  return done;
}

function expandMatrix(m: Value): Record<string, Value>[] {
  if (m === null || typeof m !== "object" || Array.isArray(m)) throw new Error(`strategy.matrix must be a mapping, found ${JSON.stringify(m)}`);
  const { include, exclude, ...axes } = m;
  if (exclude) throw new Error("matrix exclude is outside the supported subset");
  let combos: Record<string, Value>[] = [{}];
  for (const [k, values] of Object.entries(axes)) {
    if (!Array.isArray(values)) throw new Error(`matrix axis ${k} must be a list`);
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [k]: v })));
  }
  if (!Object.keys(axes).length) combos = [];
  for (const inc of (include ?? []) as Record<string, Value>[]) combos.push(inc);
  return combos;
}

export async function runWorkflow(o: GithubRunOptions): Promise<GithubRun> {
  const runId = o.runId ?? 1000 + Math.floor(Math.random() * 9000);
  const artifacts = join(o.work, "artifacts");
  mkdirSync(artifacts, { recursive: true });
  const sha = git(o.origin, ["rev-parse", `refs/heads/${o.branch}`]);
  const checkoutDir = join(o.work, "source");
  if (!existsSync(checkoutDir)) checkout(o.origin, o.branch, checkoutDir);
  const wf = parse(readFileSync(join(checkoutDir, o.workflow), "utf8")) as Workflow;
  const run: GithubRun = { triggered: triggers(wf, o), conclusion: "skipped", sha, jobs: [], results: {}, summary: "", artifacts };
  if (!run.triggered) return run;

  const inputDefaults = Object.fromEntries(
    Object.entries(((wf.on.workflow_dispatch as { inputs?: Record<string, { default?: string }> } | null)?.inputs ?? {})).map(([k, v]) => [k, v.default ?? ""]),
  );
  const github: Record<string, Value> = {
    event_name: o.event,
    ref: `refs/heads/${o.branch}`,
    ref_name: o.branch,
    sha,
    run_id: String(runId),
    token: o.secrets?.GITHUB_TOKEN ?? "ghs_harness_token",
    repository: "harness/repository",
  };
  const baseContexts: Record<string, Value> = {
    github,
    inputs: o.event === "workflow_dispatch" ? { ...inputDefaults, ...(o.inputs ?? {}) } : {},
    vars: o.vars ?? {},
    secrets: { GITHUB_TOKEN: github.token!, ...(o.secrets ?? {}) },
  };
  const needsCtx: Record<string, { result: Conclusion; outputs: Record<string, string> }> = {};

  for (const id of order(wf.jobs)) {
    const job = wf.jobs[id]!;
    if (o.only && !o.only.includes(id)) {
      needsCtx[id] = { result: "skipped", outputs: {} };
      continue;
    }
    const needs = Object.fromEntries(list(job.needs).map((n) => [n, needsCtx[n]!])) as unknown as Value;
    const upstreamOk = list(job.needs).every((n) => needsCtx[n]!.result === "success");
    const jobCtx: ExprContext = { contexts: { ...baseContexts, needs }, status: upstreamOk ? "success" : "failure" };
    if (!condition(job.if, jobCtx)) {
      needsCtx[id] = { result: "skipped", outputs: {} };
      run.results[id] = "skipped";
      run.jobs.push({ job: id, matrix: null, result: "skipped", steps: [], outputs: {} });
      continue;
    }
    const legs = job.strategy?.matrix !== undefined ? expandMatrix(interpolateDeep(job.strategy.matrix, jobCtx)) : [null];
    if (!legs.length) throw new Error(`job ${id}: the matrix expanded to no jobs, which GitHub rejects`);
    let result: Conclusion = "success";
    let outputs: Record<string, string> = {};
    for (const [i, matrix] of legs.entries()) {
      const rec = await runJob(id, i, job, wf, { ...baseContexts, needs, matrix: matrix ?? {} }, o, run, runId);
      rec.matrix = matrix;
      run.jobs.push(rec);
      if (rec.result === "failure") result = "failure";
      outputs = { ...outputs, ...rec.outputs };
    }
    needsCtx[id] = { result, outputs };
    run.results[id] = result;
  }
  run.conclusion = Object.values(run.results).includes("failure") ? "failure" : "success";
  return run;
}

async function runJob(id: string, leg: number, job: Job, wf: Workflow, contexts: Record<string, Value>, o: GithubRunOptions, run: GithubRun, runId: number): Promise<JobRecord> {
  const machine = freshMachine(join(o.work, `${id}-${leg}`), o.machinePath);
  const workspace = join(machine.root, "workspace");
  mkdirSync(workspace, { recursive: true });
  const log = join(machine.root, "job.log");
  touch(log);
  const rec: JobRecord = { job: id, matrix: null, result: "success", steps: [], outputs: {} };
  const ctx = (status: "success" | "failure", env: Record<string, string>, steps: Record<string, Value>): ExprContext => ({ contexts: { ...contexts, env, steps, runner: { temp: machine.temp, os: "Linux" } }, status });
  const evalEnv = (e: Record<string, unknown> | undefined, c: ExprContext) => Object.fromEntries(Object.entries(e ?? {}).map(([k, v]) => [k, toText(interpolate(String(v), c))]));
  let status: "success" | "failure" = "success";
  const steps: Record<string, Value> = {};
  let env: Record<string, string> = {};
  env = { ...env, ...evalEnv(wf.env, ctx(status, env, steps)) };
  env = { ...env, ...evalEnv(job.env, ctx(status, env, steps)) };
  const path: string[] = [];

  for (const [n, step] of job.steps.entries()) {
    const name = step.name ?? step.uses ?? step.run?.split("\n")[0] ?? `step ${n}`;
    const c = ctx(status, env, steps);
    if (!condition(step.if, c)) {
      rec.steps.push({ name, outcome: "skipped", outputs: {}, log: "" });
      if (step.id) steps[step.id] = { outcome: "skipped", conclusion: "skipped", outputs: {} };
      continue;
    }
    const stepEnv = { ...env, ...evalEnv(step.env, c) };
    const files = { output: join(machine.temp, `output_${n}`), env: join(machine.temp, `env_${n}`), path: join(machine.temp, `path_${n}`), summary: join(machine.temp, `summary_${n}`) };
    for (const f of Object.values(files)) touch(f);
    const processEnv: NodeJS.ProcessEnv = {
      ...machine.env,
      ...stepEnv,
      PATH: [...path, machine.env.PATH].join(":"),
      GITHUB_ACTIONS: "true",
      GITHUB_WORKSPACE: workspace,
      GITHUB_OUTPUT: files.output,
      GITHUB_ENV: files.env,
      GITHUB_PATH: files.path,
      GITHUB_STEP_SUMMARY: files.summary,
      GITHUB_EVENT_NAME: o.event,
      GITHUB_REF: `refs/heads/${o.branch}`,
      GITHUB_REF_NAME: o.branch,
      GITHUB_SHA: run.sha,
      GITHUB_RUN_ID: String(runId),
      RUNNER_TEMP: machine.temp,
      RUNNER_OS: "Linux",
    };
    let outcome: Conclusion = "success";
    let outputs: Record<string, string> = {};
    let text = "";
    try {
      if (step.run !== undefined) {
        const script = toText(interpolate(step.run, c));
        const file = join(machine.temp, `step_${n}.sh`);
        writeFileSync(file, script);
        const r = await runScript(["--noprofile", "--norc", "-eo", "pipefail", file], { cwd: workspace, env: processEnv, log });
        text = r.output;
        if (r.code !== 0) outcome = "failure";
        // The runner reads the files after the step, whatever its exit code.
        outputs = parseEnvFile(readFileSync(files.output, "utf8"));
        env = { ...env, ...parseEnvFile(readFileSync(files.env, "utf8")) };
        path.unshift(...parsePathFile(readFileSync(files.path, "utf8")).reverse());
        run.summary += readFileSync(files.summary, "utf8");
      } else if (step.uses) {
        text = standIn(step.uses, (interpolateDeep(step.with ?? {}, c) ?? {}) as Record<string, Value>, { workspace, o, run });
      } else throw new Error(`step ${name} has neither run nor uses`);
    } catch (e) {
      // A file command the runner cannot read fails the step, as on a runner.
      outcome = "failure";
      text += `\n${(e as Error).message}`;
    }
    rec.steps.push({ name, outcome, outputs, log: text });
    if (step.id) steps[step.id] = { outcome, conclusion: outcome, outputs };
    if (outcome === "failure" && !step["continue-on-error"]) status = "failure";
  }
  rec.result = status;
  const oc = ctx(status, env, steps);
  rec.outputs = Object.fromEntries(Object.entries(job.outputs ?? {}).map(([k, v]) => [k, toText(interpolate(v, oc))]));
  return rec;
}

function standIn(uses: string, w: Record<string, Value>, x: { workspace: string; o: GithubRunOptions; run: GithubRun }): string {
  const [action, version] = uses.split("@");
  switch (action) {
    case "actions/checkout": {
      checkout(x.o.origin, x.o.branch, x.workspace);
      return `checked out ${x.o.branch} at ${x.run.sha} (${version})`;
    }
    case "actions/setup-node":
      return `node ${process.version} is already on the machine (asked for ${toText(w["node-version"] ?? null)})`;
    case "actions/upload-artifact": {
      const name = toText(w.name ?? "artifact");
      const patterns = toText(w.path ?? null).split("\n").map((s) => s.trim()).filter(Boolean);
      // Since v4.4 hidden files (a segment starting with ".") stay out unless include-hidden-files.
      const hidden = (f: string) => f.split("/").some((seg) => seg.startsWith("."));
      const files = matchFiles(x.workspace, patterns).filter((f) => w["include-hidden-files"] === true || !hidden(f));
      const dest = join(x.run.artifacts, name);
      if (existsSync(dest)) throw new Error(`an artifact named ${name} exists already in this run`);
      if (!files.length) {
        const policy = toText(w["if-no-files-found"] ?? "warn");
        if (policy === "error") throw new Error(`no files were found with the provided path: ${patterns.join(", ")}`);
        return `no files found for ${name} (${policy})`;
      }
      const roots = patterns.filter((p) => !p.startsWith("!")).map(searchRoot);
      // upload-artifact: the least common ancestor of the search paths becomes the artifact's root.
      const single = roots.length === 1 && files.length === 1 && files[0] === roots[0];
      const root = single ? roots[0]!.split("/").slice(0, -1).join("/") : commonRoot(roots);
      copyInto(x.workspace, files, dest, root);
      return `uploaded ${files.length} files as ${name}`;
    }
    case "actions/download-artifact": {
      const target = join(x.workspace, toText(w.path ?? ""));
      const names = readdirSync(x.run.artifacts).sort();
      const pick = w.name ? [toText(w.name)] : w.pattern ? names.filter((n) => globToRegExp(toText(w.pattern ?? null)).test(n)) : names;
      const into = (n: string) => (w.name || w["merge-multiple"] === true || w["merge-multiple"] === "true" ? target : join(target, n));
      for (const n of pick) {
        if (!names.includes(n)) throw new Error(`artifact ${n} not found`);
        copyInto(join(x.run.artifacts, n), walkFiles(join(x.run.artifacts, n)), into(n));
      }
      return `downloaded ${pick.join(", ")}`;
    }
    default:
      throw new Error(`the harness has no stand-in for ${uses}`);
  }
}
