/**
 * verdict.json in both predicate versions: v2 (the audit's words, written
 * now) and v1 (written by 0.1.0 in the build's former words, still read). The
 * one reader reports either in src/verdict.ts's words; a word outside a
 * version's vocabulary is refused with the JSON path where it stands.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import ajvFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { checkOutDir } from "../../src/artifact/outdir.js";
import { readVerdict, verdictStatement, statementBytes } from "../../src/artifact/manifest.js";
import { VerificationError } from "../../src/errors.js";
import { NOKMEM_VERDICTS, VERDICTS } from "../../src/verdict.js";
import { ROOT } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { fakeKubelet, writeOutDir, writeV1Verdict } from "../pin/outdir-fixture.js";

const schema = (v: 1 | 2) => JSON.parse(readFileSync(join(ROOT, `docs/schemas/verdict-v${v}.schema.json`), "utf8"));
const validator = (v: 1 | 2) => {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  ajvFormats.default(ajv);
  return ajv.compile(schema(v));
};

/** An output folder as 0.1.0 left it: manifest.json and a verdict/v1 verdict.json. */
function v1OutDir(words: { build?: string; binary?: string } = {}): string {
  const out = join(tempDir(), "out");
  const binaries = { "linux/amd64": fakeKubelet("v1-amd64") };
  writeOutDir(out, "1.20.15", binaries);
  writeV1Verdict(out, "1.20.15", binaries, words);
  return out;
}
const v1Text = (words: { build?: string; binary?: string } = {}) => readFileSync(join(v1OutDir(words), "verdict.json"), "utf8");

function v2Text(build: string, binary: string): string {
  const st = verdictStatement([{ name: "linux/amd64/kubelet", sha256: "1".repeat(64) }], {
    release: "v1.20.15",
    strategy: "build-tag",
    verdict: "patched",
    binaries: [{ name: "linux/amd64/kubelet", verdict: "patched", evidence: [{ check: "build-tag:nokmem", found: true }] }],
    verifier: { id: "https://github.com/kubelet-nokmem/kubelet-nokmem/verifiers/audit/v1", version: { "kubelet-nokmem": "0.2.0" } },
    timeVerified: "2026-12-01T00:00:00.000Z",
  });
  const json = JSON.parse(statementBytes(st).toString("utf8"));
  json.predicate.verdict = build;
  json.predicate.binaries[0].verdict = binary;
  return JSON.stringify(json);
}

function refusal(read: () => unknown): VerificationError {
  try {
    read();
  } catch (err) {
    expect(err).toBeInstanceOf(VerificationError);
    return err as VerificationError;
  }
  throw new Error("expected the reader to refuse");
}

describe("verdict/v2: the audit's words", () => {
  it("its schema's words are src/verdict.ts's VERDICTS, and a build's are patched or not-affected", () => {
    const s = schema(2);
    expect(s.properties.binaries.items.properties.verdict.enum).toEqual([...VERDICTS]);
    expect(s.properties.verdict.enum).toEqual([...NOKMEM_VERDICTS]);
    expect(NOKMEM_VERDICTS).toEqual(["patched", "not-affected"]);
  });

  it.each(VERDICTS)("reads a binary verdict %s as itself", (word) => {
    const r = readVerdict(v2Text("patched", word), "verdict.json");
    expect(r.predicate.binaries[0]!.verdict).toBe(word);
    expect(r.statement.predicateType).toBe("https://github.com/kubelet-nokmem/kubelet-nokmem/verdict/v2");
    expect(validator(2)(JSON.parse(v2Text("patched", word)).predicate)).toBe(true);
  });

  it.each([
    ["the build's verdict in v1's word", "nokmem", "patched", "$.predicate.verdict", "patched, not-affected"],
    ["a binary's verdict in v1's word", "patched", "kmem-enabled", "$.predicate.binaries[0].verdict", "patched, unpatched, not-affected, unknown"],
    ["a build verdict no build publishes", "unpatched", "unpatched", "$.predicate.verdict", "patched, not-affected"],
    ["an invented word", "patched", "maybe", "$.predicate.binaries[0].verdict", "patched, unpatched, not-affected, unknown"],
  ])("refuses %s, naming the JSON path", (_what, build, binary, path, words) => {
    const e = refusal(() => readVerdict(v2Text(build, binary), "out/verdict.json"));
    expect(e.code).toBe("E_MANIFEST");
    expect(e.message).toContain(`${path}: expected one of ${words}`);
    expect(e.message).toContain("verdict/v2 predicate");
    expect(validator(2)(JSON.parse(v2Text(build, binary)).predicate)).toBe(false);
  });
});

