/**
 * The tree detectors on plain content: no disk, no git. Each reads one kind
 * of file the way a real Kubernetes tree of some era writes it.
 */
import { describe, expect, it } from "vitest";
import { loadCatalog } from "../../src/catalog/load.js";
import type { KmemLayout } from "../../src/catalog/types.js";
import { UsageError } from "../../src/errors.js";
import { parsePorcelain } from "../../src/source/git.js";
import { assessTree, type TreeFacts } from "../../src/tree/assess.js";
import { buildConstraint, functionBody, nokmemInConstraint } from "../../src/tree/go-source.js";
import { detectKmemLayout, KMEM_DISABLED_MESSAGE, UnknownLayoutError, type KmemDetection } from "../../src/tree/kmem-layout.js";
import { goVersionFromCross, goVersionFromDotFile, parseArchiveVersionSh, parseGitDescribe } from "../../src/tree/release-version.js";
import { runcFromGodeps, runcFromGoMod, runcFromModulesTxt } from "../../src/tree/runc-version.js";
import { treeFiles } from "../fixtures/k8s-tree.js";
import { runcFsFiles } from "../fixtures/runc-fs.js";
import { kmemOverridePatched, vendorStubPatched } from "./patched-runc.js";

const catalog = loadCatalog();
const HASH = "0123456789abcdef0123456789abcdef01234567";

describe("release version", () => {
  it.each<[string, { version: string; line: string; prerelease: boolean; commitsSinceTag: number } | null]>([
    ["v1.16.15", { version: "1.16.15", line: "1.16", prerelease: false, commitsSinceTag: 0 }],
    ["v1.16.15-3-g0123456789abcd", { version: "1.16.15", line: "1.16", prerelease: false, commitsSinceTag: 3 }],
    ["v1.16.15-dirty", { version: "1.16.15", line: "1.16", prerelease: false, commitsSinceTag: 0 }],
    ["v1.17.0-rc.1", { version: "1.17.0-rc.1", line: "1.17", prerelease: true, commitsSinceTag: 0 }],
    ["v1.18.0-alpha.0-812-g0123456789abcd", { version: "1.18.0-alpha.0", line: "1.18", prerelease: true, commitsSinceTag: 812 }],
    ["release-1.16", null],
    ["v2", null],
  ])("git describe %s", (describe, expected) => {
    const v = parseGitDescribe(describe);
    if (expected === null) expect(v).toBeNull();
    else expect(v).toMatchObject(expected);
  });

  /** What `git archive` does to version.sh's export-subst words. */
  const exported = (refs: string) =>
    treeFiles({ era: "1.20" }).files["hack/lib/version.sh"]!.replaceAll("$Format:%%$", "%").replaceAll("$Format:%H$", HASH).replaceAll("$Format:%D$", refs);

  it("an archive export's version.sh gives the commit and the release tag", () => {
    expect(parseArchiveVersionSh(exported("HEAD -> master, tag: v1.20.2"))).toEqual({
      commit: HASH,
      version: expect.objectContaining({ version: "1.20.2", tag: "v1.20.2" }),
      refNames: "HEAD -> master, tag: v1.20.2",
    });
  });

  it("a commit tagged as a pre-release and as the release is the release", () => {
    expect(parseArchiveVersionSh(exported("tag: v1.20.2-rc.0, tag: v1.20.2"))?.version?.version).toBe("1.20.2");
  });

  it("an export of an untagged commit has a commit but no version", () => {
    expect(parseArchiveVersionSh(exported("HEAD -> master"))).toMatchObject({ commit: HASH, version: null });
  });

  it("older exports (%d, with parentheses) still give the tag", () => {
    expect(parseArchiveVersionSh(exported(" (HEAD -> release-1.8, tag: v1.8.15)"))?.version?.version).toBe("1.8.15");
  });

  it("a checkout's version.sh (words not substituted) is not an export", () => {
    expect(parseArchiveVersionSh(treeFiles({ era: "1.20" }).files["hack/lib/version.sh"]!)).toBeNull();
  });

  it.each<[string, string | null]>([
    ["v1.15.5-1\n", "1.15.5"],
    ["v1.15.8-legacy-1", "1.15.8"],
    ["v1.13.15-1", "1.13.15"],
    ["v1.8.3-2", "1.8.3"],
    ["v1.23.0-go1.17.3-bullseye.0", "1.17.3"],
    ["v1.24.0-go1.18.1-bullseye.0", "1.18.1"],
    ["garbage", null],
  ])("build/build-image/cross/VERSION %j asks for Go %s", (text, go) => {
    expect(goVersionFromCross(text)).toBe(go);
  });

  it(".go-version names the Go version directly", () => {
    expect(goVersionFromDotFile("1.19.4\n")).toBe("1.19.4");
    expect(goVersionFromDotFile("latest")).toBeNull();
  });
});

