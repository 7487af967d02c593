import { describe, expect, it } from "vitest";
import { loadCatalog, parseCatalog } from "../../src/catalog/load.js";
import { parseRuncRange, resolveRunc, runcInRange, runcLineFor } from "../../src/catalog/runc-release.js";
import { parseRuncVersion } from "../../src/runc-version.js";
import { CatalogError, UsageError } from "../../src/errors.js";

const catalog = loadCatalog();
const lines = catalog.runcLines ?? [];

describe("runc ranges", () => {
  it.each([
    [">=1.0.0-rc6 <1.0.0-rc7", "1.0.0-rc6", true],
    [">=1.0.0-rc6 <1.0.0-rc7", "1.0.0-rc7", false],
    [">=1.0.0-rc9 <1.0.0-rc91", "1.0.0-rc10", true],
    [">=1.0.0-rc94", "1.1.12", true],
    [">=1.0.0-rc94", "1.0.0-rc93", false],
  ])("%s contains %s: %s", (range, v, want) => {
    expect(runcInRange(parseRuncVersion(v)!, range)).toBe(want);
  });

  it.each(["", ">1.0.0-rc6", ">=1.0.0-rc7 <1.0.0-rc6", ">=1.0.0-rc6 >=1.0.0-rc7", "<1.0.0-rc2 <1.0.0-rc3 <1"])("%j is not a runc range", (range) => {
    expect(parseRuncRange(range)).toBeNull();
  });
});

describe("the catalog's runc lines", () => {
  it.each([
    ["1.0.0-rc2", "runc-stub", "pre-split", "runc-stub/pre-split", []],
    ["1.0.0-rc4", "runc-stub", "pre-split", "runc-stub/pre-split", []],
    ["v1.0.0-rc5", "runc-stub", "pre-split", "runc-stub/pre-split", []],
    ["1.0.0-rc6", "runc-build-tag", "split-rc6", null, ["nokmem"]],
    ["1.0.0-rc10", "runc-build-tag", "split-rc7+", null, ["nokmem"]],
    ["1.0.0-rc92", "runc-build-tag", "split-rc7+", null, ["nokmem"]],
    ["1.0.0-rc93", "runc-build-tag", "split-rc7+", null, ["nokmem"]],
    ["1.0.0-rc94", "runc-none", "absent", null, []],
    ["1.1.12", "runc-none", "absent", null, []],
  ])("%s: %s (%s)", (version, strategy, layout, series, tags) => {
    const r = resolveRunc(lines, version);
    expect({ strategy: r.strategy, kmemLayout: r.kmemLayout, patchSeries: r.patchSeries, addTags: r.addTags, affected: r.affected }).toEqual({
      strategy,
      kmemLayout: layout,
      patchSeries: series,
      addTags: tags,
      affected: strategy !== "runc-none",
    });
  });

  it("an uncovered release and a malformed version are usage errors that name what is covered", () => {
    expect(() => resolveRunc(lines, "1.0.0-rc1")).toThrow(UsageError);
    expect(() => resolveRunc(lines, "1.0.0-rc1")).toThrow(/E_RUNC_NOT_COVERED|expected a runc release the catalog covers/);
    expect(() => resolveRunc(lines, "banana")).toThrow(/expected a runc version such as 1\.0\.0-rc93/);
  });

  it("every line's go is a Go version and its image the runc toolchain image", () => {
    for (const l of lines) expect({ line: l.line, image: l.image }).toEqual({ line: l.line, image: "kubelet-nokmem-toolchain:go1.19-runc" });
    expect(runcLineFor(lines, "1.0.0-rc93")?.go).toBe("1.15");
  });

  const withRuncLines = (runcLines: unknown[]) => JSON.stringify({ ...catalog, runcLines });
  const line = {
    line: "x",
    range: ">=1.0.0-rc6 <1.0.0-rc7",
    strategy: "runc-build-tag",
    kmemLayout: "split-rc6",
    go: "1.10",
    image: "i",
    reason: "r",
    reference: "https://example.invalid",
  };

  it.each<[string, unknown[], string]>([
    ["overlapping ranges", [line, { ...line, range: ">=1.0.0-rc5 <1.0.0-rc8" }], "E_CATALOG_OVERLAP"],
    ["a range that does not parse", [{ ...line, range: "~1.0.0-rc6" }], "E_CATALOG_RANGE"],
    ["a layout the strategy does not accept", [{ ...line, kmemLayout: "pre-split" }], "E_CATALOG_LAYOUT"],
    ["an unknown strategy", [{ ...line, strategy: "build-tag" }], "E_CATALOG_SCHEMA"],
  ])("a catalog with %s is refused", (_name, runcLines, code) => {
    let err: unknown;
    try {
      parseCatalog(withRuncLines(runcLines));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CatalogError);
    expect((err as CatalogError).code).toBe(code);
  });
});
