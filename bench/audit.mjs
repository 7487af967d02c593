#!/usr/bin/env node
/**
 * How fast is `kubelet-nokmem audit` on one big binary, next to the tools an
 * operator would use by hand? Run after `npm run build`:
 *
 *   node bench/audit.mjs [FILE] [--runs N]
 *
 * Without FILE it uses bench/fixtures.mjs's kubelet: a Go 1.19 program
 * carrying the marker strings of a normal (kmem-enabling) kubelet build,
 * padded to 105 MB with the bytes of the Go toolchain's own binaries. The
 * padding lies outside every ELF section, so the audit searches all of it: a
 * worst case for the search. `npm run bench` (bench/run.mjs) prints this
 * row with the others and the targets.
 *
 * Each command runs N times (default 7), interleaved, after one warm-up run
 * each (the file is in the page cache for all of them); the median wall time
 * is reported, process start included. bench/floor.mjs is the audit's own
 * pass over the file in a bare Node process: what the tool adds is the
 * difference to it.
 */
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { kubelet } from "./fixtures.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "dist", "cli.js");
const FLOOR = join(ROOT, "bench", "floor.mjs");
const MARKER_REGEX = "memory\\.kmem\\.limit_in_bytes|kernel memory accounting|because either tasks have already joined|cgroups/fs/kmem(_disabled)?\\.go";

function argValue(name, fallback) {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1];
}

/** Run a pipeline of commands (stdout of each into the next); resolves with wall milliseconds. */
function time(pipeline) {
  return new Promise((resolveTime, reject) => {
    const t0 = process.hrtime.bigint();
    const procs = [];
    for (const [i, [file, args]] of pipeline.entries()) {
      const p = spawn(file, args, { stdio: [i === 0 ? "ignore" : "pipe", "pipe", "ignore"] });
      if (i > 0) procs[i - 1].stdout.pipe(p.stdin);
      procs.push(p);
    }
    procs.at(-1).stdout.resume();
    let left = procs.length;
    for (const p of procs) {
      p.on("error", reject);
      p.on("close", () => {
        if (--left === 0) resolveTime(Number(process.hrtime.bigint() - t0) / 1e6);
      });
    }
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  if (!existsSync(CLI)) throw new Error("run `npm run build` first");
  const runs = Number(argValue("--runs", "7"));
  const given = process.argv.slice(2).find((a, i, all) => !a.startsWith("--") && all[i - 1] !== "--runs");
  {
    const file = given ? resolve(given) : kubelet();
    const size = statSync(file).size;
    const commands = [
      ["kubelet-nokmem audit --json", [[process.execPath, [CLI, "audit", file, "--json", "--fail-on", "none"]]]],
      ["sha256sum", [["sha256sum", [file]]]],
      ["sha256sum + strings | grep -E markers", null],
      ["openssl dgst -sha256", [["openssl", ["dgst", "-sha256", file]]]],
      ["the pass alone in bare Node (floor.mjs)", [[process.execPath, [FLOOR, file]]]],
    ];
    const strings = [
      ["strings", [file]],
      ["grep", ["-E", "-c", MARKER_REGEX]],
    ];
    const sample = {};
    for (const [name] of commands) sample[name] = [];
    for (let r = -1; r < runs; r++) {
      for (const [name, pipeline] of commands) {
        const ms = pipeline ? await time(pipeline) : (await time([["sha256sum", [file]]])) + (await time(strings));
        if (r >= 0) sample[name].push(ms);
      }
    }
    const floor = median(sample["openssl dgst -sha256"]);
    console.log(`file: ${given ? file : `generated (${file})`}, ${(size / 1e6).toFixed(1)} MB; median of ${runs} runs, process start included`);
    console.log(`${"command".padEnd(40)} ${"median".padStart(9)}  ${"vs openssl".padStart(10)}`);
    for (const [name] of commands) {
      const m = median(sample[name]);
      console.log(`${name.padEnd(40)} ${`${m.toFixed(0)} ms`.padStart(9)}  ${`${(m / floor).toFixed(2)}x`.padStart(10)}`);
    }
  }
}

main().catch((err) => {
  console.error(`bench/audit.mjs: ${err.message}`);
  process.exitCode = 1;
});