describe("vendored runc version", () => {
  it("Godeps/Godeps.json: the Comment of the runc packages, else the Rev", () => {
    expect(runcFromGodeps(treeFiles({ era: "1.13" }).files["Godeps/Godeps.json"]!)).toEqual({ version: "v1.0.0-rc5-46-g871ba2e", notes: [] });
    const revOnly = JSON.stringify({ Deps: [{ ImportPath: "github.com/opencontainers/runc/libcontainer/cgroups/fs", Rev: HASH }] });
    expect(runcFromGodeps(revOnly)?.version).toBe(HASH);
    expect(runcFromGodeps(JSON.stringify({ Deps: [{ ImportPath: "github.com/docker/go-units", Rev: HASH }] }))).toBeNull();
    expect(runcFromGodeps("{")?.notes[0]).toMatch(/not valid JSON/);
  });

  it("Godeps/Godeps.json naming runc packages at different versions says so", () => {
    const mixed = JSON.stringify({
      Deps: [
        { ImportPath: "github.com/opencontainers/runc/libcontainer/configs", Comment: "v1.0.0-rc4" },
        { ImportPath: "github.com/opencontainers/runc/libcontainer/cgroups/fs", Comment: "v1.0.0-rc5" },
      ],
    });
    const r = runcFromGodeps(mixed)!;
    expect(r.version).toBe("v1.0.0-rc5");
    expect(r.notes[0]).toMatch(/different versions/);
  });

  it.each<[string, string, string | null, string | undefined]>([
    ["a single require line", "module k8s.io/kubernetes\nrequire github.com/opencontainers/runc v1.0.0-rc93\n", "v1.0.0-rc93", undefined],
    ["a require block", "require (\n\tgithub.com/a/b v1.0.0\n\tgithub.com/opencontainers/runc v1.0.0-rc92 // indirect\n)\n", "v1.0.0-rc92", undefined],
    [
      "a replace block (upstream pins every module this way)",
      "require (\n\tgithub.com/opencontainers/runc v1.0.0-rc10\n)\nreplace (\n\tgithub.com/opencontainers/runc => github.com/opencontainers/runc v1.0.0-rc93\n)\n",
      "v1.0.0-rc93",
      undefined,
    ],
    [
      "a single replace line to a fork",
      "require github.com/opencontainers/runc v1.0.0-rc93\nreplace github.com/opencontainers/runc => github.com/example/runc v1.0.0-fork.1\n",
      "v1.0.0-fork.1",
      "github.com/example/runc",
    ],
    [
      "a replace to a local directory",
      "require github.com/opencontainers/runc v1.0.0-rc93\nreplace github.com/opencontainers/runc => ./third_party/runc\n",
      null,
      "./third_party/runc",
    ],
    [
      "a versioned replace for another version",
      "require github.com/opencontainers/runc v1.0.0-rc93\nreplace github.com/opencontainers/runc v1.0.0-rc92 => github.com/example/runc v9\n",
      "v1.0.0-rc93",
      undefined,
    ],
  ])("go.mod with %s", (_name, text, version, replacedBy) => {
    const r = runcFromGoMod(text)!;
    expect(r.version).toBe(version);
    expect(r.replacedBy).toBe(replacedBy);
  });

  it("go.mod without runc says nothing", () => {
    expect(runcFromGoMod("module k8s.io/kubernetes\nrequire github.com/a/b v1.0.0\n")).toBeNull();
  });

  it.each<[string, string | null]>([
    ["# github.com/opencontainers/runc v1.0.0-rc93\ngithub.com/opencontainers/runc/libcontainer\n", "v1.0.0-rc93"],
    ["# github.com/opencontainers/runc v1.0.0-rc93 => github.com/opencontainers/runc v1.0.0-rc95\n## explicit\n", "v1.0.0-rc95"],
    ["# github.com/opencontainers/runc v1.0.0-rc93 => ../runc\n", null],
    ["# github.com/docker/go-units v0.4.0\n", null],
  ])("vendor/modules.txt %j", (text, version) => {
    const r = runcFromModulesTxt(text);
    if (text.includes("opencontainers")) expect(r?.version).toBe(version);
    else expect(r).toBeNull();
  });
});

