import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KUBELET_PLATFORMS, parsePlatforms } from "../../src/catalog/platforms.js";
import { ROOT } from "../helpers/cli.js";

describe("parsePlatforms (build, verify and matrix share it)", () => {
  it.each([
    [undefined, ["linux/amd64"]],
    ["linux/amd64", ["linux/amd64"]],
    ["linux/arm64,linux/amd64", ["linux/arm64", "linux/amd64"]],
    [" linux/arm64 , linux/arm64,linux/s390x", ["linux/arm64", "linux/s390x"]],
    ["linux/arm,linux/ppc64le", ["linux/arm", "linux/ppc64le"]],
  ])("%j → %j", (input, want) => expect(parsePlatforms(input)).toEqual(want));

  it.each([
    ["linux/386", "a client platform: upstream never builds a kubelet for it"],
    ["windows/amd64", "kubelet-nokmem builds Linux kubelets only"],
    ["linux", "not an os/arch pair"],
    ["", "an empty --platform is a mistake, not the default"],
    [",", "no platform at all"],
    ["linux/amd64,linux/mips", "one bad entry spoils the list"],
  ])("refuses %j (%s) with E_PLATFORM", (input) => {
    expect(() => parsePlatforms(input)).toThrow(expect.objectContaining({ code: "E_PLATFORM", exitCode: 2 }));
  });

  it("accepts exactly the platforms versions.schema.json can pin", () => {
    const schema = readFileSync(join(ROOT, "versions.schema.json"), "utf8");
    const pattern = new RegExp(/"pattern": "(\^linux\/[^"]+)"/.exec(schema)![1]!);
    for (const p of KUBELET_PLATFORMS) expect(pattern.test(p), p).toBe(true);
    for (const p of ["linux/386", "windows/amd64"]) expect(pattern.test(p), p).toBe(false);
  });
});