describe("verdict/v1, as 0.1.0 wrote it", () => {
  /** What each v1 word means in the audit's words. */
  const MEANING = { nokmem: "patched", "kmem-enabled": "unpatched", "not-affected": "not-affected", unknown: "unknown" } as const;

  it("the hand-written fixture is a valid v1 predicate (verdict-v1.schema.json, kept as the record of the format)", () => {
    expect(validator(1)(JSON.parse(v1Text()).predicate), JSON.stringify(validator(1).errors)).toBe(true);
  });

  it("is read and reported in the audit's words; the Statement itself stays as signed", () => {
    const r = readVerdict(v1Text(), "verdict.json");
    expect(r.predicate).toMatchObject({
      release: "v1.20.15",
      strategy: "build-tag",
      verdict: "patched",
      binaries: [{ name: "linux/amd64/kubelet", verdict: "patched", gitVersion: "v1.20.15" }],
    });
    expect(r.predicate.binaries[0]!.evidence).toEqual([
      { check: "build-tag:nokmem", found: true, detail: "the Go build info records -tags=nokmem" },
      { check: "enabled-string:kmem-limit-file", found: false },
    ]);
    expect(r.statement).toMatchObject({ predicateType: "https://github.com/kubelet-nokmem/kubelet-nokmem/verdict/v1", predicate: { verdict: "nokmem" } });
  });

  it("every binary word of the v1 schema has a meaning in the audit's words", () => {
    expect(schema(1).properties.binaries.items.properties.verdict.enum).toEqual(Object.keys(MEANING));
    expect(schema(1).properties.verdict.enum).toEqual(["nokmem", "not-affected"]);
  });

  it.each(Object.entries(MEANING))("reads a binary verdict %s as %s", (v1, now) => {
    expect(readVerdict(v1Text({ binary: v1 }), "verdict.json").predicate.binaries[0]!.verdict).toBe(now);
  });

  it.each([
    ["nokmem", "patched"],
    ["not-affected", "not-affected"],
  ])("reads the build's verdict %s as %s", (v1, now) => {
    expect(readVerdict(v1Text({ build: v1 }), "verdict.json").predicate.verdict).toBe(now);
  });

  it.each([
    ["a binary's verdict in v2's word", {}, "patched", "$.predicate.binaries[0].verdict", "nokmem, kmem-enabled, not-affected, unknown"],
    ["an invented binary word", {}, "mostly", "$.predicate.binaries[0].verdict", "nokmem, kmem-enabled, not-affected, unknown"],
    ["the build's verdict in v2's word", { build: "patched" }, "nokmem", "$.predicate.verdict", "nokmem, not-affected"],
    ["a build verdict v1 never allowed", { build: "kmem-enabled" }, "nokmem", "$.predicate.verdict", "nokmem, not-affected"],
  ] as const)("refuses %s, naming the JSON path", (_what, build, binary, path, words) => {
    const text = v1Text({ ...build, binary });
    const e = refusal(() => readVerdict(text, "out/verdict.json"));
    expect(e.code).toBe("E_MANIFEST");
    expect(e.message).toContain(`${path}: expected one of ${words}`);
    expect(e.message).toContain("verdict/v1 predicate");
    expect(validator(1)(JSON.parse(text).predicate)).toBe(false);
  });

  it("an output folder of 0.1.0 reads through the one reader of a build's Statements", async () => {
    const build = await checkOutDir(v1OutDir());
    expect(build?.verdict?.predicate).toMatchObject({ verdict: "patched", binaries: [{ verdict: "patched" }] });
    expect(build?.provenance.version).toBe("1.20.15");
  });

  it("refuses a predicateType it does not know, naming both it reads", () => {
    const text = v1Text().replace("/verdict/v1", "/verdict/v3");
    expect(refusal(() => readVerdict(text, "verdict.json")).message).toMatch(/predicateType .*verdict\/v2 \(or .*verdict\/v1\), found ".*verdict\/v3"/);
  });
});
