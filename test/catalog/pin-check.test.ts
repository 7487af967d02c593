/**
 * The pin check (src/catalog/pin-check.ts), table-driven: which recorded
 * digests vouch (pins) and which only cross-check (records), how case is
 * compared, what people are told, and which manifest entries speak about a
 * binary.
 */
import { describe, expect, it } from "vitest";
import { catalogPin, checkPin, manifestPins, pinReasons, type Recorded } from "../../src/catalog/pin-check.js";

const A = "a".repeat(64);
const B = "b".repeat(64);
const pin = (expected: string, source = "versions.json"): Recorded => ({ source, name: "1.20.15 linux/amd64", expected, authority: "pin" });
const record = (expected: string, source = "/out/SHA256SUMS"): Recorded => ({ source, name: "linux/amd64/kubelet", expected, authority: "record" });

describe("checkPin", () => {
  it.each([
    ["nothing recorded", [], "unpinned"],
    ["a pin that agrees", [pin(A)], "match"],
    ["a pin that agrees, in upper case", [pin(A.toUpperCase())], "match"],
    ["a pin that disagrees", [pin(B)], "mismatch"],
    ["a record that agrees: it cannot vouch", [record(A)], "unpinned"],
    ["a record that disagrees: it can still refuse", [record(B)], "mismatch"],
    ["a pin and a record that agree", [record(A), pin(A)], "match"],
    ["an agreeing pin and a disagreeing record", [pin(A), record(B)], "mismatch"],
    ["a disagreeing pin and an agreeing record", [pin(B), record(A)], "mismatch"],
  ] as const)("%s → %s", (_what, recorded, status) => {
    expect(checkPin(A, recorded).status).toBe(status);
  });

  it("compares the actual digest case-insensitively too, and lists one check per recorded digest", () => {
    const r = checkPin(A.toUpperCase(), [pin(A), record(B, "/out/manifest.json")]);
    expect(r.checks).toEqual([
      { source: "versions.json", name: "1.20.15 linux/amd64", expected: A, status: "match" },
      { source: "/out/manifest.json", name: "linux/amd64/kubelet", expected: B, status: "mismatch" },
    ]);
  });
});

describe("pinReasons", () => {
  it("says there is no pin when unpinned", () => {
    expect(pinReasons(checkPin(A, []), A)).toEqual(["no pin for this release and platform"]);
  });
  it("says nothing when everything matches", () => {
    expect(pinReasons(checkPin(A, [pin(A), record(A)]), A)).toEqual([]);
  });
  it("names each disagreement by where it was recorded", () => {
    const r = checkPin(A, [pin(B), record(B, "/out/SHA256SUMS"), record(B, "/out/manifest.json"), record(A, "/out/other.json")]);
    expect(pinReasons(r, A)).toEqual([`pin is ${B}, file is ${A}`, `SHA256SUMS records ${B}, file is ${A}`, `manifest records ${B}, file is ${A}`]);
  });
});

describe("catalogPin", () => {
  const catalog = { pins: { "1.20.15": { commit: "", image: "img", sha256: { "linux/amd64": A } } } };
  it.each([
    ["the pinned release and platform", "1.20.15", "linux/amd64", [{ source: "versions.json", name: "1.20.15 linux/amd64", expected: A, authority: "pin" }]],
    ["another platform", "1.20.15", "linux/arm64", []],
    ["another release", "1.20.14", "linux/amd64", []],
    ["no release", null, "linux/amd64", []],
    ["no platform", "1.20.15", null, []],
  ] as const)("%s", (_what, release, platform, expected) => {
    expect(catalogPin(catalog, release, platform)).toEqual(expected);
  });
  it("no catalog, no pin", () => {
    expect(catalogPin(null, "1.20.15", "linux/amd64")).toEqual([]);
    expect(catalogPin(null, "1.0.0-rc93", "linux/amd64", "runc")).toEqual([]);
  });

  // A runc's pin is in runcPins, a kubelet's in pins: the same version string never reads the other's.
  const both = {
    pins: { "1.0.0-rc93": { commit: "", image: "img", sha256: { "linux/amd64": A } } },
    runcPins: { "1.0.0-rc93": { commit: "", image: "img", sha256: { "linux/amd64": B } } },
  };
  it("a runc reads runcPins, named as runc", () => {
    expect(catalogPin(both, "1.0.0-rc93", "linux/amd64", "runc")).toEqual([
      { source: "versions.json", name: "runc 1.0.0-rc93 linux/amd64", expected: B, authority: "pin" },
    ]);
  });
  it("a kubelet (the default) reads pins, never runcPins", () => {
    expect(catalogPin(both, "1.0.0-rc93", "linux/amd64")).toEqual([{ source: "versions.json", name: "1.0.0-rc93 linux/amd64", expected: A, authority: "pin" }]);
    expect(catalogPin({ pins: {}, runcPins: both.runcPins }, "1.0.0-rc93", "linux/amd64", "kubelet")).toEqual([]);
  });
  it("a runc with no runcPins has no pin, whatever pins holds", () => {
    expect(catalogPin({ pins: both.pins }, "1.0.0-rc93", "linux/amd64", "runc")).toEqual([]);
  });
});

describe("manifestPins", () => {
  const entry = (name: string, sha256: string) => ({ name, sha256, source: "/ref/SHA256SUMS" });
  it.each([
    [
      "an entry with the binary's digest, whatever its name",
      "/opt/bin/kubelet",
      [entry("elsewhere/kubelet-x", A), entry("kubelet", B)],
      ["elsewhere/kubelet-x"],
    ],
    ["else an entry of the same path", "out/linux/amd64/kubelet", [entry("./out/linux/amd64/kubelet", B)], ["./out/linux/amd64/kubelet"]],
    ["else an entry of the same file name", "/opt/bin/kubelet", [entry("kubelet", B)], ["kubelet"]],
    ["else an entry ending in /file name", "/opt/bin/kubelet", [entry("linux/amd64/kubelet", B)], ["linux/amd64/kubelet"]],
    ["not an entry whose name only ends like it", "/opt/bin/kubelet", [entry("linux/amd64/not-kubelet", B)], []],
    ["not other files", "/opt/bin/kubelet", [entry("kubectl", B)], []],
    ["a trailing slash in the path does not matter", "/opt/bin/kubelet/", [entry("kubelet", B)], ["kubelet"]],
  ] as const)("%s", (_what, path, manifest, names) => {
    const r = manifestPins(A, path, manifest);
    expect(r.map((p) => p.name)).toEqual(names);
    for (const p of r) expect(p).toMatchObject({ source: "/ref/SHA256SUMS", authority: "pin" });
  });
  it("carries the entry's digest as the expected one", () => {
    expect(manifestPins(A, "/opt/bin/kubelet", [entry("kubelet", B)])).toEqual([{ source: "/ref/SHA256SUMS", name: "kubelet", expected: B, authority: "pin" }]);
  });
});
