import { describe, expect, it } from "vitest";
import { resolveRunc } from "../../src/catalog/runc-release.js";
import { loadCatalog } from "../../src/catalog/load.js";
import { TreeError, UsageError } from "../../src/errors.js";
import { assessRuncTree, checkBuildEnvironment, dockerfileGo, readMakefileTags, runcTreeFacts } from "../../src/tree/runc-tree.js";
import { runcTreeFiles, type RuncEra, type RuncTreeOptions } from "../fixtures/runc-tree.js";

const lines = loadCatalog().runcLines ?? [];

function facts(opts: RuncTreeOptions) {
  const f = runcTreeFiles(opts);
  const fs = Object.fromEntries(
    Object.entries(f)
      .filter(([k]) => k.startsWith("libcontainer/cgroups/fs/"))
      .map(([k, v]) => [k.split("/").at(-1)!, v]),
  );
  return runcTreeFacts({ version: f.VERSION ?? null, makefile: f.Makefile ?? null, dockerfile: f.Dockerfile ?? null, goMod: f["go.mod"] ?? null, fs });
}

describe("runc's Makefile: the BUILDTAGS default and whether it reaches go build", () => {
  it.each([
    ["BUILDTAGS := seccomp", { tags: ["seccomp"], assign: ":=", override: false }],
    ["BUILDTAGS ?= seccomp selinux apparmor", { tags: ["seccomp", "selinux", "apparmor"], assign: "?=", override: false }],
    ["BUILDTAGS ?= seccomp # the default", { tags: ["seccomp"], assign: "?=", override: false }],
    ["override BUILDTAGS := seccomp", { tags: ["seccomp"], assign: ":=", override: true }],
    ["BUILDTAGS :=", { tags: [], assign: ":=", override: false }],
  ])("%s", (line, want) => {
    const mk = readMakefileTags(
      `PROJECT := x\n${line}\nrunc:\n\tgo build -tags "$(BUILDTAGS)" -ldflags "-X main.gitCommit=$(COMMIT) -X main.version=$(VERSION)" -o runc .\n`,
    );
    expect(mk).toMatchObject({ ...want, reachesGoBuild: true, stampsVersion: true });
  });

  it('a go build without -tags "$(BUILDTAGS)" or without the stamps is seen', () => {
    expect(readMakefileTags("BUILDTAGS ?= seccomp\nrunc:\n\tgo build -o runc .\n")).toMatchObject({ reachesGoBuild: false, stampsVersion: false });
    expect(readMakefileTags("all:\n\tgo build .\n")).toBeNull();
  });

  it("reads a continued go build line (GO_BUILD := … \\ on two lines, as rc93 writes it)", () => {
    expect(
      readMakefileTags(
        'BUILDTAGS ?= seccomp\nGO_BUILD := $(GO) build -trimpath -tags "$(BUILDTAGS)" \\\n\t-ldflags "-X main.gitCommit=$(COMMIT) -X main.version=$(VERSION)"\n',
      ),
    ).toMatchObject({ reachesGoBuild: true, stampsVersion: true });
  });
});

describe("the Go a runc tree's Dockerfile names", () => {
  it.each([
    ["FROM golang:1.8.0\n", "1.8.0"],
    ["FROM golang:1.10-stretch\n", "1.10"],
    ["ARG GO_VERSION=1.15\nFROM golang:${GO_VERSION}-buster\n", "1.15"],
    ["FROM debian:buster\n", null],
  ])("%j → %s", (text, go) => {
    expect(dockerfileGo(text)).toBe(go);
  });
});