describe("kmem layout", () => {
  const layouts: [KmemLayout, 0 | 1][] = [
    ["legacy", 0],
    ["pre-split", 0],
    ["pre-split", 1],
    ["split-rc6", 0],
    ["split-rc7+", 0],
    ["absent", 0],
  ];

  it.each(layouts)("the %s layout (memory.go variant %d) is recognised, unpatched", (layout, variant) => {
    const d = detectKmemLayout(runcFsFiles(layout, variant));
    expect(d.layout).toBe(layout);
    expect(d.patched).toBe(false);
    expect(d.notes).toEqual([]);
    expect(d.findings.length).toBeGreaterThan(0);
  });

  it("split-rc7+ is told from split-rc6 by the disabled setKernelMemory's error", () => {
    const d = detectKmemLayout(runcFsFiles("split-rc7+"));
    expect(d.findings.find((f) => f.file === "kmem_disabled.go")?.says).toContain(KMEM_DISABLED_MESSAGE);
    expect(detectKmemLayout(runcFsFiles("split-rc6")).findings.find((f) => f.file === "kmem_disabled.go")?.says).toMatch(/returns nil/);
  });

  it.each<[string, Record<string, string>, KmemLayout]>([
    [
      "vendor-stub (memory.go stubs returning the disabled error)",
      { ...runcFsFiles("pre-split"), "memory.go": vendorStubPatched(runcFsFiles("pre-split")["memory.go"]!) },
      "pre-split",
    ],
    ["vendor-stub on the other memory.go variant", { "memory.go": vendorStubPatched(runcFsFiles("pre-split", 1)["memory.go"]!) }, "pre-split"],
    ["kmem-override on rc7+ (kmem.go keeps !nokmem, body disabled)", kmemOverridePatched(runcFsFiles("split-rc7+")), "split-rc7+"],
    ["kmem-override on rc6", kmemOverridePatched(runcFsFiles("split-rc6")), "split-rc6"],
  ])("a tree patched by %s is reported patched, layout unchanged", (_name, files, layout) => {
    const d = detectKmemLayout(files);
    expect(d).toMatchObject({ layout, patched: true });
    expect(d.findings.some((f) => /patched/.test(f.says))).toBe(true);
  });

  it("a memory.go with only EnableKernelMemoryAccounting stubbed is partly patched, not patched", () => {
    const memoryGo = runcFsFiles("pre-split")["memory.go"]!;
    const half = replaceBody(memoryGo, "EnableKernelMemoryAccounting", "\n\treturn nil\n");
    const d = detectKmemLayout({ "memory.go": half });
    expect(d.patched).toBe(false);
    expect(d.notes.join()).toMatch(/partly patched/);
  });

  it("kmem.go without kmem_disabled.go: layout from kmem.go, with a note that the tag will not build", () => {
    const { "kmem_disabled.go": _gone, ...rest } = runcFsFiles("split-rc7+");
    const d = detectKmemLayout(rest);
    expect(d.layout).toBe("split-rc7+");
    expect(d.notes.join()).toMatch(/no nokmem counterpart/);
  });

  it("kmem_disabled.go without kmem.go: the default build will not compile", () => {
    const { "kmem.go": _gone, ...rest } = runcFsFiles("split-rc6");
    const d = detectKmemLayout(rest);
    expect(d.layout).toBe("split-rc6");
    expect(d.notes.join()).toMatch(/without the tag will not compile/);
  });

  it("EnableKernelMemoryAccounting declared in two always-built files is no known layout", () => {
    const memoryGo = runcFsFiles("pre-split")["memory.go"]!;
    expect(() => detectKmemLayout({ "memory.go": memoryGo, "kmem_extra.go": memoryGo })).toThrow(UnknownLayoutError);
  });

  it("test files and non-Go files are ignored", () => {
    const d = detectKmemLayout({
      ...runcFsFiles("absent"),
      "kmem_test.go": runcFsFiles("pre-split")["memory.go"]!,
      "notes.txt": "EnableKernelMemoryAccounting",
    });
    expect(d.layout).toBe("absent");
  });
});

