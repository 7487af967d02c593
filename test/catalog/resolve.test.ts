/**
 * resolve() answers every release-line boundary of docs/domain.md ("Release eras"), through the pure
 * function and through the real CLI; bad versions end in a one-line usage error.
 */
import { describe, expect, it } from "vitest";
import { loadCatalog } from "../../src/catalog/load.js";
import { parseVersionQuery, resolve } from "../../src/catalog/resolve.js";
import type { KmemLayout, StrategyId } from "../../src/catalog/types.js";
import { ExitCode, UsageError } from "../../src/errors.js";
import { cli, oneLineError } from "../helpers/cli.js";

const catalog = loadCatalog();

/** Each boundary of the release table: the last release before a change and the first after it. */
const BOUNDARIES: [version: string, strategy: StrategyId, layout: KmemLayout, line: string][] = [
  ["1.8.15", "none", "legacy", "1.8"],
  ["1.9.0", "vendor-stub", "pre-split", "1.9"],
  ["1.13.12", "vendor-stub", "pre-split", "1.13"],
  ["1.14.0", "build-tag", "split-rc6", "1.14"],
  ["1.15.12", "build-tag", "split-rc6", "1.15"],
  ["1.16.0", "kmem-override", "split-rc7+", "1.16"],
  ["1.16.15", "kmem-override", "split-rc7+", "1.16"],
  ["1.17.0", "build-tag", "split-rc7+", "1.17"],
  ["1.20.15", "build-tag", "split-rc7+", "1.20"],
  ["1.21.1", "build-tag", "split-rc7+", "1.21"],
  ["1.21.2", "none", "absent", "1.21"],
  ["1.24.17", "none", "absent", "1.24"],
];

describe("resolve: release-line boundaries", () => {
  it.each(BOUNDARIES)("%s needs %s (%s layout, line %s)", (version, strategy, layout, line) => {
    const r = resolve(catalog, version);
    expect(r).toMatchObject({ version, line, strategy, kmemLayout: layout });
    expect(r.affected).toBe(strategy !== "none");
  });

  it.each(BOUNDARIES)("v%s (v-prefixed) resolves like %s", (version, strategy) => {
    expect(resolve(catalog, `v${version}`)).toMatchObject({ version, strategy });
  });

  it("build-tag and kmem-override releases carry GOFLAGS=-tags=nokmem alone; none and vendor-stub carry no tag", () => {
    for (const [version, strategy] of BOUNDARIES) {
      const { env } = resolve(catalog, version);
      if (strategy === "build-tag" || strategy === "kmem-override") expect(env.GOFLAGS).toBe("-tags=nokmem");
      else expect(env.GOFLAGS).toBeUndefined();
    }
  });

  it.each<[string, StrategyId, string[]]>([
    ["1.8", "none", []],
    ["1.13", "vendor-stub", []],
    ["1.16", "kmem-override", []],
    ["v1.20", "build-tag", []],
    // The 1.21 line splits at 1.21.2: the answer is the line's first range, with the other one named.
    ["1.21", "build-tag", ["none"]],
  ])("the bare line %s resolves to %s", (input, strategy, others) => {
    const r = resolve(catalog, input);
    expect(r.version).toBeNull();
    expect(r.strategy).toBe(strategy);
    expect(r.otherRanges.map((o) => o.strategy)).toEqual(others);
  });
});

