import { describe, expect, it } from "vitest";
import { checkPin, parseInTotoManifest, parseSha256Sums } from "../../src/audit/pin.js";

const A = "a".repeat(64);
const B = "b".repeat(64);

describe("manifests", () => {
  it("parses sha256sum text and binary-mode lines, skipping others", () => {
    const e = parseSha256Sums(`${A}  linux/amd64/kubelet\n${B} *kubelet-arm64\n# comment\n\n`, "SHA256SUMS");
    expect(e).toEqual([
      { sha256: A, name: "linux/amd64/kubelet", source: "SHA256SUMS" },
      { sha256: B, name: "kubelet-arm64", source: "SHA256SUMS" },
    ]);
  });

  it("parses in-toto subjects (any v1 Statement, read strictly)", () => {
    const st = (subject: unknown[], extra = {}) => JSON.stringify({ _type: "https://in-toto.io/Statement/v1", subject, predicateType: "https://example.com/p/v1", predicate: {}, ...extra });
    const text = st([{ name: "kubelet", digest: { sha256: A.toUpperCase() } }, { name: "x", digest: { sha512: B + B } }]);
    expect(parseInTotoManifest(text, "manifest.json")).toEqual([{ name: "kubelet", sha256: A, source: "manifest.json" }]);
    expect(() => parseInTotoManifest("{", "m.json")).toThrow(/expected m.json to be JSON/);
    expect(() => parseInTotoManifest("{}", "m.json")).toThrow(/subject/);
    // What the reference parser rejects: a short digest of a known algorithm, a field the Statement has no slot for.
    expect(() => parseInTotoManifest(st([{ name: "x", digest: { sha512: "00" } }]), "m.json")).toThrow(/sha512/);
    expect(() => parseInTotoManifest(st([{ name: "kubelet", digest: { sha256: A } }], { verdict: "patched" }), "m.json")).toThrow(/verdict/);
  });
});

describe("checkPin", () => {
  const catalog = { pins: { "1.20.15": { commit: "", image: "img", sha256: { "linux/amd64": A } } } };
  const subject = { sha256: A, path: "/opt/bin/kubelet", release: "1.20.15", platform: "linux/amd64" };

  it.each([
    ["a catalog pin with the same sha256", subject, [], "match"],
    ["a catalog pin with another sha256", { ...subject, sha256: B }, [], "mismatch"],
    ["no pin for the platform", { ...subject, platform: "linux/arm64" }, [], "unpinned"],
    ["no pin for the release", { ...subject, release: "1.20.14" }, [], "unpinned"],
    ["a manifest entry with the same digest", { ...subject, release: null }, [{ name: "kubelet", sha256: A, source: "S" }], "match"],
    ["a manifest entry of the same name and another digest", { ...subject, release: null }, [{ name: "linux/amd64/kubelet", sha256: B, source: "S" }], "mismatch"],
    ["a manifest that names other files only", { ...subject, release: null }, [{ name: "kubectl", sha256: B, source: "S" }], "unpinned"],
  ] as const)("%s → %s", (_n, s, manifest, status) => {
    expect(checkPin(s, catalog, manifest).status).toBe(status);
  });
});
