import { describe, expect, it } from "vitest";
import { parseSha256Sums } from "../../src/artifact/checksums.js";
import { readStatement } from "../../src/artifact/manifest.js";
import { catalogPin, checkPin, manifestPins } from "../../src/catalog/pin-check.js";

const A = "a".repeat(64);
const B = "b".repeat(64);

describe("manifests", () => {
  it("a SHA256SUMS list of another tool: text and binary-mode lines, comments skipped", () => {
    const e = parseSha256Sums(`${A}  linux/amd64/kubelet\n${B} *kubelet-arm64\n# comment\n\n`, { skipInvalid: true });
    expect(e).toEqual([
      { sha256: A, name: "linux/amd64/kubelet" },
      { sha256: B, name: "kubelet-arm64" },
    ]);
  });

  it("a line that is not an entry is named by its number, never quoted (strict reading)", () => {
    expect(() => parseSha256Sums(`${A}  kubelet\nroot:x:0:0:secret\n`)).toThrow(/^line 2, which is not/);
    expect(() => parseSha256Sums(`${A}  kubelet\nroot:x:0:0:secret\n`)).not.toThrow(/secret/);
  });

  it("in-toto Statements are read strictly", () => {
    const st = (subject: unknown[], extra = {}) =>
      JSON.stringify({ _type: "https://in-toto.io/Statement/v1", subject, predicateType: "https://example.com/p/v1", predicate: {}, ...extra });
    expect(readStatement(st([{ name: "kubelet", digest: { sha256: A } }]), "manifest.json").subject).toHaveLength(1);
    expect(() => readStatement("{", "m.json")).toThrow(/expected m.json to be JSON/);
    expect(() => readStatement("root:x:0:0:secret", "m.json")).not.toThrow(/secret|root/);
    expect(() => readStatement("{}", "m.json")).toThrow(/subject/);
    // What the reference parser rejects: a short digest of a known algorithm, a field the Statement has no slot for.
    expect(() => readStatement(st([{ name: "x", digest: { sha512: "00" } }]), "m.json")).toThrow(/sha512/);
    expect(() => readStatement(st([{ name: "kubelet", digest: { sha256: A } }], { verdict: "patched" }), "m.json")).toThrow(/verdict/);
  });
});

describe("checkPin as the audit uses it (catalog pin and a reference manifest both vouch)", () => {
  const catalog = { pins: { "1.20.15": { commit: "", image: "img", sha256: { "linux/amd64": A } } } };
  const subject = { sha256: A, path: "/opt/bin/kubelet", release: "1.20.15", platform: "linux/amd64" };

  it.each([
    ["a catalog pin with the same sha256", subject, [], "match"],
    ["a catalog pin with another sha256", { ...subject, sha256: B }, [], "mismatch"],
    ["no pin for the platform", { ...subject, platform: "linux/arm64" }, [], "unpinned"],
    ["no pin for the release", { ...subject, release: "1.20.14" }, [], "unpinned"],
    ["a manifest entry with the same digest", { ...subject, release: null }, [{ name: "kubelet", sha256: A, source: "S" }], "match"],
    [
      "a manifest entry of the same name and another digest",
      { ...subject, release: null },
      [{ name: "linux/amd64/kubelet", sha256: B, source: "S" }],
      "mismatch",
    ],
    ["a manifest that names other files only", { ...subject, release: null }, [{ name: "kubectl", sha256: B, source: "S" }], "unpinned"],
  ] as const)("%s → %s", (_n, s, manifest, status) => {
    const recorded = [...catalogPin(catalog, s.release, s.platform), ...manifestPins(s.sha256, s.path, manifest)];
    expect(checkPin(s.sha256, recorded).status).toBe(status);
  });
});