describe("assessRuncTree: the tree is the final word", () => {
  it.each<[RuncEra, string, string, string[]]>([
    ["rc4", "runc-stub", "pre-split", ["seccomp"]],
    ["rc6", "runc-build-tag", "split-rc6", ["seccomp", "nokmem"]],
    ["rc91", "runc-build-tag", "split-rc7+", ["seccomp", "selinux", "apparmor", "nokmem"]],
    ["rc93", "runc-build-tag", "split-rc7+", ["seccomp", "nokmem"]],
    ["rc94", "runc-none", "absent", ["seccomp"]],
  ])("%s: %s, %s, BUILDTAGS %o", (era, strategy, layout, tags) => {
    const f = facts({ era });
    const a = assessRuncTree(f, resolveRunc(lines, f.versionFile!));
    expect({ strategy: a.strategy, layout: a.layout, buildTags: a.buildTags }).toEqual({ strategy, layout, buildTags: tags });
  });

  it("the legacy layout (rc1) needs no change", () => {
    expect(facts({ era: "rc1" }).kmem.layout).toBe("legacy");
  });

  it("a tree whose layout the catalog does not expect is built by its own layout, and the disagreement is said", () => {
    // An rc93 VERSION over an rc4-era memory.go: the tree decides runc-stub.
    const f = { ...facts({ era: "rc4" }), versionFile: "1.0.0-rc93" };
    const a = assessRuncTree(f, resolveRunc(lines, "1.0.0-rc93"));
    expect(a.strategy).toBe("runc-stub");
    expect(a.disagreements.join("\n")).toMatch(
      /the catalog says 1\.0\.0-rc93 is runc-build-tag \(layout split-rc7\+\); the tree's libcontainer\/cgroups\/fs is pre-split, so the build uses runc-stub/,
    );
  });

  it("the Go of the tree's Dockerfile wins over the catalog's, and a difference is said", () => {
    const a = assessRuncTree(facts({ era: "rc91" }), resolveRunc(lines, "1.0.0-rc91"));
    expect(a.go).toEqual({ version: "1.13", from: "Dockerfile" });
    expect(a.disagreements).toEqual([]);
    const b = assessRuncTree({ ...facts({ era: "rc91" }), dockerfileGo: "1.14" }, resolveRunc(lines, "1.0.0-rc91"));
    expect(b.disagreements).toEqual(["the catalog names Go 1.13 for 1.0.0-rc91..rc92; the tree's Dockerfile names Go 1.14"]);
  });

  it.each<[string, RuncTreeOptions, string, RegExp]>([
    ["VERSION of another release", { era: "rc93", versionFile: "1.0.0-rc92" }, "1.0.0-rc93", /expected the tree's VERSION file to say 1\.0\.0-rc93/],
    ["VERSION with a suffix", { era: "rc93", versionFile: "1.0.0-rc93+dev" }, "1.0.0-rc93", /found "1\.0\.0-rc93\+dev"/],
    ["no VERSION", { era: "rc93", versionFile: null }, "1.0.0-rc93", /found none/],
    ["no Makefile", { era: "rc93", noMakefile: true }, "1.0.0-rc93", /expected runc's Makefile/],
    ["no BUILDTAGS in the Makefile", { era: "rc93", buildtagsLine: "TAGS := seccomp" }, "1.0.0-rc93", /expected a BUILDTAGS variable/],
    ["override BUILDTAGS", { era: "rc6", buildtagsLine: "override BUILDTAGS := seccomp" }, "1.0.0-rc6", /override BUILDTAGS/],
  ])("%s: a TreeError, never a normal runc", (_n, opts, version, message) => {
    const run = () => assessRuncTree(facts(opts), resolveRunc(lines, version));
    expect(run).toThrow(TreeError);
    expect(run).toThrow(message);
  });

  it("override BUILDTAGS in an era that adds no tag (rc4's stub, rc94) is no obstacle", () => {
    expect(assessRuncTree(facts({ era: "rc4", buildtagsLine: "override BUILDTAGS := seccomp" }), resolveRunc(lines, "1.0.0-rc4")).strategy).toBe("runc-stub");
  });

  it("a folder without runc's fs package is not a runc tree", () => {
    expect(() => runcTreeFacts({ version: "1.0.0-rc93", makefile: "", dockerfile: null, goMod: null, fs: {} })).toThrow(
      /E_RUNC_TREE|expected runc's libcontainer\/cgroups\/fs\//,
    );
  });
});

describe("BUILDTAGS in the environment", () => {
  it.each([
    [{ BUILDTAGS: "seccomp" }, /found BUILDTAGS="seccomp"/],
    [{ BUILDTAGS: "" }, /found BUILDTAGS=""/],
    [{ MAKEFLAGS: "-j2 BUILDTAGS=seccomp" }, /found MAKEFLAGS=/],
  ])("%o is refused", (env, message) => {
    expect(() => checkBuildEnvironment(env)).toThrow(UsageError);
    expect(() => checkBuildEnvironment(env)).toThrow(message);
  });

  it("an environment without it passes", () => {
    expect(() => checkBuildEnvironment({ MAKEFLAGS: "-j2", PATH: "/usr/bin" })).not.toThrow();
  });
});
