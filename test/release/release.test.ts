/**
 * src/release.ts: the one reader of Kubernetes release versions. Table-driven:
 * every form the tool meets (flags, tags, stamped gitVersions, manifests).
 */
import { describe, expect, it } from "vitest";
import {
  compareLines,
  compareReleases,
  coreOf,
  isKnownPatchRelease,
  KNOWN_LINES,
  lastPatchOf,
  lineOf,
  parseExactRelease,
  parseRelease,
  parseReleaseOrLine,
  releaseCore,
  type Release,
} from "../../src/release.js";
import { loadCatalog } from "../../src/catalog/load.js";

const rel = (major: number, minor: number, patch: number, prerelease: string | null = null, build: string | null = null): Release => ({
  major,
  minor,
  patch,
  prerelease,
  build,
});

describe("parseReleaseOrLine", () => {
  it.each([
    ["1.16.15", { release: rel(1, 16, 15), line: "1.16" }],
    ["v1.16.15", { release: rel(1, 16, 15), line: "1.16" }],
    [" v01.016.015 ", { release: rel(1, 16, 15), line: "1.16" }],
    ["1.16", { release: null, line: "1.16" }],
    ["v1.9", { release: null, line: "1.9" }],
    ["v1.17.0-rc.1", { release: rel(1, 17, 0, "rc.1"), line: "1.17" }],
    ["v1.16.15-dirty", { release: rel(1, 16, 15, "dirty"), line: "1.16" }],
    ["v1.16.15+nokmem.1", { release: rel(1, 16, 15, null, "nokmem.1"), line: "1.16" }],
    ["v1.20.2-3+0123456789abcd-dirty", { release: rel(1, 20, 2, "3", "0123456789abcd-dirty"), line: "1.20" }],
    ["1.999.9999", { release: rel(1, 999, 9999), line: "1.999" }],
  ])("reads %j", (text, expected) => {
    expect(parseReleaseOrLine(text)).toEqual(expected);
  });

  it.each([
    "",
    "v",
    "1",
    "1.",
    "1.16.",
    "1.16.x",
    "latest",
    "1.16.15.1",
    "V1.16.15",
    "vv1.16.15",
    "1.16-rc.1",
    "1.16+meta",
    "1.16.15-",
    "1.16.15+",
    "1.16.15-a b",
    "1.16; rm -rf /",
    "1234.1.1",
    "1.1234.1",
    "1.1.12345",
    "x1.16.15",
    "1.16.15x",
  ])("refuses %j", (text) => {
    expect(parseReleaseOrLine(text)).toBeNull();
    expect(parseRelease(text)).toBeNull();
  });
});

describe("parseRelease / parseExactRelease / coreOf", () => {
  it("reads a release, never a line", () => {
    expect(parseRelease("1.16")).toBeNull();
    expect(parseRelease("v1.16.15-dirty")).toEqual(rel(1, 16, 15, "dirty"));
  });
  it.each([
    ["1.16.15", "1.16.15"],
    ["v1.16.15", "1.16.15"],
    ["v1.16.15-dirty", null],
    ["v1.16.15+nokmem.1", null],
    ["1.16", null],
  ])("an exact release from %j is %j", (text, core) => {
    const r = parseExactRelease(text);
    expect(r ? releaseCore(r) : null).toBe(core);
  });
  it.each([
    ["v1.16.15-dirty", "1.16.15"],
    ["v1.16.15+nokmem.1", "1.16.15"],
    ["1.16.15", "1.16.15"],
    ["1.16", null],
    ["garbage", null],
  ])("the core of %j is %j", (text, core) => {
    expect(coreOf(text)).toBe(core);
  });
  it("names the line", () => {
    expect(lineOf(rel(1, 9, 11))).toBe("1.9");
  });
});

describe("order", () => {
  it.each([
    ["1.16.15", "1.16.15", 0],
    ["1.16.15+a", "1.16.15+b", 0],
    ["1.16.14", "1.16.15", -1],
    ["1.16.15", "1.16.14", 1],
    ["1.9.0", "1.10.0", -1],
    ["1.10.0", "1.9.99", 1],
    ["2.0.0", "1.99.0", 1],
    ["1.17.0-rc.1", "1.17.0", -1],
    ["1.17.0", "1.17.0-rc.1", 1],
    ["1.17.0-alpha.1", "1.17.0-rc.1", -1],
    ["1.17.0-rc.1", "1.17.0-alpha.1", 1],
    ["1.17.0-rc.1", "1.17.0-rc.1", 0],
  ])("%s against %s is %i", (a, b, sign) => {
    expect(compareReleases(parseRelease(a)!, parseRelease(b)!)).toBe(sign);
  });
  it.each([
    ["1.9", "1.10", -1],
    ["1.10", "1.9", 1],
    ["1.16", "1.16", 0],
    ["2.0", "1.24", 1],
    ["1.24", "2.0", -1],
    ["x", "1.16", -1],
    ["1.16", "x", 1],
    ["x", "y", 0],
  ])("line %s against %s is %i", (a, b, sign) => {
    expect(compareLines(a, b)).toBe(sign);
  });
  it("sorts lines as numbers", () => {
    expect(["1.10", "1.8", "1.24", "1.9"].sort(compareLines)).toEqual(["1.8", "1.9", "1.10", "1.24"]);
  });
});

describe("known patch releases", () => {
  it.each([
    ["1.16.15", true],
    ["1.16.0", true],
    ["1.16.16", false],
    ["1.16.99", false],
    ["1.8.15", true],
    ["1.8.16", false],
    ["1.24.17", true],
    ["1.24.18", false],
    ["1.30.1", false],
    ["1.7.0", false],
    ["1.17.0-rc.1", false],
  ])("%s was published: %s", (text, known) => {
    expect(isKnownPatchRelease(parseRelease(text)!)).toBe(known);
  });
  it("names a line's last patch release", () => {
    expect(lastPatchOf("1.16")).toBe("1.16.15");
    expect(lastPatchOf("1.30")).toBeNull();
  });
  it("knows the published releases of exactly the catalog's lines", () => {
    const lines = [...new Set(loadCatalog().lines.map((l) => l.line))];
    expect([...KNOWN_LINES].sort(compareLines)).toEqual(lines.sort(compareLines));
  });
});
