/**
 * Loading and validating versions.json. The catalog is validated on every load
 * against versions.schema.json, then checked for things a schema cannot say
 * (ranges that parse, overlap, or leave gaps).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { Ajv2020, ErrorObject } from "ajv/dist/2020.js";
import { visit } from "jsonc-parser";
import semver from "semver";
import { CatalogError } from "../errors.js";
import { describeReadFailure, readRegularTextSync } from "../io/read.js";
import { DEFAULT_CATALOG_PATH, PACKAGE_ROOT } from "../io/package-root.js";
import { checkRuncLines } from "./runc-release.js";
import { IMAGE_REFERENCE_EXAMPLE, quoteReference } from "./image-ref.js";
import type { Catalog } from "./types.js";

export { DEFAULT_CATALOG_PATH, PACKAGE_ROOT } from "../io/package-root.js";
export const SCHEMA_PATH = join(PACKAGE_ROOT, "versions.schema.json");

/** Where scripts/build-catalog-validator.mjs writes the precompiled validator. */
const PRECOMPILED_VALIDATOR = join(PACKAGE_ROOT, "dist", "catalog", "schema-validator.cjs");
type Validator = ReturnType<Ajv2020["compile"]>;
let validator: Validator | undefined;
const require = createRequire(import.meta.url);

/**
 * The validator `npm run build` precompiled (scripts/build-catalog-validator.mjs)
 * when it was made from this very schema; otherwise compile the schema now.
 * Importing ajv and compiling cost about 120 ms per start, measured.
 */
function loadValidator(): Validator {
  const text = readFileSync(SCHEMA_PATH, "utf8");
  try {
    const pre = require(PRECOMPILED_VALIDATOR) as Validator & { schemaSha256?: string };
    if (pre.schemaSha256 === createHash("sha256").update(text).digest("hex")) return pre;
  } catch {
    // not built yet: compile below
  }
  const { Ajv2020: Ajv } = require("ajv/dist/2020.js") as typeof import("ajv/dist/2020.js");
  return new Ajv({ allErrors: true, strict: true, verbose: true }).compile(JSON.parse(text));
}

function validate(data: unknown): ErrorObject[] {
  validator ??= loadValidator();
  return validator(data) ? [] : [...(validator.errors ?? [])];
}

function describeSchemaError(e: ErrorObject): string {
  const at = e.instancePath || "/";
  switch (e.keyword) {
    case "required":
      return `at ${at}: expected property "${(e.params as { missingProperty: string }).missingProperty}", found none`;
    case "type":
      return `at ${at}: expected ${(e.params as { type: string }).type}, found ${typeName(e.data)}`;
    case "enum":
      return `at ${at}: expected one of ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}, found ${JSON.stringify(e.data)}`;
    case "additionalProperties":
      return `at ${at}: unexpected property "${(e.params as { additionalProperty: string }).additionalProperty}"`;
    case "const":
      return `at ${at}: expected ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}, found ${typeof e.data === "string" ? quoteReference(e.data) : JSON.stringify(e.data)}`;
    case "pattern":
    case "maxLength":
      if ((e.parentSchema as { $id?: string; description?: string } | undefined)?.description?.startsWith("A Docker image reference")) {
        return `at ${at}: expected an image reference such as ${IMAGE_REFERENCE_EXAMPLE}, found ${typeof e.data === "string" ? quoteReference(e.data) : typeName(e.data)}`;
      }
      return `at ${at}: ${e.message ?? e.keyword}, found ${typeof e.data === "string" ? quoteReference(e.data) : typeName(e.data)}`;
    default:
      return `at ${at}: ${e.message ?? e.keyword}, found ${typeof e.data === "string" ? quoteReference(e.data) : JSON.stringify(e.data)}`;
  }
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v === "number" ? `number ${v}` : typeof v === "string" ? `string ${JSON.stringify(v)}` : typeof v;
}

/** Parse and validate catalog text. `source` names the file in messages. */
export function parseCatalog(text: string, source = "versions.json"): Catalog {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new CatalogError(
      "E_CATALOG_JSON",
      `${source}: expected JSON, found a syntax error (${(err as Error).message})`,
      `fix the syntax or restore ${source} from the release`,
    );
  }
  const duplicate = firstDuplicateKey(text);
  if (duplicate) {
    throw new CatalogError(
      "E_CATALOG_DUPLICATE_KEY",
      `${source}: at ${duplicate.at}: expected each key once, found "${duplicate.key}" twice (JSON.parse would silently keep the later one)`,
      `remove one of the two "${duplicate.key}" entries`,
    );
  }
  const errors = validate(data);
  if (errors.length) {
    // The most specific error first: ajv reports deepest paths last for oneOf/anyOf.
    // At one path, a branch's own check says more than anyOf's summary or the other branch's `const` (a pin's image: "" or a reference).
    const vague = (e: ErrorObject) => (e.keyword === "anyOf" || e.keyword === "const" ? 1 : 0);
    const first = errors.sort((a, b) => b.instancePath.length - a.instancePath.length || vague(a) - vague(b))[0]!;
    const more = errors.length > 1 ? ` (+${errors.length - 1} more)` : "";
    throw new CatalogError(
      "E_CATALOG_SCHEMA",
      `${source}: ${describeSchemaError(first)}${more}`,
      `correct the entry, then run \`kubelet-nokmem resolve 1.20\` to re-check`,
    );
  }
  const catalog = data as Catalog;
  checkRanges(catalog, source);
  checkRuncLines(catalog.runcLines ?? [], source, Object.keys(catalog.runcPins ?? {}));
  return catalog;
}

