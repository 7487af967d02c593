#!/usr/bin/env node
/**
 * Bundle the CLI after tsc has compiled dist/. Node then reads one file of
 * the tool's code per run instead of about a hundred modules (ours,
 * commander's, semver's …) or a few dozen shared chunks:
 *
 * - dist/cli.js, the bin (src/bin.ts): a few hundred bytes that answer
 *   `--version` from package.json and otherwise import one bundle;
 * - dist/chunks/cmd-NAME.js for the commands that run often and briefly
 *   (OWN_BUNDLE below): the whole program (src/cli.ts, commander, the catalog
 *   reader) with that command and everything it may load, in one file; the
 *   other commands are left out (a run of `audit` never asks for them:
 *   src/commands/index.ts loads only the one named);
 * - dist/chunks/cmd-all.js: every command, for the others, `--help` and
 *   unknown names;
 * - dist/chunks/pass-worker.js: the folder audit's worker thread.
 *
 * Each bundle is built without splitting, so the error classes, commander
 * and the context are one copy per run (an `instanceof` across two copies
 * would fail). A command's own lazy import()s are inlined as functions run
 * on first use: compiled only if called. Measured on `audit` of a small
 * binary: one 400 kB file cost about a third less CPU at start-up than the
 * 26 shared chunks (387 kB) it loaded before; the file count is what cost.
 *
 * The rest of dist/ (tsc's per-file output) stays for scripts that import
 * single modules (bench/stage.mjs, scripts/build-catalog-validator.mjs) but
 * is not published: package.json's `files` lists only what the bin loads
 * (dist/cli.js, dist/chunks/ and the precompiled catalog validator). No
 * source maps: the published bin never loads them. A minified bundle was no
 * faster within the noise.
 */
import { build } from "esbuild";
import { readFileSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");

// The bundled catalog, checked now with every check a load makes (tsc's
// output, run after the validator was compiled): the bundles then vouch for
// exactly this schema and catalog text, and a start-up that reads them
// unchanged skips the checks (src/catalog/load.ts, checkedAtBuild).
const { checkedDigest, parseCatalog } = await import(pathToFileURL(join(dist, "catalog", "load.js")).href);
const { COMMAND_NAMES } = await import(pathToFileURL(join(dist, "commands", "names.js")).href);
const catalogText = readFileSync(join(root, "versions.json"), "utf8");
parseCatalog(catalogText, "versions.json");
const checkedCatalog = checkedDigest(readFileSync(join(root, "versions.schema.json"), "utf8"), catalogText);

const common = {
  absWorkingDir: root,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: false,
  logLevel: "warning",
};

/** A command module left out of a bundle: never loaded by a run of that bundle's command. */
function leaveOut(keep) {
  return {
    name: "one-command",
    setup(b) {
      b.onResolve({ filter: /^\.\/[a-z]+\.js$/ }, (args) => {
        if (args.kind !== "dynamic-import" || !args.importer.endsWith(join("src", "commands", "index.ts"))) return undefined;
        const name = args.path.slice(2, -3);
        return COMMAND_NAMES.includes(name) && name !== keep ? { path: name, namespace: "left-out" } : undefined;
      });
      b.onLoad({ filter: /.*/, namespace: "left-out" }, (args) => ({
        contents: `export function register() { throw new Error("internal: the ${args.path} command is not in this bundle"); }`,
        loader: "js",
      }));
    },
  };
}

/**
 * The commands that run often and briefly (on every node, in every CI step)
 * get a bundle of their own; the others, which run for minutes (a build) or
 * rarely, load the one with every command: the package stays small (each
 * bundle holds a copy of commander and the catalog reader).
 */
const OWN_BUNDLE = ["resolve", "audit", "verify", "doctor"];

/**
 * The large libraries several command bundles use, in files of their own
 * beside the bundles, which import them as "./vendor-NAME.js": one copy in
 * the package instead of one per bundle, and a command that never runs a
 * child process (audit of a binary, doctor) never compiles execa nor loads
 * the Node modules it imports (child_process, stream …) at start-up. Only
 * libraries that share no classes with the tool's own code are split out
 * (the tool's error classes stay one copy per run: see above).
 *
 * commander and semver, which every run loads, share one file: each file
 * costs a run about as much as compiling 50 kB more (resolution, realpath,
 * module records). The tool imports semver's default export and commander's
 * named ones, so the two fit one module's exports. semver's default export
 * is semver itself, evaluated on first use: its modules build some forty
 * regular expressions and parse two ranges when they load, and most runs
 * (an audit, a doctor) never ask it anything.
 */
const VENDOR = {
  "vendor-cli": {
    libraries: ["commander", "semver"],
    // esbuild bundles the require() and keeps its evaluation where the call is.
    contents: `export * from "commander";
      let semver;
      const load = () => (semver ??= require("semver"));
      export default new Proxy({}, { get: (_, name) => load()[name], has: (_, name) => name in load() });`,
  },
  "vendor-execa": { libraries: ["execa"], contents: 'export * from "execa";' },
};

/**
 * commander requires child_process when it loads, for subcommands that are
 * executables of their own, which this tool has none of; loading it (with
 * net, dgram and streams) was a few milliseconds of every run. It is
 * required on first use instead. The build fails if commander's line
 * changes, so an upgrade is looked at.
 */
function commanderChildProcessOnUse() {
  const line = "const childProcess = require('node:child_process');";
  return {
    name: "commander-child-process-on-use",
    setup(b) {
      b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
        const text = await readFile(args.path, "utf8");
        if (!text.includes(line)) throw new Error(`commander's lib/command.js no longer has \`${line}\`: update scripts/bundle-cli.mjs`);
        const lazy = "let childProcessModule; const childProcess = { spawn: (...a) => (childProcessModule ??= require('node:child_process')).spawn(...a) };";
        return { contents: text.replace(line, lazy), loader: "js" };
      });
    },
  };
}

