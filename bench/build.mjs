#!/usr/bin/env node
// Cold build, warm rebuild (persistent Go cache volume, generated files
// reused) and the same `make` run by hand in the same container, side by
// side. The tree is the tests' Kubernetes-shaped fixture
// (test/fixtures/k8s-tree.ts: a real Makefile and hack/ scripts) plus
// generated Go packages under vendor/, so that compiling takes long enough
// for the cache to matter. Each build stages its own fresh tree. With --json
// the last line is {cold, warm, identical} for bench/run.mjs.
//
// --source TARBALL builds a real release tree instead (e.g. Debian's
// kubernetes_1.20.5+really1.20.2.orig.tar.gz, sha256 b83c0780…dfc, from
// https://deb.debian.org/debian/pool/main/k/kubernetes/): its make runs code
// generation first, which the fixture has not. Cold (a labelled copy of the
// image, so the Go cache volume is new and the bench's own; no generated
// files kept) then warm, through the tool only:
// a real make by hand would double the minutes. --version names the release
// (default 1.20.2).
// Run after `npm run build`:  node bench/build.mjs [packages] [--source TARBALL [--version V]] [--json]
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const PACKAGES = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 120);
const IMAGE = process.env.BENCH_IMAGE ?? "kubelet-nokmem-toolchain:go1.19";
const argValue = (name) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
};
const SOURCE = argValue("--source");
const VERSION = SOURCE ? (argValue("--version") ?? "1.20.2") : "1.19.16"; // the fixture: a line of its own, so the bench's cache volume is not the tests'
const CLI = resolve("dist/cli.js");
const root = mkdtempSync(join(tmpdir(), "kn-bench-build-"));

function sh(file, args, opts = {}) {
  return execFileSync(file, args, { encoding: "utf8", maxBuffer: 1 << 30, ...opts });
}
function timed(fn) {
  const t = performance.now();
  const r = fn();
  return { secs: (performance.now() - t) / 1000, r };
}

/**
 * Cold and warm builds of a real tarball through the tool; the numbers
 * bench/run.mjs prints. The image is the toolchain with one label added: the
 * same Go and files under another id, so its Go cache volume is the bench's
 * own and emptying it for the cold build touches no one else's cache.
 */
function realTree() {
  const image = `kn-bench-toolchain:${process.pid}`;
  sh("docker", ["build", "-q", "-t", image, "-"], {
    input: `FROM ${IMAGE}\nLABEL io.github.kubelet-nokmem.bench=${process.pid}\n`,
    env: { ...process.env, DOCKER_BUILDKIT: "0" },
  });
  const imageId = sh("docker", ["image", "inspect", "--format", "{{.Id}}", image]).trim();
  const line = VERSION.split(".").slice(0, 2).join(".");
  const volume = `kubelet-nokmem-gocache-${line}-${imageId.replace("sha256:", "").slice(0, 12)}`;
  const cache = join(root, "cache");
  const build = (out) => {
    const t = timed(() =>
      sh("node", [CLI, "build", "--version", VERSION, "--image", image, "--source", resolve(SOURCE), "--cache-dir", cache, "--out", join(root, out), "--json"]),
    );
    return { secs: t.secs, json: JSON.parse(t.r) };
  };
  try {
    console.log(`tree: ${SOURCE} (v${VERSION}); image ${IMAGE} as ${image}`);
    // Cold: a new Go cache volume, a cache folder without generated files.
    const cold = build("out-cold");
    const warm = build("out-warm");
    const identical = cold.json.sha256 === warm.json.sha256;
    console.log("");
    console.log(`cold (empty Go cache, nothing kept)   ${cold.secs.toFixed(1).padStart(7)}s   generated files: ${cold.json.generated.reuse}`);
    console.log(`warm (fresh tree)                     ${warm.secs.toFixed(1).padStart(7)}s   generated files: ${warm.json.generated.reuse}`);
    console.log(`warm / cold                           ${((warm.secs / cold.secs) * 100).toFixed(1).padStart(7)}%`);
    console.log(`same sha256 cold/warm: ${identical}; verdicts ${cold.json.verdict}/${warm.json.verdict}`);
    if (process.argv.includes("--json"))
      console.log(JSON.stringify({ source: SOURCE, cold: cold.secs, warm: warm.secs, identical, reuse: warm.json.generated.reuse }));
  } finally {
    sh("docker", ["volume", "rm", "-f", volume]);
    sh("docker", ["image", "rm", image]);
  }
}

