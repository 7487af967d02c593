/**
 * Two validators of a CycloneDX 1.6 JSON document that this project did not
 * write: the official JSON schema (bom-1.6, shipped with the CycloneDX
 * library under res/schema/) compiled with ajv and ajv-formats, every error
 * reported; and the CycloneDX library's own strict JSON validator. Plus what
 * no schema can say: bom-refs unique across the document, every reference of
 * `dependencies` defined.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Spec, Validation } from "@cyclonedx/cyclonedx-library";
import Ajv from "ajv";
import ajvFormats from "ajv-formats";

const require = createRequire(import.meta.url);
const SCHEMA_DIR = join(dirname(require.resolve("@cyclonedx/cyclonedx-library/package.json")), "res", "schema");
const BASE = "http://cyclonedx.org/schema/";

const read = (name: string) => JSON.parse(readFileSync(join(SCHEMA_DIR, name), "utf8")) as Record<string, unknown>;

let official: (((data: unknown) => boolean) & { errors?: unknown }) | undefined;

/** Errors of the official bom-1.6 schema (null when valid). */
export function officialSchemaErrors(text: string): unknown[] | null {
  if (!official) {
    // bom-1.6 refers to its companions by the shipped file names; register them under those.
    const companions = ["spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"].map((n) => ({ ...read(n), $id: `${BASE}${n}` }));
    const ajv = new Ajv.default({ allErrors: true, strict: false, schemas: companions });
    ajvFormats.default(ajv);
    ajv.addFormat("idn-email", true);
    ajv.addFormat("iri-reference", true);
    official = ajv.compile(read("bom-1.6.SNAPSHOT.schema.json"));
  }
  return official(JSON.parse(text)) ? null : (official.errors as unknown[]);
}

const library = new Validation.JsonStrictValidator(Spec.Version.v1dot6);

/** The CycloneDX library's own verdict (null when valid). */
export async function libraryValidatorErrors(text: string): Promise<unknown> {
  return library.validate(text);
}

interface Bom {
  metadata?: { component?: { "bom-ref"?: string } };
  components?: { "bom-ref"?: string; components?: unknown[] }[];
  dependencies?: { ref: string; dependsOn?: string[] }[];
}

/** bom-refs defined more than once, and references of `dependencies` that name no bom-ref. */
export function referenceProblems(text: string): string[] {
  const bom = JSON.parse(text) as Bom;
  const refs = [bom.metadata?.component?.["bom-ref"], ...(bom.components ?? []).map((c) => c["bom-ref"])].filter((r): r is string => Boolean(r));
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const r of refs) {
    if (seen.has(r)) problems.push(`bom-ref ${r} defined twice`);
    seen.add(r);
  }
  const depRefs = new Set<string>();
  for (const d of bom.dependencies ?? []) {
    if (depRefs.has(d.ref)) problems.push(`dependencies has ${d.ref} twice`);
    depRefs.add(d.ref);
    for (const r of [d.ref, ...(d.dependsOn ?? [])]) if (!seen.has(r)) problems.push(`dependencies names ${r}, which no component defines`);
  }
  return problems;
}
