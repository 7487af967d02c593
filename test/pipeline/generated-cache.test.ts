/**
 * The cache of generated files: an entry holds what a cold make generated
 * and nothing else, a restore puts it back dated after everything in the
 * fresh tree, and every damaged or hostile entry is refused before the tree
 * takes anything from it (so the build generates cold).
 */
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  excludedFor,
  generatedKey,
  indexProblem,
  refreshGenerated,
  restoreGenerated,
  saveGenerated,
  snapshotTree,
  symlinkProblem,
  type EntryPath,
  type KeyInputs,
} from "../../src/pipeline/generated-cache.js";
import { tempDir } from "../helpers/tmp.js";

const WORKDIR = "/src";
const EXCLUDED = excludedFor({
  outputs: [{ platform: "linux/amd64", path: "_output/local/bin/linux/amd64/kubelet" }],
  versionFile: "_output/kubelet-nokmem/version.env",
});
const KEY = "a".repeat(64);
const OLD = new Date("2021-01-13T00:00:00Z");

const KEY_INPUTS: KeyInputs = {
  version: "1.20.2",
  strategy: "build-tag",
  series: null,
  treeDigest: "sha256:" + "1".repeat(64),
  patches: [],
  commit: null,
  imageId: "sha256:" + "2".repeat(64),
  command: ["make", "WHAT=cmd/kubelet"],
  env: [
    ["GOFLAGS", "-tags=nokmem"],
    ["SOURCE_DATE_EPOCH", "1610496000"],
  ],
  workdir: WORKDIR,
};

function write(root: string, rel: string, text: string, mode = 0o644): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text, { mode });
  chmodSync(join(root, rel), mode);
}

/** A 1.20-shaped source tree as staging leaves it: shipped sources dated at the release, the version file the patch step wrote. */
function sourceTree(root: string): string {
  write(root, "pkg/apis/core/v1/types.go", "package v1\n// +k8s:deepcopy-gen=package\n");
  write(root, "staging/src/k8s.io/api/core/v1/zz_generated.deepcopy.go", "// shipped\npackage v1\n");
  write(root, "cmd/kubelet/kubelet.go", "package main\nfunc main() {}\n");
  write(root, "build/root/Makefile", "all:\n");
  mkdirSync(join(root, ".git"), { recursive: true });
  write(root, ".git/config", "[core]\n");
  for (const f of ["pkg/apis/core/v1/types.go", "staging/src/k8s.io/api/core/v1/zz_generated.deepcopy.go", "cmd/kubelet/kubelet.go", "build/root/Makefile"])
    utimesSync(join(root, f), OLD, OLD);
  write(root, "_output/kubelet-nokmem/version.env", "KUBE_GIT_VERSION='v1.20.2'\n");
  mkdirSync(join(root, "_output/local/go/cache"), { recursive: true });
  return root;
}

/** What a cold `make` leaves: generators, generated sources, make's bookkeeping, links, and the kubelet. */
function runMake(root: string): void {
  write(root, ".make/go-pkgdeps.mk", "k8s.io/kubernetes/pkg/apis/core/v1 := /src/pkg/apis/core/v1/\n");
  write(root, ".make/_output/bin/deepcopy-gen.todo", "");
  write(root, "_output/local/bin/linux/amd64/deepcopy-gen", "\x7fELF deepcopy-gen", 0o755);
  write(root, "_output/local/go/bin/deepcopy-gen", "\x7fELF deepcopy-gen", 0o755);
  write(root, "pkg/apis/core/v1/zz_generated.deepcopy.go", "// generated\npackage v1\n");
  write(root, "staging/src/k8s.io/api/core/v1/zz_generated.deepcopy.go", "// regenerated\npackage v1\n");
  write(root, "_output/KUBE_violations.report", "API rule violation: …\n");
  symlinkSync("/src/_output/local/bin/linux/amd64", join(root, "_output/bin"));
  mkdirSync(join(root, "_output/local/go/src/k8s.io"), { recursive: true });
  symlinkSync("/src", join(root, "_output/local/go/src/k8s.io/kubernetes"));
  symlinkSync("/etc", join(root, "_output/leads-out"));
  write(root, "_output/local/go/cache/01/abc-d", "go cache object");
  write(root, "_output/local/bin/linux/amd64/kubelet", "\x7fELF kubelet", 0o755);
  write(root, "_output/local/go/bin/kubelet", "\x7fELF kubelet", 0o755);
}

