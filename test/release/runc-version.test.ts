/**
 * src/runc-version.ts: the one reader of runc versions. Table-driven: every
 * form the tool meets (flags, VERSION files, `runc --version` stamps,
 * distribution spellings, catalog ranges) and the edges of each era.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/catalog/load.js";
import { compareRunc, formatRuncVersion, isRuncStamp, parseRuncVersion, runcHasKmemCode, runcReleaseOf, type RuncRelease } from "../../src/runc-version.js";

const rc = (n: number, minor = 0, patch = 0): RuncRelease => ({ major: 1, minor, patch, rc: n });
const rel = (major: number, minor: number, patch: number): RuncRelease => ({ major, minor, patch, rc: null });

// text, as a flag/catalog names it (parseRuncVersion), as a stamp or package names it (runcReleaseOf), runc's own stamp shape, kmem code
const EDGES: [string, RuncRelease | null, RuncRelease | null, boolean, boolean | null][] = [
  ["1.0.0-rc1", rc(1), rc(1), true, true],
  ["1.0.0-rc2", rc(2), rc(2), true, true],
  ["1.0.0-rc4", rc(4), rc(4), true, true],
  ["1.0.0-rc5", rc(5), rc(5), true, true],
  ["v1.0.0-rc5", rc(5), rc(5), false, true],
  ["1.0.0-rc6", rc(6), rc(6), true, true],
  ["1.0.0-rc10", rc(10), rc(10), true, true],
  ["1.0.0-rc92", rc(92), rc(92), true, true],
  ["1.0.0-rc93", rc(93), rc(93), true, true],
  ["1.0.0-rc94", rc(94), rc(94), true, false],
  ["1.0.0-rc95", rc(95), rc(95), true, false],
  ["1.0.0-rc.95", rc(95), rc(95), true, false],
  ["1.0.0-rc.93", rc(93), rc(93), true, true],
  ["1.0.0", rel(1, 0, 0), rel(1, 0, 0), true, false],
  ["1.0.1", rel(1, 0, 1), rel(1, 0, 1), true, false],
  ["1.0.1-rc1", rc(1, 0, 1), rc(1, 0, 1), true, false],
  ["1.1.0-rc.1", rc(1, 1), rc(1, 1), true, false],
  ["1.1.0-rc1", rc(1, 1), rc(1, 1), true, false],
  ["1.1.5", rel(1, 1, 5), rel(1, 1, 5), true, false],
  ["1.1.12", rel(1, 1, 12), rel(1, 1, 12), true, false],
  ["1.10.0", rel(1, 10, 0), rel(1, 10, 0), true, false],
  ["2.0.0", rel(2, 0, 0), rel(2, 0, 0), false, false],
  ["2.0.0-rc1", { major: 2, minor: 0, patch: 0, rc: 1 }, { major: 2, minor: 0, patch: 0, rc: 1 }, false, false],
  ["10.0.0", rel(10, 0, 0), rel(10, 0, 0), false, false],
  ["0.1.1", rel(0, 1, 1), rel(0, 1, 1), false, false],
  ["0.0.1", rel(0, 0, 1), rel(0, 0, 1), false, false],
  ["0.0.0", rel(0, 0, 0), rel(0, 0, 0), false, null],
  // A commit past a tag (runc's VERSION file says +dev), a repacked source.
  ["1.0.0-rc93+dev", null, rc(93), true, true],
  ["1.0.0-rc10+dev", null, rc(10), true, true],
  ["1.0.0-rc95+dev", null, rc(95), true, false],
  ["1.1.5+ds1", null, rel(1, 1, 5), true, false],
  // A distribution's spelling.
  ["1.0.0~rc93", null, rc(93), false, true],
  ["1.0.0~rc93+ds1", null, rc(93), false, true],
  // Garbage.
  ["", null, null, false, null],
  ["rc93", null, null, false, null],
  ["1.0", null, null, false, null],
  ["1.0.0-", null, null, false, null],
  ["1.0.0-rc", null, null, false, null],
  ["1.0.0-rc93garbage", null, null, false, null],
  ["1.0.0-beta1", null, null, false, null],
  ["x1.0.0-rc93", null, null, false, null],
  ["1.0.0-rc1234", null, null, false, null],
  ["1.0.0-rc93+", null, null, false, null],
  ["unknown", null, null, false, null],
];

describe("runc versions: one reader for every form", () => {
  it.each(EDGES)("%j: as a flag %o, as a stamp %o, runc's stamp shape %s, kmem code %s", (text, flag, stamp, shape, kmem) => {
    expect(parseRuncVersion(text)).toEqual(flag);
    expect(runcReleaseOf(text)).toEqual(stamp);
    expect(isRuncStamp(text)).toBe(shape);
    expect(runcHasKmemCode(text)).toBe(kmem);
  });

  it("surrounding blanks are read past by the readers, but a stamp in a binary has none", () => {
    expect(parseRuncVersion(" 1.0.0-rc93\n")).toEqual(rc(93));
    expect(isRuncStamp(" 1.0.0-rc93")).toBe(false);
  });

  it.each([
    [rc(93), "1.0.0-rc93"],
    [rc(5), "1.0.0-rc5"],
    [rc(1, 1), "1.1.0-rc.1"],
    [rel(1, 1, 12), "1.1.12"],
  ])("%o is written %s, as runc's VERSION file spells it", (v, text) => {
    expect(formatRuncVersion(v)).toBe(text);
    expect(parseRuncVersion(text)).toEqual(v);
  });

  it("every spelling of one release names the same release", () => {
    const spellings = ["1.0.0-rc93", "v1.0.0-rc93", "1.0.0-rc.93", "1.0.0~rc93", "1.0.0-rc93+dev"];
    expect(new Set(spellings.map((s) => formatRuncVersion(runcReleaseOf(s)!)))).toEqual(new Set(["1.0.0-rc93"]));
  });

  it("orders release candidates by number, not as text (rc10 after rc9), and a release after its candidates", () => {
    const sorted = ["1.0.0-rc10", "1.0.0", "1.0.0-rc9", "1.0.0-rc93", "1.0.0-rc2", "1.1.0-rc.1", "1.0.0-rc95", "1.1.12"]
      .map((v) => parseRuncVersion(v)!)
      .sort(compareRunc);
    expect(sorted.map(formatRuncVersion)).toEqual(["1.0.0-rc2", "1.0.0-rc9", "1.0.0-rc10", "1.0.0-rc93", "1.0.0-rc95", "1.0.0", "1.1.0-rc.1", "1.1.12"]);
  });
});

describe("the catalog schema's runcPins keys", () => {
  const schema = JSON.parse(readFileSync(join(PACKAGE_ROOT, "versions.schema.json"), "utf8")) as {
    properties: { runcPins: { propertyNames: { pattern: string } } };
  };
  const key = new RegExp(schema.properties.runcPins.propertyNames.pattern);

  it.each(EDGES.map(([text]) => text))("%j is a runcPins key exactly when the owner reads it as a runc version, without a v", (text) => {
    expect(key.test(text)).toBe(parseRuncVersion(text) !== null && !text.startsWith("v"));
  });
});
