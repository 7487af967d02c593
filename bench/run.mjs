#!/usr/bin/env node
/**
 * `npm run bench`: every row of the performance table, side by side, in one
 * run on one machine, and the targets met or not. Run after `npm run build`
 * (npm run bench does both):
 *
 *   node bench/run.mjs [--runs N] [--no-build]
 *
 * Each command runs N times (default 11), interleaved with what it is
 * compared with, after one warm-up run each (files in the page cache);
 * medians of wall time, process start included. The inputs are made once and
 * kept (bench/fixtures.mjs). The build row (a cold build and a warm rebuild in
 * Docker, bench/build.mjs) takes minutes: --no-build leaves it out. With
 * --source TARBALL (a real release tree, e.g. Debian's 1.20.2 orig tarball)
 * the build row is that tree's instead of the fixture's, code generation
 * included. With --kubelet FILE (a real kubelet, e.g. one `kubelet-nokmem
 * build` made) the audit rows and target are printed for it too, beside the
 * generated worst case.
 *
 * The audit rows have a floor row under them (bench/floor.mjs): a bare Node
 * process making only the audit's pass over the same files. What the tool
 * adds is the difference to it; what Node and the pass cost, its difference
 * to `node -e 0` and openssl.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { bigNodeRoot, binaryFolder, folderFiles, kubelet } from "./fixtures.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "dist", "cli.js");
const FLOOR = join(ROOT, "bench", "floor.mjs");
const NODE = process.execPath;

function argValue(name, fallback) {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1];
}

/** Wall milliseconds of one run; stdout and stderr are read and dropped. */
function time([file, ...args]) {
  return new Promise((done, fail) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] });
    p.stdout.resume();
    p.stderr.resume();
    p.on("error", fail);
    p.on("close", () => done(Number(process.hrtime.bigint() - t0) / 1e6));
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median wall time of each command, runs interleaved so a busy moment hits all of them. */
async function medians(commands, runs) {
  const samples = commands.map(() => []);
  for (let r = -1; r < runs; r++) {
    for (const [i, c] of commands.entries()) {
      const ms = await time(c);
      if (r >= 0) samples[i].push(ms);
    }
  }
  return samples.map(median);
}

/** The --kubelet FILE given, as [path, label] pairs (none without it). */
function realKubelet() {
  const file = argValue("--kubelet", null);
  if (!file) return [];
  if (!existsSync(file)) throw new Error(`--kubelet ${file}: no such file`);
  return [[resolve(file), `${(statSync(file).size / 1e6).toFixed(0)} MB kubelet (${file})`]];
}

/** The floor must do the work it is timed for: its digests are sha256sum's, or the bench stops. */
function checkFloor(files) {
  const floor = spawnSync(NODE, [FLOOR, ...files], { encoding: "utf8" });
  const sums = spawnSync("sha256sum", files, { encoding: "utf8" });
  if (floor.status !== 0 || floor.stdout !== sums.stdout)
    throw new Error(`bench/floor.mjs printed other digests than sha256sum:\n${floor.stdout}${floor.stderr}`);
}

const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