/** A cold build's entry, and a fresh tree to restore it into. */
async function savedEntry(): Promise<{ dir: string; entry: string; fresh: string }> {
  const base = tempDir("kn-gen-");
  const cold = sourceTree(join(base, "cold"));
  const before = await snapshotTree(cold);
  runMake(cold);
  const dir = join(base, "generated");
  const saved = await saveGenerated(dir, cold, before, { key: KEY, workdir: WORKDIR, excluded: EXCLUDED });
  expect(saved).toEqual({ saved: "saved", files: 9 });
  return { dir, entry: join(dir, KEY), fresh: sourceTree(join(base, "fresh")) };
}

const restore = (entry: string, tree: string) => restoreGenerated(entry, tree, { key: KEY, workdir: WORKDIR, excluded: EXCLUDED });

function indexOf(entry: string): { format: number; key: string; paths: EntryPath[] } {
  return JSON.parse(readFileSync(join(entry, "entry.json"), "utf8")) as { format: number; key: string; paths: EntryPath[] };
}
function setIndex(entry: string, edit: (i: { format: number; key: string; paths: EntryPath[] }) => void): void {
  const i = indexOf(entry);
  edit(i);
  writeFileSync(join(entry, "entry.json"), JSON.stringify(i));
}
function retarget(paths: EntryPath[], target: string): void {
  const link = paths.find((x) => x.path === "_output/bin");
  if (link?.type === "symlink") link.target = target;
}
function blobOf(entry: string, path: string): string {
  const p = indexOf(entry).paths.find((x) => x.path === path);
  if (p?.type !== "file") throw new Error(`no file ${path} in the entry`);
  return join(entry, "blobs", p.sha256);
}

/** Every file under root (not following symlinks), with its content or link target. */
function contents(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      if (st.isSymbolicLink()) out[r] = `-> ${readlinkSync(join(root, r))}`;
      else if (st.isDirectory()) visit(r);
      else out[r] = `${(st.mode & 0o777).toString(8)} ${readFileSync(join(root, r), "utf8")}`;
    }
  };
  visit("");
  return out;
}

