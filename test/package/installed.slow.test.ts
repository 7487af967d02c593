/**
 * The product as users start it: the packed tarball installed with
 * `npm i -g --prefix`, run through npm's bin link, through `npx` from a local
 * install and through a symlink of another name. Every command must give the
 * same stdout, stderr and exit code as `node dist/cli.js` from the checkout
 * (an entry-point test that matched the typed name once made the installed
 * command a silent exit 0, which node-problem-detector read as "healthy").
 *
 * The tarball's one runtime dependency (ajv) comes from npm's cache or the
 * registry; pack and installs happen once, in beforeAll.
 */
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/process/exec.js";
import { makeTree } from "../fixtures/k8s-tree.js";
import {
  centos7AtRiskNode,
  centos7LeakingNode,
  healthyNode,
  KMEM_ENABLED_BINARY,
  NOKMEM_BINARY,
  nokmemBootNode,
  removeRoot,
  writeRoot,
} from "../node/node-root.js";
import { CLI, ensureBuilt, REPO } from "../support/built-cli.js";
import { packPackage } from "../../src/pipeline/tool-image.js";

const pkg = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { name: string; version: string };
const BIN = "kubelet-nokmem";

let tmp = "";
let globalBin = "";
let localDir = "";
let renamed = "";
const roots: string[] = [];
const fx: Record<string, string> = {};

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Where each copy of the package lives, replaced by one token so paths it prints compare equal. */
const packageDirs = () => [join(tmp, "global", "lib", "node_modules", pkg.name), join(localDir, "node_modules", pkg.name), REPO];

function normalise(text: string): string {
  let out = text;
  for (const d of packageDirs()) out = out.split(d).join("<package>");
  return out;
}

async function start(file: string, args: string[], cwd = tmp): Promise<Outcome> {
  // No colour, no update notices: npx and npm must add nothing of their own.
  const env = { NO_COLOR: "1", NPM_CONFIG_UPDATE_NOTIFIER: "false", NPM_CONFIG_FUND: "false", NPM_CONFIG_AUDIT: "false" };
  const r = await run({ file, args, cwd, env }, { reject: false, timeoutMs: 120_000 });
  return { code: r.exitCode, stdout: normalise(r.stdout), stderr: normalise(r.stderr) };
}

const ways: Record<string, (args: string[]) => Promise<Outcome>> = {
  "npm i -g bin link": (args) => start(globalBin, args),
  "npx from a local install": (args) => start("npx", ["--no", "--offline", BIN, ...args], localDir),
  "a symlink of another name": (args) => start(renamed, args),
};
const reference = (args: string[]) => start(process.execPath, [CLI, ...args]);

beforeAll(async () => {
  await ensureBuilt();
  tmp = await mkdtemp(join(tmpdir(), "kubelet-nokmem-installed-"));
  const tarball = await packPackage(tmp, REPO);
  const npmFlags = ["--prefer-offline", "--no-audit", "--no-fund", "--loglevel", "error"];
  await run({ file: "npm", args: ["install", "--global", "--prefix", join(tmp, "global"), ...npmFlags, tarball] });
  globalBin = join(tmp, "global", "bin", BIN);
  localDir = join(tmp, "local");
  await mkdir(localDir);
  await writeFile(join(localDir, "package.json"), JSON.stringify({ name: "fleet-checks", private: true }));
  await run({ file: "npm", args: ["install", ...npmFlags, tarball], cwd: localDir });
  // A symlink to the bin link, of a name unlike either: two links deep.
  renamed = join(tmp, "nokmem-check");
  await symlink(globalBin, renamed);

  const tree = await makeTree(join(tmp, "tree-1.16"), { era: "1.16", version: "1.16.15", kind: "dir" });
  fx.tree = tree.root;
  fx.binaries = join(tmp, "binaries");
  await mkdir(fx.binaries);
  await writeFile(join(fx.binaries, "kubelet-nokmem-build"), NOKMEM_BINARY, { mode: 0o755 });
  await writeFile(join(fx.binaries, "kubelet-normal"), KMEM_ENABLED_BINARY, { mode: 0o755 });
  for (const [name, make] of Object.entries({ healthy: healthyNode, atRisk: centos7AtRiskNode, leaking: centos7LeakingNode, nokmemBoot: nokmemBootNode })) {
    fx[name] = await writeRoot(make());
    roots.push(fx[name]);
  }
}, 5 * 60_000);