describe("Go source reading", () => {
  it("function bodies skip braces inside strings, runes and comments", () => {
    const src =
      "package fs\n\n// func setKernelMemory() { in a comment }\nfunc setKernelMemory(p string) error {\n\ts := \"}{\"\n\tr := '}'\n\t/* } */\n\treturn nil\n}\n\nfunc other() {}\n";
    expect(functionBody(src, "setKernelMemory")).toBe("\n\ts := \"}{\"\n\tr := '}'\n\t/* } */\n\treturn nil\n");
    expect(functionBody(src, "missing")).toBeNull();
  });

  it("methods are not top-level functions", () => {
    expect(functionBody("package fs\nfunc (s *MemoryGroup) setKernelMemory() error { return nil }\n", "setKernelMemory")).toBeNull();
  });

  it.each<[string, string, boolean | null]>([
    ["// +build linux,!nokmem\n\npackage fs\n", "linux,!nokmem", false],
    ["//go:build linux && nokmem\n// +build linux,nokmem\n\npackage fs\n", "linux && nokmem", true],
    ["// +build linux\n\npackage fs\n", "linux", null],
    ["package fs\n// +build nokmem\n", "", null],
  ])("build constraint of %j", (src, constraint, nokmem) => {
    expect(buildConstraint(src)).toBe(constraint);
    expect(nokmemInConstraint(buildConstraint(src))).toBe(nokmem);
  });

  it("git status --porcelain paths, renames and quoted names", () => {
    expect(parsePorcelain(' M vendor/a.go\n?? _output/\nR  old.go -> new.go\n?? "sp ace.go"\n')).toEqual(["vendor/a.go", "_output/", "new.go", "sp ace.go"]);
  });
});

function replaceBody(src: string, name: string, body: string): string {
  const old = functionBody(src, name)!;
  const at = src.indexOf(old, src.indexOf(`func ${name}(`));
  return src.slice(0, at) + body + src.slice(at + old.length);
}