/** Imports of a vendor library become imports of its file; the library's own code is left to that file's build. */
function vendorImports() {
  const fileOf = new Map(Object.entries(VENDOR).flatMap(([file, v]) => v.libraries.map((l) => [l, file])));
  return {
    name: "vendor-imports",
    setup(b) {
      b.onResolve({ filter: new RegExp(`^(${[...fileOf.keys()].join("|")})$`) }, (args) =>
        args.kind === "import-statement" || args.kind === "dynamic-import" ? { path: `./${fileOf.get(args.path)}.js`, external: true } : undefined,
      );
    },
  };
}

// Bundled CommonJS packages (commander, semver) call require() for Node's
// own modules, which an ES module does not have: give them one.
// The CycloneDX library's resource paths are computed from __dirname when it loads.
const banner = {
  js: 'import { createRequire as __cliCreateRequire } from "node:module"; import { dirname as __cliDirname } from "node:path"; import { fileURLToPath as __cliFileURLToPath } from "node:url"; const require = __cliCreateRequire(import.meta.url); const __dirname = __cliDirname(__cliFileURLToPath(import.meta.url));',
};
// jsonc-parser's "main" is a UMD build whose require() calls esbuild cannot
// follow; its ES module build is the same code.
const alias = { "jsonc-parser": "jsonc-parser/lib/esm/main.js" };

rmSync(join(dist, "chunks"), { recursive: true, force: true });
await build({ ...common, entryPoints: { cli: "src/bin.ts" }, outdir: dist });
for (const [file, { contents }] of Object.entries(VENDOR)) {
  await build({
    ...common,
    stdin: { contents, resolveDir: root, loader: "js", sourcefile: `${file}.js` },
    outfile: join(dist, "chunks", `${file}.js`),
    plugins: [commanderChildProcessOnUse()],
    banner,
    alias,
  });
}
for (const name of [...OWN_BUNDLE, "all"]) {
  await build({
    ...common,
    entryPoints: { [`chunks/cmd-${name}`]: "src/cli.ts" },
    outdir: dist,
    plugins: [vendorImports(), ...(name === "all" ? [] : [leaveOut(name)])],
    banner,
    alias,
    // The CycloneDX library is bundled too, into the bundles of the commands
    // that build (it was a 7 MB runtime dependency). It require()s its
    // optional XML and validation plugins (xmlbuilder2, libxmljs2, ajv with
    // ajv-formats) inside try/catch, and does without them: they stay
    // external, so those requires fail at run time as they did when the
    // plugins were not installed. The SBOM is JSON and validated in the tests,
    // not by the CLI.
    external: ["xmlbuilder2", "libxmljs2", "ajv", "ajv-formats", "ajv-formats-draft2019"],
    define: { KUBELET_NOKMEM_CHECKED_CATALOG: JSON.stringify(checkedCatalog) },
  });
}
// The folder audit's worker thread (src/audit/pass.ts): one self-contained
// file beside the bundles, where the code that starts it looks for it, as
// tsc's output has it beside src/audit/pass.js.
await build({ ...common, entryPoints: { "chunks/pass-worker": "src/audit/pass-worker.ts" }, outdir: dist });
