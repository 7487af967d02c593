#!/usr/bin/env node
/**
 * What a user downloads and installs: the packed tarball's size, its size
 * unpacked, the size of the global install with its runtime dependencies,
 * how many packages that install adds, and how long `npm i -g` of the tarball
 * takes. Run after `npm run build`:
 *
 *   node bench/package.mjs [--runs N]
 *
 * The install is timed N times (default 5) into fresh prefixes with
 * `--prefer-offline`, after one untimed install that fills npm's cache: the
 * median is what a second machine with a warm cache (or a CI runner with a
 * cached ~/.npm) sees. The first, cold install is printed as well.
 *
 * With --write-readme it also writes the measured figures into README.md
 * (packed size, files, unpacked size, installed size, dependencies), so they
 * cannot go stale; test/package/contents.test.ts and installed.slow.test.ts
 * compare them with what npm packs and installs.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const i = process.argv.indexOf("--runs");
const runs = i === -1 ? 5 : Number(process.argv[i + 1]);

function du(path) {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, e) => n + du(join(path, e)), 0);
}

const kB = (n) => `${(n / 1000).toFixed(1)} kB`;
const MB = (n) => `${(n / 1e6).toFixed(2)} MB`;
const tmp = mkdtempSync(join(tmpdir(), "kubelet-nokmem-bench-package-"));
try {
  const packed = JSON.parse(execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], { cwd: ROOT, encoding: "utf8" }))[0];
  const tarball = join(tmp, packed.filename);
  const install = (prefix) => {
    const t = process.hrtime.bigint();
    execFileSync("npm", ["install", "--global", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", "--loglevel", "error", tarball], {
      stdio: "ignore",
    });
    return Number(process.hrtime.bigint() - t) / 1e9;
  };
  const first = install(join(tmp, "first"));
  const times = [];
  for (let r = 0; r < runs; r++) times.push(install(join(tmp, `run-${r}`)));
  times.sort((a, b) => a - b);
  const installed = join(tmp, "first", "lib", "node_modules", packed.name);
  const deps = readdirSync(join(installed, "node_modules"))
    .flatMap((d) => (d.startsWith("@") ? readdirSync(join(installed, "node_modules", d)).map((x) => `${d}/${x}`) : [d]))
    .filter((d) => !d.startsWith("."));
  console.log(`package:          ${packed.name}@${packed.version}, ${packed.entryCount} files`);
  console.log(`packed size:      ${kB(packed.size)}`);
  console.log(`unpacked size:    ${MB(packed.unpackedSize)}`);
  console.log(`installed size:   ${MB(du(installed))} (with its runtime dependencies)`);
  console.log(
    `dependencies:     ${Object.keys(JSON.parse(execFileSync("node", ["-p", "JSON.stringify(require(process.argv[1]).dependencies)", join(ROOT, "package.json")], { encoding: "utf8" }))).length} direct, ${deps.length} installed in all (${deps.join(", ")})`,
  );
  console.log(`npm i -g:         ${times[Math.floor(times.length / 2)].toFixed(2)} s median of ${runs} (warm npm cache); first install ${first.toFixed(2)} s`);
  if (process.argv.includes("--write-readme")) {
    const direct = Object.keys(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).dependencies ?? {});
    writeReadme({
      packed: packed.size,
      files: packed.entryCount,
      unpacked: packed.unpackedSize,
      installed: du(installed),
      direct,
      installedCount: deps.length,
    });
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

/** The README's figures, in the words test/package reads them back with. */
function writeReadme(f) {
  const path = join(ROOT, "README.md");
  const numberWord = ["no", "one", "two", "three", "four", "five"];
  const names = f.direct.map((d) => `\`${d}\``).join(", ");
  const kb = `${Math.round(f.packed / 10_000) * 10} kB`;
  const replacements = [
    [
      /(`kubelet-nokmem-[\d.]+\.tgz`, about )\d+ kB; \w+ runtime dependenc(?:y|ies), [^:]+:/,
      `$1${kb}; ${numberWord[f.direct.length] ?? f.direct.length} runtime dependenc${f.direct.length === 1 ? "y" : "ies"}, ${names}:`,
    ],
    [/(the packed tarball is about )\d+ kB\n\(\d+ files, [\d.]+ MB unpacked\)/, `$1${kb}\n(${f.files} files, ${(f.unpacked / 1e6).toFixed(1)} MB unpacked)`],
    [
      /(it takes )[\d.]+ MB; it has \d+ dependenc(?:y|ies) \([^,]+, \d+ packages installed in all\)/,
      `$1${(f.installed / 1e6).toFixed(2)} MB; it has ${f.direct.length} dependenc${f.direct.length === 1 ? "y" : "ies"} (${names}, ${f.installedCount} packages installed in all)`,
    ],
  ];
  let text = readFileSync(path, "utf8");
  for (const [re, to] of replacements) {
    if (!re.test(text)) throw new Error(`README.md: the sentence ${re} is gone; update bench/package.mjs with it`);
    text = text.replace(re, to);
  }
  writeFileSync(path, text);
  console.log("README.md: figures written");
}