describe("the key of generated files", () => {
  const changed: [string, Partial<KeyInputs>][] = [
    ["another tree (one generator input changed)", { treeDigest: "sha256:" + "3".repeat(64) }],
    ["another patch", { patches: [{ name: "0001-x.patch", sha256: "4".repeat(64) }] }],
    ["another series", { series: "kmem-override/1.16" }],
    ["another image", { imageId: "sha256:" + "5".repeat(64) }],
    [
      "another env value",
      {
        env: [
          ["GOFLAGS", "-tags=nokmem,x"],
          ["SOURCE_DATE_EPOCH", "1610496000"],
        ],
      },
    ],
    [
      "another build date",
      {
        env: [
          ["GOFLAGS", "-tags=nokmem"],
          ["SOURCE_DATE_EPOCH", "1"],
        ],
      },
    ],
    ["another command", { command: ["make", "WHAT=cmd/kubectl"] }],
    ["another release", { version: "1.20.3" }],
    ["another commit", { commit: "f".repeat(40) }],
    ["another workdir", { workdir: "/go/src/k8s.io/kubernetes" }],
  ];
  it.each(changed)("differs for %s", (_what, change) => {
    expect(generatedKey({ ...KEY_INPUTS, ...change })).not.toBe(generatedKey(KEY_INPUTS));
  });
  it("is the same for the same inputs, and a sha256", () => {
    expect(generatedKey({ ...KEY_INPUTS })).toBe(generatedKey(KEY_INPUTS));
    expect(generatedKey(KEY_INPUTS)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("saving and restoring what make generated", () => {
  it("keeps what make created or changed, never the kubelet, the Go cache, git or a link that leads out", async () => {
    const { entry } = await savedEntry();
    const i = indexOf(entry);
    expect(i.key).toBe(KEY);
    expect(i.paths.map((p) => p.path).sort()).toEqual([
      ".make/_output/bin/deepcopy-gen.todo",
      ".make/go-pkgdeps.mk",
      "_output/KUBE_violations.report",
      "_output/bin",
      "_output/local/bin/linux/amd64/deepcopy-gen",
      "_output/local/go/bin/deepcopy-gen",
      "_output/local/go/src/k8s.io/kubernetes",
      "pkg/apis/core/v1/zz_generated.deepcopy.go",
      "staging/src/k8s.io/api/core/v1/zz_generated.deepcopy.go",
    ]);
    // The two copies of a generator are one blob.
    expect(readdirSync(join(entry, "blobs"))).toHaveLength(6);
    expect(readdirSync(dirname(entry))).toEqual([KEY]);
  });

  it("restores them into a fresh tree as make left them, dated no older than anything else in the tree", async () => {
    const { entry, fresh } = await savedEntry();
    const cold = join(dirname(dirname(entry)), "cold");
    const r = await restore(entry, fresh);
    expect(r).toMatchObject({ ok: true, files: 9 });
    const want = contents(cold);
    for (const gone of ["_output/leads-out", "_output/local/go/cache/01/abc-d", "_output/local/bin/linux/amd64/kubelet", "_output/local/go/bin/kubelet"])
      delete want[gone];
    expect(contents(fresh)).toEqual(want);
    // make compares times: every restored file is at least as new as every folder and source file in the tree.
    const restored = indexOf(entry)
      .paths.filter((p) => p.type === "file")
      .map((p) => statSync(join(fresh, p.path)).mtimeMs);
    const oldest = Math.min(...restored);
    expect(Math.max(...restored)).toBe(oldest);
    const others: number[] = [];
    const visit = (rel: string) => {
      for (const name of readdirSync(join(fresh, rel))) {
        const r = rel ? `${rel}/${name}` : name;
        const st = lstatSync(join(fresh, r));
        if (st.isDirectory()) {
          others.push(st.mtimeMs);
          visit(r);
        } else if (!restored.includes(st.mtimeMs) && st.isFile()) others.push(st.mtimeMs);
      }
    };
    visit("");
    expect(Math.max(...others)).toBeLessThanOrEqual(oldest);
  });

  it("takes into the entry what make rewrote with other content after a restore, and only that", async () => {
    const { dir, entry, fresh } = await savedEntry();
    const r = await restore(entry, fresh);
    if (!r.ok) throw new Error(r.why);
    // make lists the generated files it now sees, and reinstalls a generator byte for byte.
    write(fresh, ".make/go-pkgdeps.mk", "k8s.io/kubernetes/pkg/apis/core/v1 := /src/pkg/apis/core/v1/ /src/pkg/apis/core/v1/zz_generated.deepcopy.go\n");
    write(fresh, "_output/local/go/bin/deepcopy-gen", "\x7fELF deepcopy-gen", 0o755);
    rmSync(join(fresh, ".make/_output/bin/deepcopy-gen.todo"));
    write(fresh, "_output/local/go/bin/kubelet", "\x7fELF kubelet", 0o755);
    expect(await refreshGenerated(dir, fresh, r.index, {})).toBe(1);
    expect(readdirSync(dir)).toEqual([KEY]);
    expect(indexOf(entry).paths.map((p) => p.path)).toEqual(r.index.paths.map((p) => p.path));
    const next = sourceTree(join(dirname(dir), "next"));
    expect(await restore(entry, next)).toMatchObject({ ok: true, files: 9 });
    expect(readFileSync(join(next, ".make/go-pkgdeps.mk"), "utf8")).toMatch(/zz_generated\.deepcopy\.go/);
    expect(readFileSync(join(next, ".make/_output/bin/deepcopy-gen.todo"), "utf8")).toBe("");
    expect(existsSync(join(next, "_output/local/go/bin/kubelet"))).toBe(false);
    // Nothing more to learn the second time.
    const again = await restore(entry, sourceTree(join(dirname(dir), "again")));
    if (!again.ok) throw new Error(again.why);
    expect(await refreshGenerated(dir, join(dirname(dir), "again"), again.index, {})).toBe(0);
  });

  it("says there is no entry, and changes nothing, when the key has none", async () => {
    const { dir, fresh } = await savedEntry();
    const before = contents(fresh);
    expect(await restore(join(dir, "b".repeat(64)), fresh)).toEqual({ ok: false, why: "no entry for this key" });
    expect(contents(fresh)).toEqual(before);
  });

  it("leaves an entry another build saved for the same key as it is", async () => {
    const { dir, fresh } = await savedEntry();
    const before = await snapshotTree(fresh);
    runMake(fresh);
    expect(await saveGenerated(dir, fresh, before, { key: KEY, workdir: WORKDIR, excluded: EXCLUDED })).toEqual({ saved: "already", files: 0 });
  });

  it("removes the temporary folder of a save whose writer died", async () => {
    const { dir, fresh } = await savedEntry();
    const stale = join(dir, `.${"c".repeat(64)}.999999999.0000abcd.tmp`);
    mkdirSync(join(stale, "blobs"), { recursive: true });
    const before = await snapshotTree(fresh);
    runMake(fresh);
    await saveGenerated(dir, fresh, before, { key: "d".repeat(64), workdir: WORKDIR, excluded: EXCLUDED });
    expect(existsSync(stale)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual([KEY, "d".repeat(64)]);
  });
});

describe("a damaged or hostile entry is refused and the tree keeps nothing of it", () => {
  const hostile: [string, (entry: string, fresh: string) => void, RegExp][] = [
    ["a path that climbs out", (e) => setIndex(e, (i) => void (i.paths[0]!.path = "../../escape.go")), /climbs out/],
    ["an absolute path", (e) => setIndex(e, (i) => void (i.paths[0]!.path = "/etc/cron.d/x")), /absolute/],
    ["a path into .git", (e) => setIndex(e, (i) => void (i.paths[0]!.path = ".git/hooks/post-checkout")), /git's own data/],
    ["the kubelet itself", (e) => setIndex(e, (i) => void (i.paths[0]!.path = "_output/local/bin/linux/amd64/kubelet")), /build itself makes/],
    ["the kubelet in GOPATH/bin", (e) => setIndex(e, (i) => void (i.paths[0]!.path = "_output/local/go/bin/kubelet")), /product binary/],
    ["a file in the Go cache", (e) => setIndex(e, (i) => void (i.paths[0]!.path = "_output/local/go/cache/01/x")), /Go build cache/],
    [
      "a shipped source file that generation does not write",
      (e) =>
        setIndex(e, (i) => {
          const p = i.paths.find((x) => x.path === "pkg/apis/core/v1/zz_generated.deepcopy.go")!;
          p.path = "cmd/kubelet/kubelet.go";
        }),
      /would replace a file of the source/,
    ],
    ["a symlink that leads out", (e) => setIndex(e, (i) => retarget(i.paths, "/etc")), /outside \/src/],
    ["a relative symlink that climbs out", (e) => setIndex(e, (i) => retarget(i.paths, "../../../../etc")), /leads out of the tree/],
    [
      "a file under a symlink the entry makes",
      (e) =>
        setIndex(e, (i) => {
          const f = i.paths.find((x) => x.path === "_output/local/bin/linux/amd64/deepcopy-gen")!;
          i.paths.push({ ...f, path: "_output/bin/deepcopy-gen" });
        }),
      /lies under _output\/bin/,
    ],
    [
      "a setuid mode",
      (e) =>
        setIndex(e, (i) => {
          const f = i.paths.find((x) => x.type === "file");
          if (f?.type === "file") f.mode = 0o4755;
        }),
      /mode/,
    ],
    ["a path named twice", (e) => setIndex(e, (i) => void i.paths.push(i.paths[0]!)), /named twice/],
    [
      "an unknown type",
      (e) =>
        setIndex(e, (i) => {
          Object.assign(i.paths[0]!, { type: "fifo" });
        }),
      /the type fifo/,
    ],
    ["another key", (e) => setIndex(e, (i) => void (i.key = "e".repeat(64))), /the key eeee/],
    ["another format", (e) => setIndex(e, (i) => void (i.format = 99)), /format 99/],
    ["an index cut short", (e) => writeFileSync(join(e, "entry.json"), readFileSync(join(e, "entry.json"), "utf8").slice(0, 100)), /does not read/],
    ["no index (a save that never finished)", (e) => rmSync(join(e, "entry.json")), /no entry\.json/],
    ["a blob cut short", (e) => writeFileSync(blobOf(e, "pkg/apis/core/v1/zz_generated.deepcopy.go"), "// gen"), /partial write/],
    [
      "a blob with other bytes of the same length",
      (e) => writeFileSync(blobOf(e, "pkg/apis/core/v1/zz_generated.deepcopy.go"), "// GENERATED\npackage v1\n"),
      /does not have the sha256/,
    ],
    ["a missing blob", (e) => rmSync(blobOf(e, "_output/local/bin/linux/amd64/deepcopy-gen")), /is missing/],
    [
      "a blob that is a symlink",
      (e) => {
        const b = blobOf(e, "pkg/apis/core/v1/zz_generated.deepcopy.go");
        renameSync(b, `${b}.real`);
        symlinkSync(`${b}.real`, b);
      },
      /symlink/,
    ],
    [
      "an entry folder that is a symlink",
      (e) => {
        renameSync(e, `${e}.real`);
        symlinkSync(`${e}.real`, e);
      },
      /not a folder/,
    ],
    [
      "a tree whose folder on the way leads out",
      (_e, fresh) => {
        const outside = tempDir("kn-gen-outside-");
        rmSync(join(fresh, "pkg"), { recursive: true });
        symlinkSync(outside, join(fresh, "pkg"));
      },
      /leads through a symlink out/,
    ],
  ];

  it.each(hostile)("%s", async (_what, damage, why) => {
    const { entry, fresh } = await savedEntry();
    damage(entry, fresh);
    const before = contents(fresh);
    const r = await restore(entry, fresh);
    expect(r.ok).toBe(false);
    expect(r.ok ? "" : r.why).toMatch(why);
    // Nothing written: no generated file, no temporary file (checked blobs are renamed in only once all are checked).
    expect(contents(fresh)).toEqual(before);
  });

  it("refuses an index that names a path under another file", () => {
    const f: EntryPath = { path: "_output/x", type: "file", mode: 0o644, size: 0, sha256: "0".repeat(64) };
    expect(indexProblem({ format: 1, key: KEY, paths: [f, { ...f, path: "_output/x/y" }] }, KEY, WORKDIR, EXCLUDED)).toMatch(/lies under _output\/x/);
  });

  it.each([
    ["_output/bin", "/src/_output/local/bin/linux/amd64", null],
    ["_output/local/go/src/k8s.io/kubernetes", "/src", null],
    ["a/b", "../c", null],
    ["a/b", "../../c", /leads out/],
    ["a/b", "/srcx/y", /outside \/src/],
    ["a/b", "/src/../etc", /leads out/],
    ["a/b", "", /unusable/],
  ])("a symlink %s -> %s", (path, target, problem) => {
    const p = symlinkProblem(path, target, WORKDIR);
    if (problem) expect(p).toMatch(problem);
    else expect(p).toBeNull();
  });
});
