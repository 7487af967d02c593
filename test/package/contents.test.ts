/**
 * The package as published (`npm pack --dry-run`): what the installed bin
 * loads and the documents it points users to, and nothing else — no source
 * maps, no per-file compiler output the bundle never loads — with the
 * licence text, project links, and `dependencies` equal to the packages the
 * shipped code imports at run time (everything else is bundled by esbuild).
 */
import { builtinModules } from "node:module";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/process/exec.js";
import { ensureBuilt, REPO } from "../support/built-cli.js";

interface Pkg {
  license: string;
  repository?: { url: string };
  homepage?: string;
  bugs?: { url: string };
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}
const pkg = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as Pkg;
let files: string[] = [];
let packed = { size: 0, unpackedSize: 0, entryCount: 0 };

beforeAll(async () => {
  await ensureBuilt();
  const r = await run({ file: "npm", args: ["pack", "--dry-run", "--json", "--ignore-scripts"], cwd: REPO });
  const result = (JSON.parse(r.stdout) as ({ files: { path: string }[] } & typeof packed)[])[0]!;
  files = result.files.map((f) => f.path);
  packed = result;
}, 5 * 60_000);

/** Bare module names the shipped JavaScript loads: static and dynamic imports, require(). */
function externalModules(code: string): Set<string> {
  const out = new Set<string>();
  // esbuild's output: one import or export statement per line; import("x") and require("x") anywhere.
  const specifiers = [
    ...code.matchAll(/^\s*(?:import|export)\s[^;"]*?\bfrom\s*"([^"]+)";?$/gm),
    ...code.matchAll(/^\s*import\s*"([^"]+)";?$/gm),
    ...code.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
    ...code.matchAll(/(?:\b|__)require\d*\(\s*"([^"]+)"\s*\)/g),
  ].map((m) => m[1]!);
  for (const s of specifiers) {
    if (s.startsWith(".") || s.startsWith("/") || s.startsWith("node:") || builtinModules.includes(s.split("/")[0]!)) continue;
    // Text that only looks like an import (a template string writing Go source): not a package name.
    if (!/^(@[a-z0-9-~][\w.~-]*\/)?[a-z0-9-~][\w.~-]*(\/[\w.~-]+)*$/.test(s)) continue;
    out.add(s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : s.split("/")[0]!);
  }
  return out;
}

/**
 * Loaded only inside try/catch by a bundled library, and fine when absent:
 * debug (simple-git's logger) asks for supports-color to colour its output;
 * the CycloneDX library for its XML writer and its validators, which the
 * CLI never uses (scripts/bundle-cli.mjs).
 */
const OPTIONAL = new Set(["supports-color", "xmlbuilder2", "libxmljs2", "ajv-formats", "ajv-formats-draft2019"]);

describe("npm pack", () => {
  it("ships no source maps and no compiler output the bin never loads", () => {
    expect(files.filter((f) => f.endsWith(".map"))).toEqual([]);
    const dist = files.filter((f) => f.startsWith("dist/"));
    for (const f of dist) expect(f, f).toMatch(/^dist\/(cli\.js|chunks\/[\w-]+\.js|catalog\/schema-validator\.cjs)$/);
  });

  it("ships the bin and every chunk it loads", async () => {
    expect(files).toContain(pkg.bin["kubelet-nokmem"]);
    const cli = await readFile(join(REPO, "dist/cli.js"), "utf8");
    const chunks = [...cli.matchAll(/"\.\/(chunks\/[\w-]+\.js)"/g)].map((m) => `dist/${m[1]}`);
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) expect(files).toContain(c);
    // The folder audit's worker thread (src/audit/pass.ts): absent, audits would quietly run on one thread.
    for (const f of ["versions.json", "versions.schema.json", "dist/catalog/schema-validator.cjs", "dist/chunks/pass-worker.js"]) expect(files).toContain(f);
    expect(files.some((f) => f.startsWith("patches/") && f.endsWith(".patch"))).toBe(true);
  });

  it("ships the Apache-2.0 licence text the package declares, and project links", async () => {
    expect(pkg.license).toBe("Apache-2.0");
    expect(files).toContain("LICENSE");
    const text = await readFile(join(REPO, "LICENSE"), "utf8");
    expect(text).toMatch(/Apache License\s+Version 2\.0, January 2004/);
    expect(text).toMatch(/END OF TERMS AND CONDITIONS/);
    expect(pkg.repository?.url).toMatch(/^git\+https:\/\//);
    expect(pkg.homepage).toMatch(/^https:\/\//);
    expect(pkg.bugs?.url).toMatch(/^https:\/\//);
  });

  it("ships every local file the README links to", async () => {
    const readme = await readFile(join(REPO, "README.md"), "utf8");
    const links = [...readme.matchAll(/\]\(([^)#:]+)(#[^)]*)?\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(5);
    for (const l of links) expect(files, l).toContain(l);
  });

  it("dependencies are exactly the packages the shipped code loads at run time", async () => {
    const loaded = new Set<string>();
    for (const f of files.filter((x) => /\.(c?js)$/.test(x))) for (const m of externalModules(await readFile(join(REPO, f), "utf8"))) loaded.add(m);
    const needed = [...loaded].filter((m) => !OPTIONAL.has(m)).sort();
    expect(Object.keys(pkg.dependencies).sort()).toEqual(needed);
    // What the bundle already holds is a build-time dependency.
    for (const bundled of ["commander", "semver", "execa", "simple-git", "diff"]) {
      expect(pkg.devDependencies[bundled], bundled).toBeDefined();
      expect(loaded.has(bundled), `${bundled} is bundled, not loaded`).toBe(false);
    }
  });

  it("the README's package figures are what npm packs (`node bench/package.mjs --write-readme` rewrites them)", async () => {
    const readme = await readFile(join(REPO, "README.md"), "utf8");
    const fix = "run `npm run build && node bench/package.mjs --runs 1 --write-readme`";
    const install = /`kubelet-nokmem-[\d.]+\.tgz`, about (\d+) kB; (\w+) runtime dependenc(?:y|ies), ([^:]+):/.exec(readme);
    const figures = /the packed tarball is about (\d+) kB\n\((\d+) files, ([\d.]+) MB unpacked\)/.exec(readme);
    const deps = /it has (\d+) dependenc(?:y|ies) \(([^,]+(?:, `[^`]+`)*), \d+ packages installed in all\)/.exec(readme);
    expect(install, fix).not.toBeNull();
    expect(figures, fix).not.toBeNull();
    expect(deps, fix).not.toBeNull();
    // The file count and unpacked size are the build's own: exact (to the README's rounding).
    expect(Number(figures![2]), fix).toBe(packed.entryCount);
    expect(figures![3], fix).toBe((packed.unpackedSize / 1e6).toFixed(1));
    // The compressed size moves a little with npm's and zlib's versions: within 10%.
    for (const kb of [Number(install![1]), Number(figures![1])]) expect(Math.abs(kb * 1000 - packed.size) / packed.size, fix).toBeLessThan(0.1);
    const names = Object.keys(pkg.dependencies)
      .map((d) => `\`${d}\``)
      .join(", ");
    expect(install![3], fix).toBe(names);
    expect(deps![2], fix).toBe(names);
    expect(Number(deps![1]), fix).toBe(Object.keys(pkg.dependencies).length);
    expect(install![2], fix).toBe(["no", "one", "two", "three"][Object.keys(pkg.dependencies).length] ?? String(Object.keys(pkg.dependencies).length));
  });
});
