/** The validator `npm run build` precompiles must judge catalogs exactly as compiling the schema does. */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";

const built = resolve("dist/catalog/schema-validator.cjs");

describe.skipIf(!existsSync(built))("precompiled catalog validator", () => {
  const pre = createRequire(import.meta.url)(built) as ((d: unknown) => boolean) & { errors?: unknown[] };
  const compiled = new Ajv2020({ allErrors: true, strict: true, verbose: true }).compile(JSON.parse(readFileSync("versions.schema.json", "utf8")));
  const good = JSON.parse(readFileSync("versions.json", "utf8"));

  it.each([
    ["the bundled catalog", good],
    ["a wrong schemaVersion", { ...good, schemaVersion: 2 }],
    ["an unknown strategy in a line", { ...good, lines: [{ ...good.lines[0], strategy: "magic" }] }],
    ["a missing property", { ...good, pins: undefined }],
    ["not an object", 42],
  ])("agrees on %s", (_name, data) => {
    expect(pre(data)).toBe(compiled(data));
    expect((pre.errors ?? []).map((e) => JSON.stringify(e))).toEqual((compiled.errors ?? []).map((e) => JSON.stringify(e)));
  });
});
