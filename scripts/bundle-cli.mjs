#!/usr/bin/env node
/**
 * Bundle the CLI into dist/cli.js after tsc has compiled dist/. Node then
 * loads a handful of modules instead of about a hundred (ours, commander's,
 * semver's …): ES module loading was about 70 ms of every start, measured,
 * a third of a whole `audit` of a 105 MB kubelet.
 *
 * The commands' dynamic import()s stay dynamic: with splitting, each becomes
 * its own file under dist/chunks/, so `resolve` never loads the build
 * pipeline or execa. The rest of dist/ (tsc's per-file output) stays for
 * scripts that import single modules (bench/stage.mjs,
 * scripts/build-catalog-validator.mjs) but is not published: package.json's
 * `files` lists only what the bin loads (dist/cli.js, dist/chunks/ and the
 * precompiled catalog validator). No source maps: the published bin never
 * loads them (Node reads them only with --enable-source-maps).
 *
 * Measured against a single file (about 1 MB: slower, everything is compiled
 * on every start) and a minified bundle (no faster within the noise).
 */
import { build } from "esbuild";
import { rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
rmSync(join(dist, "chunks"), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { cli: "src/cli.ts" },
  outdir: dist,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: false,
  // Bundled CommonJS packages (commander, semver) call require() for Node's
  // own modules, which an ES module does not have: give them one.
  // The CycloneDX library's resource paths are computed from __dirname when it loads.
  banner: {
    js: 'import { createRequire as __cliCreateRequire } from "node:module"; import { dirname as __cliDirname } from "node:path"; import { fileURLToPath as __cliFileURLToPath } from "node:url"; const require = __cliCreateRequire(import.meta.url); const __dirname = __cliDirname(__cliFileURLToPath(import.meta.url));',
  },
  // jsonc-parser's "main" is a UMD build whose require() calls esbuild cannot
  // follow; its ES module build is the same code.
  alias: { "jsonc-parser": "jsonc-parser/lib/esm/main.js" },
  // The CycloneDX library is bundled too, into the chunk only the build's
  // attest step loads (it was a 7 MB runtime dependency). It require()s its
  // optional XML and validation plugins (xmlbuilder2, libxmljs2, ajv with
  // ajv-formats) inside try/catch, and does without them: they stay
  // external, so those requires fail at run time as they did when the
  // plugins were not installed. The SBOM is JSON and validated in the tests,
  // not by the CLI.
  external: ["xmlbuilder2", "libxmljs2", "ajv", "ajv-formats", "ajv-formats-draft2019"],
  logLevel: "warning",
});
