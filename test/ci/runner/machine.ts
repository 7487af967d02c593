/**
 * What a fresh CI machine gives a job: an empty work folder, a clone of the
 * repository at the pipeline's commit, a global npm prefix of its own (so
 * `npm install --global` lands there, not on this host), an empty cache
 * folder, and bash to run scripts in.
 */
import { spawn } from "node:child_process";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { git } from "../../fixtures/k8s-tree.js";

interface ScriptResult {
  code: number;
  output: string;
}

/** Run a script file with bash the way a runner does, output to the log and back to the caller. */
export function runScript(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; log: string }): Promise<ScriptResult> {
  return new Promise((resolve) => {
    const child = spawn("bash", args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const take = (d: Buffer) => {
      output += d.toString();
      appendFileSync(opts.log, d);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
  });
}

/** A clone of the repository with `ref` checked out as a local branch (what actions/checkout and GitLab's fetch give). */
export function checkout(origin: string, ref: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  git(dir, ["clone", "--quiet", "--branch", ref, origin, "."]);
  return git(dir, ["rev-parse", "HEAD"]);
}

interface Machine {
  root: string;
  temp: string;
  env: NodeJS.ProcessEnv;
}

/**
 * A fresh machine for one job. `extraPath` goes in front of PATH (tools the
 * real runner has, such as `gh`); the host's own environment is kept except
 * what would point the tool at this host's state.
 */
export function freshMachine(root: string, extraPath: string[] = []): Machine {
  const temp = join(root, "temp");
  const prefix = join(root, "npm-global");
  for (const d of [temp, prefix, join(root, "cache")]) mkdirSync(d, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (/^(KUBELET_NOKMEM|GITHUB_|RUNNER_|CI_|GITLAB_|VITEST|npm_)/.test(k)) delete env[k];
  env.NPM_CONFIG_PREFIX = prefix;
  env.XDG_CACHE_HOME = join(root, "cache");
  env.CI = "true";
  env.PATH = [join(prefix, "bin"), ...extraPath, process.env.PATH ?? ""].join(delimiter);
  return { root, temp, env };
}

export function touch(path: string): void {
  writeFileSync(path, "");
}
