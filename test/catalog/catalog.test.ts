/**
 * The catalog is validated on every load: a broken one ends in one line that
 * names the JSON path, exit 5. The bundled one is valid, and its schema and
 * the TypeScript types that read it say the same thing.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_CATALOG_PATH, loadCatalog, parseCatalog, SCHEMA_PATH } from "../../src/catalog/load.js";
import { KMEM_LAYOUTS, STRATEGY_IDS, type Catalog, type GoflagsHandling, type Pin, type ReleaseLine } from "../../src/catalog/types.js";
import type { RuncReleaseLine } from "../../src/catalog/runc-release.js";
import { CatalogError, ExitCode } from "../../src/errors.js";
import { RUNC_STRATEGY_IDS } from "../../src/strategy/types.js";
import { cli, oneLineError } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const bundledText = readFileSync(DEFAULT_CATALOG_PATH, "utf8");
const bundled = (): Catalog => JSON.parse(bundledText) as Catalog;
const schema = JSON.parse(readFileSync(SCHEMA_PATH, "utf8"));

function writeCatalog(content: string): string {
  const file = join(tempDir(), "versions.json");
  writeFileSync(file, content);
  return file;
}

describe("a broken catalog: one line naming the JSON path, exit 5", () => {
  const cases: [name: string, make: () => string, says: RegExp][] = [
    [
      "a wrong type",
      () => {
        const c = bundled() as unknown as { lines: Record<string, unknown>[] };
        c.lines[3]!.go = 1.11;
        return JSON.stringify(c);
      },
      /at \/lines\/3\/go: expected string, found number 1\.11/,
    ],
    [
      "a missing field",
      () => {
        const c = bundled() as unknown as { lines: Record<string, unknown>[] };
        delete c.lines[8]!.strategy;
        return JSON.stringify(c);
      },
      /at \/lines\/8: expected property "strategy", found none/,
    ],
    [
      "overlapping ranges",
      () => {
        const c = bundled();
        c.lines[14]!.range = ">=1.21.1 <1.22.0";
        return JSON.stringify(c);
      },
      /at \/lines\/14\/range: expected ranges that do not overlap, found ">=1\.21\.1 <1\.22\.0" overlapping \/lines\/13\/range/,
    ],
    ["invalid JSON", () => bundledText.replace('"schemaVersion": 1,', '"schemaVersion": 1,,'), /expected JSON, found a syntax error/],
    [
      "a catalog of an earlier release, with a strategies block",
      () => {
        const c = bundled() as unknown as Record<string, unknown>;
        // What versions.json carried before the strategies owned their env and files (key order kept).
        const legacy = { "build-tag": { summary: "s", env: { GOFLAGS: "-tags=nokmem" }, changes: [] } };
        return JSON.stringify({ $schema: c.$schema, schemaVersion: c.schemaVersion, strategies: legacy, lines: c.lines, pins: c.pins });
      },
      /at \/: unexpected property "strategies"/,
    ],
    [
      "an unknown strategy id",
      () => bundledText.replace('"strategy": "kmem-override"', '"strategy": "buildtags"'),
      /at \/lines\/8\/strategy: expected one of \["vendor-stub","build-tag","kmem-override","none"\], found "buildtags"/,
    ],
  ];

  it.each(cases)("%s: parseCatalog throws CatalogError naming the path", (_name, make, says) => {
    let thrown: unknown;
    try {
      parseCatalog(make(), "versions.json");
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(CatalogError);
    expect((thrown as CatalogError).exitCode).toBe(ExitCode.catalog);
    expect((thrown as CatalogError).message).toMatch(says);
  });

  it.each(cases)("%s: `resolve --catalog FILE` prints one line and exits 5", (_name, make, says) => {
    const file = writeCatalog(make());
    const r = cli(["resolve", "1.16.15", "--catalog", file]);
    expect(r.code).toBe(5);
    expect(r.stdout).toBe("");
    const line = oneLineError(r);
    expect(line).toContain(file);
    expect(line).toMatch(says);
  });

  it("a missing file: one line, exit 5", () => {
    const file = join(tempDir(), "no-such-versions.json");
    const r = cli(["--catalog", file, "resolve", "1.16.15"]);
    expect(r.code).toBe(5);
    expect(oneLineError(r)).toMatch(new RegExp(`expected a readable catalog at ${file.replace(/[.]/g, "\\.")}, found no file`));
  });

  it("KUBELET_NOKMEM_CATALOG names the catalog when --catalog is not given", () => {
    const file = writeCatalog("{");
    const r = cli(["resolve", "1.16.15"], { KUBELET_NOKMEM_CATALOG: file });
    expect(r.code).toBe(5);
    expect(oneLineError(r)).toContain(file);
  });

  it("inspect fails the same way on a broken catalog", () => {
    const r = cli(["inspect", tempDir(), "--catalog", writeCatalog("[]")]);
    expect(r.code).toBe(5);
    expect(oneLineError(r)).toMatch(/at \/: expected object, found array/);
  });
});

describe("the bundled catalog", () => {
  it("loads without error and covers 1.8 to 1.24", () => {
    const c = loadCatalog();
    const lines = new Set(c.lines.map((l) => l.line));
    for (let minor = 8; minor <= 24; minor++) expect(lines.has(`1.${minor}`), `line 1.${minor}`).toBe(true);
  });

  it("points at its schema and carries a schema version", () => {
    expect(bundled().$schema).toBe("./versions.schema.json");
    expect(bundled().schemaVersion).toBe(1);
  });
});

/** Keys a type requires (not optional). */
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
/** Compile-time: the listed keys are exactly T's required keys (`npm run typecheck` checks the tests too). */
function requiredKeys<T>() {
  return <const K extends readonly RequiredKeys<T>[]>(keys: K & ([RequiredKeys<T>] extends [K[number]] ? unknown : never)) => [...keys].sort();
}