describe("resolve through the CLI", () => {
  it.each<[string, StrategyId, string | null]>([
    ["1.8.15", "none", "1.8.15"],
    ["v1.16.15", "kmem-override", "1.16.15"],
    ["1.21.1", "build-tag", "1.21.1"],
    ["1.21.2", "none", "1.21.2"],
    ["1.14", "build-tag", null],
  ])("`resolve %s --json` prints strategy %s", (input, strategy, version) => {
    const r = cli(["resolve", input, "--json"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({ version, strategy });
    for (const key of ["version", "line", "strategy", "reason", "env", "image"]) expect(json).toHaveProperty(key);
  });

  it("readable output names the strategy, the build environment and the image", () => {
    const r = cli(["resolve", "1.18.3"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/strategy:\s+build-tag/);
    expect(r.stdout).toContain("GOFLAGS=-tags=nokmem");
    expect(r.stdout).toMatch(/image:\s+\S+kube-cross/);
  });
});

describe("releases the catalog does not list", () => {
  it.each(["1.25.0", "1.30.1", "1.99.3", "1.30"])("%s, newer than every line: none, not affected, with the reason", (input) => {
    const r = resolve(catalog, input);
    expect(r).toMatchObject({
      strategy: "none",
      affected: false,
      changes: [],
      patchSeries: null,
      range: ">=1.25.0",
      line: input.split(".").slice(0, 2).join("."),
    });
    expect(r.reason).toMatch(/^Every release from 1\.21\.2 on vendors a runc without kmem code \(removed in 1\.0\.0-rc94\); the catalog's lines end at 1\.24/);
    expect(r.knownRelease).toBe(input === "1.30" ? null : false);
  });

  it.each([
    ["1.16.15", true],
    ["1.16.16", false],
    ["1.16.99", false],
    ["1.21.2", true],
    ["1.24.17", true],
    ["1.24.18", false],
    ["1.16", null],
  ] as const)("%s: known to be published: %s, and answered all the same", (input, known) => {
    const r = resolve(catalog, input);
    expect(r.knownRelease).toBe(known);
    expect(r.line).toBe(input.split(".").slice(0, 2).join("."));
  });

  it("the CLI warns in text and says knownRelease in --json, exit 0", () => {
    const text = cli(["resolve", "1.16.99"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("warning:   v1.16.99 is not a release the catalog knows was published (1.16 ended at v1.16.15)");
    expect(cli(["resolve", "1.16.15"]).stdout).not.toContain("warning:");
    const json = cli(["resolve", "1.30.1", "--json"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ version: "1.30.1", line: "1.30", strategy: "none", affected: false, knownRelease: false });
    expect(JSON.parse(cli(["resolve", "1.20.15", "--json"]).stdout).knownRelease).toBe(true);
  });
});

describe("bad versions: one line, exit 2, no stack trace", () => {
  const cases: [name: string, input: string, code: string, says: RegExp][] = [
    ["a word", "latest", "E_VERSION_SYNTAX", /found "latest"/],
    ["shell injection", "1.16; rm -rf /", "E_VERSION_SYNTAX", /found "1\.16; rm -rf \/"/],
    ["empty", "", "E_VERSION_EMPTY", /found an empty string/],
    ["outside the catalog", "99.1.0", "E_VERSION_UNKNOWN", /found 99\.1\.0/],
    ["older than the catalog", "1.7.16", "E_VERSION_UNKNOWN", /found 1\.7\.16/],
    ["another major", "2.0.0", "E_VERSION_UNKNOWN", /found 2\.0\.0/],
    ["a pre-release", "1.16.0-rc.1", "E_VERSION_PRERELEASE", /pre-release "1\.16\.0-rc\.1"/],
  ];

  it.each(cases)("%s (%j): the pure function throws UsageError %s", (_name, input, code) => {
    let thrown: unknown;
    try {
      resolve(catalog, input);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    expect((thrown as UsageError).code).toBe(code);
    expect((thrown as UsageError).exitCode).toBe(ExitCode.usage);
    expect((thrown as UsageError).oneLine()).not.toContain("\n");
  });

  it.each(cases)("%s (%j): the CLI prints one line and exits 2", (_name, input, _code, says) => {
    const r = cli(["resolve", input]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(oneLineError(r)).toMatch(says);
  });

  it("--json failures also print the error as JSON on stdout", () => {
    const r = cli(["resolve", "latest", "--json"]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: "E_VERSION_SYNTAX", exitCode: 2 } });
  });

  it("parseVersionQuery normalises leading zeros and the v prefix", () => {
    expect(parseVersionQuery("v01.016.015")).toEqual({ version: "1.16.15", line: "1.16" });
    expect(parseVersionQuery(" 1.16 ")).toEqual({ version: null, line: "1.16" });
  });
});