/**
 * The first key that appears twice in one object, with its JSON pointer.
 * JSON.parse keeps the last of them, so a second `"lines"` replaced the
 * whole release table without a word. jsonc-parser walks the text (it is
 * only asked for keys here; JSON.parse above already proved the syntax).
 */
function firstDuplicateKey(text: string): { key: string; at: string } | null {
  const stack: { keys: Set<string>; path: string }[] = [];
  const pointer = (path: (string | number)[]) => `/${path.map((p) => String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("/")}`;
  let found: { key: string; at: string } | null = null;
  visit(text, {
    onObjectBegin: (_o, _l, _sl, _sc, pathSupplier) => {
      stack.push({ keys: new Set(), path: pointer(pathSupplier()) });
    },
    onObjectEnd: () => {
      stack.pop();
    },
    onObjectProperty: (key) => {
      const top = stack.at(-1);
      if (!top || found) return;
      if (top.keys.has(key)) found = { key, at: top.path };
      top.keys.add(key);
    },
  });
  return found;
}

function checkRanges(catalog: Catalog, source: string): void {
  const ranges: { i: number; range: semver.Range }[] = [];
  catalog.lines.forEach((l, i) => {
    const r = semver.validRange(l.range) ? new semver.Range(l.range) : null;
    if (!r) {
      throw new CatalogError(
        "E_CATALOG_RANGE",
        `${source}: at /lines/${i}/range: expected a semver range such as ">=1.16.0 <1.17.0", found ${JSON.stringify(l.range)}`,
        "fix the range",
      );
    }
    const min = semver.minVersion(r);
    if (!min || `${min.major}.${min.minor}` !== l.line) {
      throw new CatalogError(
        "E_CATALOG_RANGE",
        `${source}: at /lines/${i}/range: expected a range within line ${l.line}, found ${JSON.stringify(l.range)}`,
        "make the range start in its own line",
      );
    }
    for (const other of ranges) {
      if (semver.intersects(other.range, r)) {
        throw new CatalogError(
          "E_CATALOG_OVERLAP",
          `${source}: at /lines/${i}/range: expected ranges that do not overlap, found ${JSON.stringify(l.range)} overlapping /lines/${other.i}/range ${JSON.stringify(other.range.raw)}`,
          "narrow one of the two ranges",
        );
      }
    }
    ranges.push({ i, range: r });
  });
  for (const version of Object.keys(catalog.pins)) {
    if (!catalog.lines.some((l) => semver.satisfies(version, l.range))) {
      throw new CatalogError(
        "E_CATALOG_PIN",
        `${source}: at /pins/${version}: expected a release inside a catalog line, found none covering ${version}`,
        "remove the pin or add its release line",
      );
    }
  }
}

/** The bundled catalog is about 20 KiB; a catalog file larger than this is not one. */
export const MAX_CATALOG_BYTES = 8 * 1024 * 1024;

export function loadCatalog(path = DEFAULT_CATALOG_PATH): Catalog {
  let text: string;
  try {
    text = readRegularTextSync(path, { maxBytes: MAX_CATALOG_BYTES });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const fix =
      code === "EACCES" || code === "EPERM"
        ? `make ${path} readable (chmod a+r) or run as its owner`
        : "pass --catalog FILE (a regular JSON file) or reinstall kubelet-nokmem";
    throw new CatalogError("E_CATALOG_READ", `expected a readable catalog at ${path}, found ${describeReadFailure(err)}`, fix);
  }
  return checkedAtBuild(text) ?? parseCatalog(text, path);
}

/**
 * sha256 of the schema and the catalog that `npm run build` checked with
 * every check parseCatalog makes (scripts/bundle-cli.mjs puts it into the
 * bundle; absent when running tsc's output or the sources). A catalog with
 * exactly that text, under exactly that schema, passed those checks: it is
 * parsed without making them again (the JSONC walk, the validator and the
 * range checks were most of an audit's start-up after Node's own).
 */
declare const KUBELET_NOKMEM_CHECKED_CATALOG: string | undefined;

/**
 * The digest the bundle vouches for, over the schema's text and the catalog's.
 * @public (scripts/bundle-cli.mjs computes it with this function)
 */
export function checkedDigest(schemaText: string, catalogText: string): string {
  return createHash("sha256").update(schemaText).update("\0").update(catalogText).digest("hex");
}

function checkedAtBuild(text: string): Catalog | null {
  const vouched = typeof KUBELET_NOKMEM_CHECKED_CATALOG === "string" ? KUBELET_NOKMEM_CHECKED_CATALOG : undefined;
  if (vouched === undefined) return null;
  let schema: string;
  try {
    schema = readFileSync(SCHEMA_PATH, "utf8");
  } catch {
    return null;
  }
  return checkedDigest(schema, text) === vouched ? (JSON.parse(text) as Catalog) : null;
}
