/**
 * The limits of an output folder's check (artifact/outdir.ts) and of a key
 * file: each is accepted at exactly its number, refused one byte (or one
 * signature) above it, and docs/threat-model.md states the same number.
 */
import { readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KEY_MAX_BYTES, loadVerifyingKey } from "../../src/artifact/keys.js";
import { MAX_ENVELOPE_SIGNATURES, parseEnvelope } from "../../src/artifact/dsse.js";
import { checkOutDir, OUT_DIR_LIMITS } from "../../src/artifact/outdir.js";
import { ToolError } from "../../src/errors.js";
import { formatBytes } from "../../src/io/read.js";
import { ROOT } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { sha } from "../pin/outdir-fixture.js";
import { resign, writeSignedOutDir, type SignedOutDir } from "../hostile/signed-out-dir.js";

/** Pad a file with trailing newlines (blank to every reader here) to exactly `size` bytes. */
function padTo(path: string, size: number): void {
  const b = readFileSync(path);
  writeFileSync(path, Buffer.concat([b, Buffer.alloc(size - b.length, "\n")]));
}

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (err) {
    if (err instanceof ToolError) return `${err.code} ${err.message}`;
    throw err;
  }
}

/** A fresh signed folder (tempDir()'s are removed after each test). */
async function signed(): Promise<SignedOutDir> {
  return writeSignedOutDir(tempDir());
}

/** build.log's digest as the manifest records it, changed to the file's and signed again. */
function recordLog(out: string, s: SignedOutDir): void {
  const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as {
    predicate: { runDetails: { byproducts: { name: string; digest: { sha256: string } }[] } };
  };
  m.predicate.runDetails.byproducts.find((b) => b.name === "build.log")!.digest.sha256 = sha(readFileSync(join(out, "build.log")));
  writeFileSync(join(out, "manifest.json"), `${JSON.stringify(m, null, 2)}\n`);
  resign(out, "manifest.json", s.key);
}

describe("each limit: accepted at its number, refused above it, naming the file", () => {
  const CASES: [string, number, string, (out: string, size: number, s: SignedOutDir) => void][] = [
    [
      "statement (manifest.json)",
      OUT_DIR_LIMITS.statement,
      "manifest.json",
      (o, n, s) => (padTo(join(o, "manifest.json"), n), resign(o, "manifest.json", s.key)),
    ],
    ["envelope (manifest.dsse.json)", OUT_DIR_LIMITS.envelope, "manifest.dsse.json", (o, n) => padTo(join(o, "manifest.dsse.json"), n)],
    ["sums (SHA256SUMS)", OUT_DIR_LIMITS.sums, "SHA256SUMS", (o, n) => padTo(join(o, "SHA256SUMS"), n)],
    ["byproduct (build.log)", OUT_DIR_LIMITS.byproduct, "build.log", (o, n, s) => (truncateSync(join(o, "build.log"), n), recordLog(o, s))],
  ];

  it.each(CASES)(
    "%s: %d bytes",
    async (_n, limit, file, grow) => {
      const s = await signed();
      grow(s.out, limit, s);
      expect(await outcome(checkOutDir(s.out, await loadVerifyingKey(s.pub)))).toBe("ok");
      grow(s.out, limit + 1, s);
      const refused = await outcome(checkOutDir(s.out, await loadVerifyingKey(s.pub)));
      expect(refused).toBe(
        `E_OUT_DIR_REFUSED expected ${join(s.out, file)} to be a regular file inside ${s.out}, found more than ${formatBytes(limit)}; it was not used`,
      );
    },
    60_000,
  );

  it(`a key file: ${KEY_MAX_BYTES} bytes`, async () => {
    const s = await signed();
    const key = await loadVerifyingKey(s.pub);
    const pem = join(tempDir(), "key.pub");
    writeFileSync(pem, readFileSync(s.pub));
    padTo(pem, KEY_MAX_BYTES);
    expect((await loadVerifyingKey(pem)).keyid).toBe(key.keyid);
    padTo(pem, KEY_MAX_BYTES + 1);
    expect(await outcome(loadVerifyingKey(pem))).toBe(`E_KEY_READ expected a PEM public key file at ${pem}, found more than ${formatBytes(KEY_MAX_BYTES)}`);
  });

  it(`an envelope: ${MAX_ENVELOPE_SIGNATURES} signatures`, () => {
    const env = (n: number) =>
      JSON.stringify({ payloadType: "application/vnd.in-toto+json", payload: "e30=", signatures: Array.from({ length: n }, () => ({ sig: "AA==" })) });
    expect(parseEnvelope(env(MAX_ENVELOPE_SIGNATURES), "e.json").signatures).toHaveLength(MAX_ENVELOPE_SIGNATURES);
    expect(() => parseEnvelope(env(MAX_ENVELOPE_SIGNATURES + 1), "e.json")).toThrow(
      `expected e.json to be a DSSE envelope, found $.signatures: expected at most ${MAX_ENVELOPE_SIGNATURES} signatures, found ${MAX_ENVELOPE_SIGNATURES + 1}`,
    );
  });
});

describe("docs/threat-model.md states the numbers the code uses", () => {
  const doc = readFileSync(join(ROOT, "docs/threat-model.md"), "utf8").replace(/\s+/g, " ");
  it.each([
    ["`manifest.json` and `verdict.json`", formatBytes(OUT_DIR_LIMITS.statement)],
    ["`*.dsse.json` envelopes", formatBytes(OUT_DIR_LIMITS.envelope)],
    ["`SHA256SUMS`", formatBytes(OUT_DIR_LIMITS.sums)],
    ["the other files the manifest records a digest of (SBOMs, `build.log`)", formatBytes(OUT_DIR_LIMITS.byproduct)],
    ["key files", formatBytes(KEY_MAX_BYTES)],
    ["Signatures per envelope: at most", String(MAX_ENVELOPE_SIGNATURES)],
  ])("%s %s", (what, n) => {
    expect(doc).toContain(`${what} ${n}`);
  });
});
