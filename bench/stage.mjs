#!/usr/bin/env node
// Staging cost of a Kubernetes-sized directory source: about 20,000 files and
// 280 MB, most of it under vendor/ as in a real tree. Compares a full copy,
// hard links for vendor/ only (the default, `--stage auto`), and hard links
// for everything (`--stage link`), plus the content digest every build takes.
// Run after `npm run build`:  node bench/stage.mjs [files] [megabytes]
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { stageDirectory } from "../dist/source/stage.js";
import { digestTree } from "../dist/source/digest.js";

const FILES = Number(process.argv[2] ?? 20_000);
const MB = Number(process.argv[3] ?? 280);
const VENDOR_SHARE = 0.6; // of files, like kubernetes/vendor

const root = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), "kn-bench-stage-"));
const src = join(root, "src");
try {
  const t0 = performance.now();
  const pool = Buffer.alloc(1 << 20);
  for (let i = 0; i < pool.length; i++) pool[i] = (i * 2654435761) >>> 24;
  const avg = Math.floor((MB * 1e6) / FILES);
  let bytes = 0;
  for (let i = 0; i < FILES; i++) {
    const top = i < FILES * VENDOR_SHARE ? "vendor/example.com/mod" : "pkg";
    const dir = join(src, top, `d${Math.floor(i / 40)}`);
    if (i % 40 === 0) await mkdir(dir, { recursive: true });
    const size = Math.max(64, Math.floor(avg * (0.2 + ((i * 7919) % 160) / 100)));
    const start = (i * 4099) % (pool.length - Math.min(size, pool.length));
    const chunk = size <= pool.length ? pool.subarray(start, start + size) : Buffer.alloc(size, 1);
    await writeFile(join(dir, `f${i}.go`), chunk);
    bytes += size;
  }
  const gen = (performance.now() - t0) / 1000;
  console.log(
    `tree: ${FILES} files, ${(bytes / 1e6).toFixed(0)} MB (generated in ${gen.toFixed(1)}s), ${Math.round(VENDOR_SHARE * 100)}% of files under vendor/`,
  );

  // Three rounds, the order rotated each round, medians reported: on a shared
  // machine one run says little (writeback of the previous step, other load).
  const modes = ["copy", "auto", "link"];
  const runs = Object.fromEntries(modes.map((m) => [m, []]));
  for (let round = 0; round < 3; round++) {
    for (let k = 0; k < modes.length; k++) {
      const mode = modes[(k + round) % modes.length];
      const dst = join(root, `stage-${mode}`);
      execFileSync("sync");
      const t = performance.now();
      const r = await stageDirectory(src, dst, { mode, willModify: [] });
      const secs = (performance.now() - t) / 1000;
      // A copy is not done until it is on disk: writeback is part of its cost.
      execFileSync("sync");
      const synced = (performance.now() - t) / 1000;
      runs[mode].push({ mode, secs, synced, ...r });
      await rm(dst, { recursive: true, force: true });
      execFileSync("sync");
    }
  }
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows = modes.map((m) => ({ ...runs[m][0], secs: median(runs[m].map((r) => r.secs)), synced: median(runs[m].map((r) => r.synced)) }));
  execFileSync("sync");
  const td = performance.now();
  const d = await digestTree(src);
  const digestSecs = (performance.now() - td) / 1000;

  console.log("");
  console.log("staging mode (median of 3) seconds  +sync   linked   copied");
  const label = { copy: "full copy (--stage copy)", auto: "vendor/ linked (auto)  ", link: "all linked (--stage link)" };
  for (const r of rows)
    console.log(
      `${label[r.mode].padEnd(24)}${r.secs.toFixed(2).padStart(8)}${r.synced.toFixed(2).padStart(7)}${String(r.linked).padStart(9)}${String(r.copied).padStart(9)}`,
    );
  console.log(`${"content digest".padEnd(24)}${digestSecs.toFixed(2).padStart(8)}   (${d.files} files, ${(d.bytes / 1e6).toFixed(0)} MB)`);
  const copy = rows.find((r) => r.mode === "copy");
  for (const r of rows.filter((r) => r.mode !== "copy"))
    console.log(`${r.mode}: ${(copy.synced / r.synced).toFixed(1)}x faster than a full copy (with writeback)`);
} finally {
  await rm(root, { recursive: true, force: true });
}