describe("assessTree: the catalog against the tree", () => {
  const kmem = (layout: KmemLayout, patched = false): KmemDetection => ({ layout, patched, findings: [], notes: [] });
  const facts = (over: Partial<TreeFacts> & { describe?: string | null }): TreeFacts => {
    const { describe = "v1.16.15", ...rest } = over;
    return {
      root: "/src/k",
      git: { commit: HASH, describe, changed: [] },
      changed: [],
      archive: null,
      runc: { version: "v1.0.0-rc9", source: "vendor/modules.txt", notes: [] },
      kmem: kmem("split-rc7+"),
      go: { version: "1.13.15", source: "build/build-image/cross/VERSION", raw: "v1.13.15-1" },
      ...rest,
    };
  };

  it("agreeing: the catalog's strategy, agrees true", () => {
    expect(assessTree(catalog, facts({}))).toMatchObject({
      version: "1.16.15",
      versionSource: "git",
      strategy: "kmem-override",
      catalogStrategy: "kmem-override",
      agrees: true,
      treeKind: "git-clean",
    });
  });

  it.each<[string, KmemLayout, string, string]>([
    ["1.21.5", "split-rc7+", "none", "build-tag"],
    ["1.13.12", "split-rc6", "vendor-stub", "build-tag"],
    ["1.16.15", "pre-split", "kmem-override", "vendor-stub"],
    ["1.18.3", "absent", "build-tag", "none"],
    ["1.8.15", "pre-split", "none", "vendor-stub"],
  ])("v%s with the %s layout: catalog says %s, the tree wins with %s", (version, layout, catalogStrategy, strategy) => {
    const r = assessTree(catalog, facts({ describe: `v${version}`, kmem: kmem(layout) }));
    expect(r).toMatchObject({ strategy, catalogStrategy, agrees: false, kmemLayout: layout });
    expect(r.notes.join("\n")).toMatch(/the tree wins/);
  });

  it("a 1.16 tree with the rc6 layout still fits kmem-override; the layout difference is noted", () => {
    const r = assessTree(catalog, facts({ kmem: kmem("split-rc6") }));
    expect(r).toMatchObject({ strategy: "kmem-override", agrees: true, catalogLayout: "split-rc7+" });
    expect(r.notes.join()).toMatch(/expects the split-rc7\+ layout/);
  });

  it("--version wins over the tree, and the disagreement is reported", () => {
    const r = assessTree(catalog, facts({ describe: "v1.20.2" }), { version: "v1.16.15" });
    expect(r).toMatchObject({ version: "1.16.15", versionSource: "flag", treeVersion: "1.20.2", versionAgrees: false, catalogStrategy: "kmem-override" });
    expect(r.notes.join()).toMatch(/--version 1\.16\.15 disagrees with the tree, which says v1\.20\.2/);
  });

  it("--version matching the tree agrees", () => {
    expect(assessTree(catalog, facts({}), { version: "1.16.15" })).toMatchObject({ versionAgrees: true, versionSource: "flag" });
  });

  it("--version must be an exact, valid release", () => {
    expect(() => assessTree(catalog, facts({}), { version: "1.16" })).toThrow(UsageError);
    expect(() => assessTree(catalog, facts({}), { version: "latest" })).toThrow(UsageError);
  });

  it("an unknown release: strategy from the layout, nothing to agree with", () => {
    const r = assessTree(catalog, facts({ git: null, kmem: kmem("pre-split") }));
    expect(r).toMatchObject({ version: null, treeKind: "dir", strategy: "vendor-stub", catalogStrategy: null, agrees: null });
    expect(r.notes.join()).toMatch(/pass --version/);
  });

  it("a release outside the catalog: strategy from the layout, noted", () => {
    const r = assessTree(catalog, facts({ describe: "v1.7.3", kmem: kmem("legacy") }));
    expect(r).toMatchObject({ version: "1.7.3", catalogStrategy: null, agrees: null, strategy: "none" });
    expect(r.notes.join()).toMatch(/outside the catalog/);
  });

  it("a release newer than the catalog's lines: the catalog answers none, as its newest line", () => {
    const r = assessTree(catalog, facts({ describe: "v1.25.3", kmem: kmem("absent") }));
    expect(r).toMatchObject({ version: "1.25.3", catalogStrategy: "none", catalogLayout: "absent", agrees: true, strategy: "none" });
    expect(r.notes.join()).not.toMatch(/outside the catalog/);
  });

  it("a pre-release tag is looked up by its line", () => {
    const r = assessTree(catalog, facts({ describe: "v1.18.0-alpha.0-812-g0123456789abcd" }));
    expect(r).toMatchObject({ version: "1.18.0-alpha.0", line: "1.18", catalogStrategy: "build-tag", commitsSinceTag: 812 });
  });

  it("a checkout past its tag uses the tag's release and says so", () => {
    const r = assessTree(catalog, facts({ describe: "v1.16.15-2-g0123456789abcd" }));
    expect(r).toMatchObject({ version: "1.16.15", commitsSinceTag: 2 });
    expect(r.notes.join()).toMatch(/2 commit\(s\) past v1\.16\.15/);
  });

  it("changed paths make a dirty checkout", () => {
    const r = assessTree(catalog, facts({ changed: ["vendor/x.go"] }));
    expect(r).toMatchObject({ treeKind: "git-dirty", changed: ["vendor/x.go"] });
  });

  it("an archive export: version and commit from the stamp", () => {
    const r = assessTree(catalog, facts({ git: null, archive: { commit: HASH, version: parseGitDescribe("v1.20.2"), refNames: "tag: v1.20.2" } }));
    expect(r).toMatchObject({ treeKind: "archive", version: "1.20.2", versionSource: "archive", commit: HASH, catalogStrategy: "build-tag" });
  });

  it("a patched tree keeps its strategy and says it is patched", () => {
    const r = assessTree(catalog, facts({ kmem: kmem("split-rc7+", true) }));
    expect(r).toMatchObject({ patched: true, strategy: "kmem-override", agrees: true });
    expect(r.notes.join()).toMatch(/already patched/);
  });
});
