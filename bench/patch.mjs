#!/usr/bin/env node
/**
 * How long `kubelet-nokmem patch` takes on a tree of Kubernetes' real size
 * (about 20,000 files and 280 MB, most of it under vendor/), process start
 * included, next to the same tree at fixture size and next to `git apply`
 * of the same diff. Patching reads only the files the series names, so the
 * two sizes should time alike.
 *
 *   npm run build && node bench/patch.mjs [--files 20000] [--mb 280] [--runs 7] [--keep]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "dist/cli.js");
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : Number(args[i + 1]);
};
const FILES = opt("files", 20_000);
const MB = opt("mb", 280);
const RUNS = opt("runs", 7);
const KEEP = args.includes("--keep");
const GIT_ENV = {
  GIT_AUTHOR_NAME: "Bench",
  GIT_AUTHOR_EMAIL: "bench@example.invalid",
  GIT_COMMITTER_NAME: "Bench",
  GIT_COMMITTER_EMAIL: "bench@example.invalid",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
};

const work = mkdtempSync(join(tmpdir(), "kn-bench-patch-"));

/** The fixture generator is TypeScript under test/: compile it once for this script. */
function loadFixtures() {
  const out = join(work, "fixtures-js");
  execFileSync(
    join(ROOT, "node_modules/.bin/tsc"),
    [
      "--outDir",
      out,
      "--rootDir",
      ROOT,
      "--module",
      "NodeNext",
      "--moduleResolution",
      "NodeNext",
      "--target",
      "ES2022",
      "--skipLibCheck",
      "--types",
      "node",
      join(ROOT, "test/fixtures/k8s-tree.ts"),
    ],
    { stdio: "inherit" },
  );
  return import(pathToFileURL(join(out, "test/fixtures/k8s-tree.js")).href);
}

/** Deterministic filler that looks like Go source. */
function filler(bytes, seed) {
  const line = `\t// generated vendor code ${seed} — padding to give the tree Kubernetes' real weight\n`;
  return `package p${seed % 997}\n\n${line.repeat(Math.max(1, Math.ceil(bytes / line.length)))}`.slice(0, Math.max(bytes, 16));
}

/** Pad a tree with `files` files of `mb` MB in total, 80% of them under vendor/. */
function pad(root, files, mb) {
  const avg = Math.floor((mb * 1024 * 1024) / files);
  for (let i = 0; i < files; i++) {
    const vendor = i % 5 !== 0;
    const dir = vendor ? `vendor/github.com/bench-org${i % 40}/module${i % 400}/pkg${i % 1600}` : `pkg/bench/area${i % 60}/sub${i % 600}`;
    const size = Math.floor(avg * (0.25 + ((i * 7919) % 1000) / 666));
    mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, dir, `file${i}.go`), filler(size, i));
  }
}

function time(fn) {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function cli(tree, extra) {
  const r = spawnSync(process.execPath, [CLI, "patch", tree, "--version-file", join(work, "version.env"), ...extra], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`patch ${extra.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

function measure(label, tree) {
  const apply = [];
  const revert = [];
  const check = [];
  for (let i = 0; i < RUNS; i++) {
    check.push(time(() => cli(tree, ["--check"])));
    apply.push(time(() => cli(tree, [])));
    revert.push(time(() => cli(tree, ["--revert"])));
  }
  const diff = cli(tree, ["--dry-run"]);
  const gitApply = [];
  for (let i = 0; i < RUNS; i++) {
    gitApply.push(time(() => execFileSync("git", ["apply"], { cwd: tree, input: diff })));
    execFileSync("git", ["apply", "-R"], { cwd: tree, input: diff });
  }
  const row = { tree: label, "patch --check": median(check), patch: median(apply), "patch --revert": median(revert), "git apply": median(gitApply) };
  for (const k of Object.keys(row)) if (typeof row[k] === "number") row[k] = `${row[k].toFixed(0)} ms`;
  return row;
}

try {
  const { makeTree } = await loadFixtures();
  const small = await makeTree(join(work, "small"), { era: "1.16" });
  const big = await makeTree(join(work, "big"), { era: "1.16", kind: "dir" });
  process.stderr.write(`generating ${FILES} files, ${MB} MB…\n`);
  pad(big.root, FILES, MB);
  execFileSync("git", ["init", "-q"], { cwd: big.root, env: { ...process.env, ...GIT_ENV } });
  execFileSync("git", ["add", "-A"], { cwd: big.root, env: { ...process.env, ...GIT_ENV } });
  execFileSync("git", ["-c", "commit.gpgsign=false", "commit", "-q", "-m", "bench"], { cwd: big.root, env: { ...process.env, ...GIT_ENV } });
  execFileSync("git", ["-c", "tag.gpgsign=false", "tag", "-a", "-m", "v1.16.15", "v1.16.15"], { cwd: big.root, env: { ...process.env, ...GIT_ENV } });
  const count =
    execFileSync("git", ["ls-files"], { cwd: big.root, maxBuffer: 64 << 20 })
      .toString()
      .split("\n").length - 1;
  const bytes = Number(execFileSync("du", ["-sb", "--exclude=.git", big.root]).toString().split("\t")[0]);
  process.stderr.write(`big tree: ${count} files, ${(bytes / 1024 / 1024).toFixed(0)} MB (without .git)\n`);
  const nodeStart = median(Array.from({ length: RUNS }, () => time(() => spawnSync(process.execPath, ["-e", ""]))));
  console.table([
    measure(`fixture (${Object.keys(small).length ? "~25 files" : ""})`, small.root),
    measure(`${count} files, ${(bytes / 1024 / 1024).toFixed(0)} MB`, big.root),
  ]);
  console.log(`median of ${RUNS} runs each; a bare \`node -e ""\` takes ${nodeStart.toFixed(0)} ms here`);
} finally {
  if (KEEP) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