afterAll(async () => {
  for (const r of roots) await removeRoot(r);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** One invocation per command (and a few error paths), each compared across every way of starting. */
const cases: { name: string; args: () => string[]; code?: number }[] = [
  { name: "--help", args: () => ["--help"], code: 0 },
  { name: "--version", args: () => ["--version"], code: 0 },
  { name: "an unknown command", args: () => ["frobnicate"], code: 2 },
  { name: "resolve", args: () => ["resolve", "1.16.15"], code: 0 },
  { name: "resolve --json", args: () => ["resolve", "1.20.15", "--json"], code: 0 },
  { name: "resolve of a bad version", args: () => ["resolve", "one.two"], code: 2 },
  { name: "inspect --json", args: () => ["inspect", fx.tree!, "--json"], code: 0 },
  { name: "patch --check", args: () => ["patch", fx.tree!, "--check", "--version", "1.16.15"], code: 0 },
  { name: "patch --dry-run", args: () => ["patch", fx.tree!, "--dry-run", "--version", "1.16.15"], code: 0 },
  { name: "build --dry-run", args: () => ["build", "--version", "1.16.15", "--source", fx.tree!, "--out", join(tmp, "out"), "--dry-run"] },
  { name: "image build --help", args: () => ["image", "build", "--help"], code: 0 },
  { name: "image check of a missing image", args: () => ["image", "check", "kubelet-nokmem-installed-test-absent:0", "--json"], code: 3 },
  { name: "audit --json of a folder", args: () => ["audit", fx.binaries!, "--json"], code: 4 },
  { name: "audit of a path that does not exist", args: () => ["audit", join(tmp, "no-such-kubelet")], code: 4 },
  { name: "verify of a bare binary", args: () => ["verify", join(fx.binaries!, "kubelet-nokmem-build"), "--json"] },
  { name: "pin of a folder without a build", args: () => ["pin", fx.binaries!], code: 2 },
  { name: "matrix --format github", args: () => ["matrix", "--format", "github"], code: 0 },
  { name: "doctor --json on a healthy node", args: () => ["doctor", "--root", fx.healthy!, "--json"], code: 0 },
  { name: "doctor on an at-risk node", args: () => ["doctor", "--root", fx.atRisk!] },
  { name: "doctor --npd on a leaking node", args: () => ["doctor", "--root", fx.leaking!, "--npd"], code: 1 },
  { name: "doctor --npd on an at-risk node", args: () => ["doctor", "--root", fx.atRisk!, "--npd"], code: 1 },
  { name: "doctor --npd on a nokmem-booted node", args: () => ["doctor", "--root", fx.nokmemBoot!, "--npd"], code: 0 },
];

/** Bytes of the files under a folder. */
async function du(path: string): Promise<number> {
  const st = await lstat(path);
  if (!st.isDirectory()) return st.size;
  let n = 0;
  for (const e of await readdir(path)) n += await du(join(path, e));
  return n;
}

describe("what a user installs", () => {
  it("is the size and the packages the README says (`node bench/package.mjs --write-readme` rewrites them)", async () => {
    const readme = await readFile(join(REPO, "README.md"), "utf8");
    const m = /it takes ([\d.]+) MB; it has \d+ dependenc(?:y|ies) \([^)]*?, (\d+) packages installed in all\)/.exec(readme);
    expect(m, "the README's installed-size sentence").not.toBeNull();
    const installed = join(tmp, "global", "lib", "node_modules", pkg.name);
    const modules = join(installed, "node_modules");
    const names = (await readdir(modules)).filter((d) => !d.startsWith("."));
    const count = (await Promise.all(names.map(async (d) => (d.startsWith("@") ? (await readdir(join(modules, d))).length : 1)))).reduce((a, b) => a + b, 0);
    expect(count).toBe(Number(m![2]));
    // Within 5%: the dependencies' own patch releases move their size a little.
    const size = await du(installed);
    expect(Math.abs(size - Number(m![1]) * 1e6) / size).toBeLessThan(0.05);
  });
});

describe("the installed command behaves as node dist/cli.js", () => {
  it("installs a bin that is the bundled CLI, with the package's version", async () => {
    const r = await start(globalBin, ["--version"]);
    expect(r).toEqual({ code: 0, stdout: pkg.version, stderr: "" });
  });

  for (const c of cases) {
    describe.concurrent(c.name, () => {
      let expected: Outcome;
      beforeAll(async () => {
        expected = await reference(c.args());
      });
      it("gives the expected exit code and prints something from node dist/cli.js", () => {
        if (c.code !== undefined) expect(expected.code, expected.stderr).toBe(c.code);
        expect(expected.stdout + expected.stderr).not.toBe("");
      });
      for (const [way, go] of Object.entries(ways)) {
        it(`the same through ${way}`, async () => {
          expect(await go(c.args())).toEqual(expected);
        });
      }
    });
  }
});
