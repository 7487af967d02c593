import { describe, expect, it } from "vitest";
import { checkVersionStamp, judgeByMarkers, MARKERS, versionFileContent } from "../../src/build/steps.js";

const bin = (...parts: string[]) => Buffer.from(`\x7fELF junk ${parts.join(" junk ")} junk`);

describe("versionFileContent", () => {
  it("writes shell assignments version.sh can source, tree state clean", () => {
    expect(versionFileContent("v1.16.15", "abc")).toBe(
      "KUBE_GIT_COMMIT='abc'\nKUBE_GIT_TREE_STATE='clean'\nKUBE_GIT_VERSION='v1.16.15'\nKUBE_GIT_MAJOR='1'\nKUBE_GIT_MINOR='16'\n",
    );
    expect(versionFileContent("v1.9.0", null)).toContain("KUBE_GIT_COMMIT=''\n");
  });
});

describe("judgeByMarkers", () => {
  const rc7 = { affected: true, kmemLayout: "split-rc7+" as const };
  it.each([
    ["enabled rc7+ build", bin(MARKERS.kmemLimitFile, MARKERS.notSupported), rc7, "kmem-enabled"],
    ["disabled rc7+ build", bin(MARKERS.disabledBuild), rc7, "nokmem"],
    ["rc7+ build with no markers", bin(), rc7, "unknown"],
    ["rc6 disabled build (known by absence)", bin(), { affected: true, kmemLayout: "split-rc6" as const }, "nokmem"],
    ["stubbed pre-split build", bin(), { affected: true, kmemLayout: "pre-split" as const }, "nokmem"],
    ["pre-split build left alone", bin(MARKERS.kmemLimitFile, MARKERS.childrenJoined), { affected: true, kmemLayout: "pre-split" as const }, "kmem-enabled"],
    ["release that is not affected", bin(MARKERS.kmemLimitFile), { affected: false, kmemLayout: "absent" as const }, "not-affected"],
  ])("%s → %s", (_name, bytes, res, verdict) => {
    expect(judgeByMarkers(bytes, res).verdict).toBe(verdict);
  });
});

describe("checkVersionStamp", () => {
  it.each([
    [bin("v1.16.15"), true],
    [bin("v1.16.15-dirty"), false],
    [bin("v1.16.150"), false],
    [bin("v1.16.150", "v1.16.15"), true],
    [bin("v1.16.1"), false],
  ])("%#", (bytes, ok) => expect(checkVersionStamp(bytes, "v1.16.15").ok).toBe(ok));
});
