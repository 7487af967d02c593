/**
 * lineFor's range check (src/catalog/resolve.ts satisfies) compares numbers
 * for plain versions and release-line ranges: it must give semver's answer
 * for every version and range, plain or not.
 */
import semver from "semver";
import { describe, expect, it } from "vitest";
import { satisfies } from "../../src/catalog/resolve.js";
import { loadCatalog } from "../../src/catalog/load.js";

const VERSIONS = [
  "1.20.0",
  "1.20.15",
  "1.21.0",
  "1.21.1",
  "1.21.2",
  "1.19.99",
  "1.9.0",
  "1.10.0",
  "0.0.0",
  "2.0.0",
  "1.20.0-rc.1",
  "1.21.0-alpha.0",
  "v1.20.15",
  "=1.20.15",
  " 1.20.15",
  "01.20.15",
  "1.020.15",
  "1.20",
  "1.20.15.1",
  "1.20.15+build.1",
  "999999999.0.0",
  "9999999999999999.0.0",
  "1.0.0-rc93",
  "1.0.0-rc94",
  "",
];
const RANGES = [
  ">=1.20.0 <1.21.0",
  ">=1.21.0 <1.21.2",
  ">=1.9.0 <1.10.0",
  ">=0.0.0 <1.0.0",
  ">=1.20.0 <1.20.0",
  ">=1.0.0-rc93 <1.0.0-rc94",
  ">=1.0.0-rc94",
  ">=1.20.0  <1.21.0",
  ">=01.20.0 <1.21.0",
  "1.20.x",
  "^1.20.0",
  "<1.21.0 >=1.20.0",
];

describe("satisfies", () => {
  const cases = VERSIONS.flatMap((v) => RANGES.map((r) => [v, r] as const));
  it.each(cases)("%j in %j as semver answers", (v, r) => {
    expect(satisfies(v, r)).toBe(semver.satisfies(v, r));
  });

  it("the bundled catalog's release lines: each release of each line in that line, as semver says", () => {
    const catalog = loadCatalog();
    expect(catalog.lines.length).toBeGreaterThan(10);
    for (const line of catalog.lines) {
      const [, major, minor] = /^(\d+)\.(\d+)$/.exec(line.line)!;
      for (let patch = 0; patch < 40; patch++) {
        for (const m of [Number(minor) - 1, Number(minor), Number(minor) + 1]) {
          const v = `${major}.${m}.${patch}`;
          expect(satisfies(v, line.range), `${v} in ${line.range}`).toBe(semver.satisfies(v, line.range));
        }
      }
    }
  });
});