describe("versions.schema.json and src/catalog/types.ts agree", () => {
  // Typed examples: a key added to a type without the schema (or the reverse) fails here or in typecheck.
  const line: Required<ReleaseLine> = {
    line: "1.16",
    range: ">=1.16.0 <1.17.0",
    strategy: "kmem-override",
    runc: "v1.0.0-rc8",
    kmemLayout: "split-rc7+",
    go: "1.12.9",
    image: "example/kube-cross:v1.12.9-1",
    goflags: "env",
    versionPackage: "k8s.io/kubernetes/pkg/version",
    env: {},
    reason: "r",
    reference: "https://example.invalid",
  };
  const runcLine: Required<RuncReleaseLine> = {
    line: "1.0.0-rc93",
    range: ">=1.0.0-rc93 <1.0.0-rc94",
    strategy: "runc-build-tag",
    kmemLayout: "split-rc7+",
    go: "1.15",
    image: "kubelet-nokmem-toolchain:go1.19-runc",
    reason: "r",
    reference: "https://example.invalid",
  };
  const pin: Required<Pin> = { commit: "", image: "i", imageId: "sha256:x", strategy: "none", patches: [], keyid: "SHA256:x", sha256: {} };

  const defs = schema.$defs;
  const sorted = (o: object) => Object.keys(o).sort();

  it.each<[string, object, string[]]>([
    [
      "releaseLine",
      line,
      requiredKeys<ReleaseLine>()([
        "line",
        "range",
        "strategy",
        "runc",
        "kmemLayout",
        "go",
        "image",
        "goflags",
        "versionPackage",
        "env",
        "reason",
        "reference",
      ]),
    ],
    ["pin", pin, requiredKeys<Pin>()(["commit", "image", "sha256"])],
    ["runcLine", runcLine, requiredKeys<RuncReleaseLine>()(["line", "range", "strategy", "kmemLayout", "go", "image", "reason", "reference"])],
  ])("$defs.%s: properties are the type's keys, required are its required keys", (def, example, required) => {
    expect(sorted(defs[def].properties)).toEqual(sorted(example));
    expect([...defs[def].required].sort()).toEqual(required);
    expect(defs[def].additionalProperties).toBe(false);
  });

  it("the top-level object's keys match the Catalog type", () => {
    const top: Required<Catalog> = { $schema: "", schemaVersion: 1, lines: [], runcLines: [], runcPins: {}, pins: {} };
    expect(sorted(schema.properties)).toEqual(sorted(top));
    expect([...schema.required].sort()).toEqual(requiredKeys<Catalog>()(["schemaVersion", "lines", "pins"]));
  });

  it("every STRATEGY_IDS and KMEM_LAYOUTS value is in the schema's enums, and nothing else", () => {
    expect([...defs.strategyId.enum].sort()).toEqual([...STRATEGY_IDS].sort());
    expect([...defs.kmemLayout.enum].sort()).toEqual([...KMEM_LAYOUTS].sort());
    expect([...defs.runcStrategyId.enum].sort()).toEqual([...RUNC_STRATEGY_IDS].sort());
  });

  it("the goflags enum matches GoflagsHandling", () => {
    const all: Record<GoflagsHandling, true> = { copy: true, env: true, extract: true };
    expect([...defs.releaseLine.properties.goflags.enum].sort()).toEqual(sorted(all));
  });
});