async function main() {
  if (!existsSync(CLI)) throw new Error("run `npm run build` first");
  const runs = Number(argValue("--runs", "11"));
  console.error("bench: making inputs (kept between runs) …");
  const folder = binaryFolder();
  const root = bigNodeRoot();
  const rows = [];
  const targets = [];
  const row = (what, ours, other, otherMs) => rows.push([what, fmt(ours), other, fmt(otherMs), `${(ours / otherMs).toFixed(2)}×`]);

  console.error("bench: --version …");
  const [version, nodeStart] = await medians(
    [
      [NODE, CLI, "--version"],
      [NODE, "-e", "0"],
    ],
    runs,
  );
  row("kubelet-nokmem --version", version, "node -e 0", nodeStart);
  targets.push(["--version ≤ 1.3× node -e 0", version / nodeStart <= 1.3, `${(version / nodeStart).toFixed(2)}×`]);

  for (const [file, label] of [[kubelet(), "105 MB kubelet (generated, worst case)"], ...realKubelet()]) {
    console.error(`bench: audit of one ${label} …`);
    checkFloor([file]);
    const [audit, openssl, sha, floor] = await medians(
      [
        [NODE, CLI, "audit", file, "--json", "--fail-on", "none"],
        ["openssl", "dgst", "-sha256", file],
        ["sha256sum", file],
        [NODE, FLOOR, file],
      ],
      runs,
    );
    row(`audit one ${label}`, audit, "openssl dgst -sha256", openssl);
    row(`audit one ${label}`, audit, "sha256sum", sha);
    row("  floor: its pass alone in bare Node (bench/floor.mjs)", floor, "openssl dgst -sha256", openssl);
    targets.push([
      `audit of one ${label} ≤ 2× openssl dgst -sha256`,
      audit / openssl <= 2,
      `${(audit / openssl).toFixed(2)}× (floor ${(floor / openssl).toFixed(2)}×)`,
    ]);
  }

  console.error("bench: audit of a folder …");
  checkFloor(folderFiles(folder));
  const [folderAudit, folderSha, folderFloor] = await medians(
    [
      [NODE, CLI, "audit", folder, "--json", "--fail-on", "none"],
      ["sha256sum", ...folderFiles(folder)],
      [NODE, FLOOR, ...folderFiles(folder)],
    ],
    runs,
  );
  row("audit a folder of 6 binaries (300 MB)", folderAudit, "sha256sum of each", folderSha);
  row("  floor: its passes alone in bare Node (bench/floor.mjs)", folderFloor, "sha256sum of each", folderSha);
  targets.push([
    "folder audit ≤ 0.3× sha256sum of the same files",
    folderAudit / folderSha <= 0.3,
    `${(folderAudit / folderSha).toFixed(2)}× (floor ${(folderFloor / folderSha).toFixed(2)}×)`,
  ]);

  console.error("bench: doctor …");
  const [doctor] = await medians([[NODE, CLI, "doctor", "--root", root, "--json"]], Math.max(3, Math.ceil(runs / 2)));
  rows.push(["doctor --root: 20,000 pod cgroups, 300 MB kernel log", fmt(doctor), "(target)", "2 s", ""]);
  targets.push(["doctor on a 20,000-pod root with a 300 MB kernel log < 2 s", doctor < 2000, fmt(doctor)]);

  if (!process.argv.includes("--no-build")) {
    console.error("bench: cold build and warm rebuild in Docker (minutes) …");
    const source = argValue("--source", null);
    const r = spawnSync(NODE, [join(ROOT, "bench", "build.mjs"), "--json", ...(source ? ["--source", source] : [])], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 1 << 26,
    });
    const last = r.stdout.trim().split("\n").at(-1) ?? "";
    let b = null;
    try {
      b = JSON.parse(last);
    } catch {
      console.error(`bench/build.mjs did not finish: ${last}`);
    }
    if (b) {
      const tree = b.source ? `real tree ${basename(b.source)}, generated files ${b.reuse}` : "fixture tree";
      rows.push([`build: warm rebuild of a fresh tree (${tree})`, fmt(b.warm * 1000), "cold build", fmt(b.cold * 1000), `${(b.warm / b.cold).toFixed(2)}×`]);
      targets.push(["warm rebuild ≤ 10% of the cold build", b.warm / b.cold <= 0.1, `${((b.warm / b.cold) * 100).toFixed(1)}%`]);
      targets.push(["warm rebuild byte-identical to the cold one", b.identical, b.identical ? "same sha256" : "different sha256"]);
    } else {
      targets.push(["warm rebuild ≤ 10% of the cold build", false, "not measured"]);
    }
  }

  const head = ["what", "this tool", "the alternative", "", "ratio"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(`medians of ${runs} runs, process start included; ${new Date().toISOString()}`);
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  console.log("");
  for (const [what, met, value] of targets) console.log(`${met ? "met    " : "NOT MET"}  ${what}: ${value}`);
}

main().catch((err) => {
  console.error(`bench/run.mjs: ${err.message}`);
  process.exitCode = 1;
});