/** The fixture tree: cold and warm through the tool, and the same make by hand. */
async function fixtureTree() {
  // The fixture generator is TypeScript: compile it next to the bench's files.
  sh("npx", [
    "tsc",
    "test/fixtures/k8s-tree.ts",
    "--outDir",
    join(root, "gen"),
    "--rootDir",
    ".",
    "--module",
    "nodenext",
    "--moduleResolution",
    "nodenext",
    "--target",
    "es2022",
    "--skipLibCheck",
  ]);
  writeFileSync(join(root, "gen", "package.json"), '{"type":"module"}');
  const { makeTree, git } = await import(join(root, "gen", "test", "fixtures", "k8s-tree.js"));
  const repo = join(root, "repo");
  await makeTree(repo, { era: "1.20", version: VERSION, kind: "dir" });
  // Generated packages the kubelet imports, as vendored dependencies.
  const imports = [];
  for (let p = 0; p < PACKAGES; p++) {
    const dir = join(repo, "vendor/example.com/gen", `p${p}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 8; f++) {
      let src = `package p${p}\n\nimport "strings"\n\n`;
      for (let k = 0; k < 40; k++)
        src += `type T${f}_${k} struct{ A, B string; N []int }\n\nfunc (t *T${f}_${k}) Join(xs []string) string { var b strings.Builder; for i, x := range xs { if i%${k + 2} == 0 { b.WriteString(t.A) }; b.WriteString(strings.ToUpper(x) + t.B) }; return b.String() }\n\nfunc F${f}_${k}(n int) int { s := 0; for i := 0; i < n; i++ { s += i * ${k + 1} % ${f + 3} }; return s }\n\n`;
      writeFileSync(join(dir, `f${f}.go`), src);
    }
    imports.push(`\t_ "example.com/gen/p${p}"`);
  }
  const main = join(repo, "cmd/kubelet/kubelet.go");
  writeFileSync(main, readFileSync(main, "utf8").replace("import (\n", `import (\n${imports.join("\n")}\n`));
  git(repo, ["init", "-q"]);
  git(repo, ["add", "-A"]);
  git(repo, ["commit", "-q", "-m", "bench"], {
    GIT_AUTHOR_DATE: "1600000000 +0000",
    GIT_COMMITTER_DATE: "1600000000 +0000",
    GIT_AUTHOR_NAME: "Bench",
    GIT_AUTHOR_EMAIL: "bench@example.invalid",
    GIT_COMMITTER_NAME: "Bench",
    GIT_COMMITTER_EMAIL: "bench@example.invalid",
  });
  git(repo, ["tag", `v${VERSION}`]);
  const files = Number(sh("git", ["-C", repo, "ls-files"]).split("\n").length - 1);
  console.log(`tree: ${files} files, ${PACKAGES} generated packages; image ${IMAGE}`);

  const imageId = sh("docker", ["image", "inspect", "--format", "{{.Id}}", IMAGE]).trim();
  const toolVolume = `kubelet-nokmem-gocache-1.19-${imageId.replace("sha256:", "").slice(0, 12)}`;
  const handVolume = `kn-bench-hand-${process.pid}`;
  sh("docker", ["volume", "rm", "-f", toolVolume]);
  const cache = join(root, "cache");
  const tool = (out) =>
    timed(() => sh("node", [CLI, "build", "--version", VERSION, "--image", IMAGE, "--source", repo, "--cache-dir", cache, "--out", join(root, out), "--json"]));

  // By hand: a fresh clone, the version file, and the plain docker run the tool would issue.
  const hand = (name) => {
    const tree = join(root, name);
    sh("git", ["clone", "-q", "--branch", `v${VERSION}`, repo, tree]);
    mkdirSync(join(tree, "_output/kubelet-nokmem"), { recursive: true });
    mkdirSync(join(tree, "_output/local/go/cache"), { recursive: true });
    writeFileSync(
      join(tree, "_output/kubelet-nokmem/version.env"),
      `KUBE_GIT_COMMIT=''\nKUBE_GIT_TREE_STATE='clean'\nKUBE_GIT_VERSION='v${VERSION}'\nKUBE_GIT_MAJOR='1'\nKUBE_GIT_MINOR='19'\n`,
    );
    return timed(() =>
      sh("docker", [
        "run",
        "--rm",
        "--network",
        "none",
        "--user",
        `${process.getuid()}:${process.getgid()}`,
        "-v",
        `${tree}:/src`,
        "-v",
        `${handVolume}:/src/_output/local/go/cache`,
        "-w",
        "/src",
        "-e",
        "GO111MODULE=off",
        "-e",
        "GOFLAGS=-tags=nokmem",
        "-e",
        "KUBE_GIT_VERSION_FILE=/src/_output/kubelet-nokmem/version.env",
        "-e",
        "SOURCE_DATE_EPOCH=1600000000",
        "-e",
        "KUBE_BUILD_PLATFORMS=linux/amd64",
        "-e",
        "HOME=/tmp",
        IMAGE,
        "make",
        "WHAT=cmd/kubelet",
      ]),
    );
  };

  const handCold = hand("hand-cold");
  const handWarm = hand("hand-warm");
  const toolCold = tool("out-cold");
  const toolWarm = tool("out-warm");
  const sha = (r) => JSON.parse(r.r).sha256;

  const pct = (a, b) => `${(((a - b) / b) * 100).toFixed(1)}%`;
  console.log("");
  console.log("                      kubelet-nokmem build   make by hand   overhead");
  console.log(
    `cold (empty cache)    ${toolCold.secs.toFixed(1).padStart(17)}s ${handCold.secs.toFixed(1).padStart(13)}s ${pct(toolCold.secs, handCold.secs).padStart(10)}`,
  );
  console.log(
    `warm (fresh tree)     ${toolWarm.secs.toFixed(1).padStart(17)}s ${handWarm.secs.toFixed(1).padStart(13)}s ${pct(toolWarm.secs, handWarm.secs).padStart(10)}`,
  );
  console.log(`warm / cold           ${(toolWarm.secs / toolCold.secs).toFixed(2).padStart(18)} ${(handWarm.secs / handCold.secs).toFixed(2).padStart(14)}`);
  console.log(`same sha256 cold/warm: ${sha(toolCold) === sha(toolWarm)}`);
  if (process.argv.includes("--json"))
    console.log(
      JSON.stringify({
        cold: toolCold.secs,
        warm: toolWarm.secs,
        identical: sha(toolCold) === sha(toolWarm),
        handCold: handCold.secs,
        handWarm: handWarm.secs,
      }),
    );
  sh("docker", ["volume", "rm", "-f", handVolume]);
}

try {
  if (SOURCE) realTree();
  else await fixtureTree();
} finally {
  rmSync(root, { recursive: true, force: true });
}
