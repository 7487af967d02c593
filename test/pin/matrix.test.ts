import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseCatalog } from "../../src/catalog/load.js";
import { buildMatrix, githubMatrix, gitlabChildPipeline } from "../../src/catalog/matrix.js";
import type { Catalog } from "../../src/catalog/types.js";
import { ROOT } from "../helpers/cli.js";

const base = parseCatalog(readFileSync(join(ROOT, "versions.json"), "utf8"));
const pinned: Catalog = {
  ...base,
  pins: {
    "1.13.12": { commit: "", image: "", sha256: {} },
    "1.16.15": { commit: "", image: "img:1.16", sha256: { "linux/arm64": "", "linux/amd64": "" } },
    "1.18.20": { commit: "", image: "", sha256: { "linux/amd64": "" } },
    "1.22.17": { commit: "", image: "", sha256: { "linux/amd64": "" } },
  },
};

describe("buildMatrix", () => {
  it("lists affected pinned releases × platforms, in release order", () => {
    expect(buildMatrix(pinned).map((e) => `${e.version} ${e.platform} ${e.strategy}`)).toEqual([
      "1.13.12 linux/amd64 vendor-stub",
      "1.16.15 linux/amd64 kmem-override",
      "1.16.15 linux/arm64 kmem-override",
      "1.18.20 linux/amd64 build-tag",
    ]);
  });
  it("filters by line, strategy and platform", () => {
    expect(buildMatrix(pinned, { lines: ["1.18"] }).map((e) => e.version)).toEqual(["1.18.20"]);
    expect(buildMatrix(pinned, { strategies: ["vendor-stub"] }).map((e) => e.version)).toEqual(["1.13.12"]);
    expect(buildMatrix(pinned, { platforms: ["linux/arm64"], lines: ["1.16", "1.18"] }).map((e) => e.slug)).toEqual(["1.16.15-linux-arm64", "1.18.20-linux-arm64"]);
    expect(buildMatrix(pinned, { includeUnaffected: true }).map((e) => e.version)).toContain("1.22.17");
  });
  it("takes the pin's image over the line's", () => {
    expect(buildMatrix(pinned, { lines: ["1.16"] })[0]!.image).toBe("img:1.16");
    expect(buildMatrix(pinned, { lines: ["1.18"] })[0]!.image).toBe(base.lines.find((l) => l.line === "1.18")!.image);
  });
  it.each([
    [{ lines: ["1.99"] }, /release line/],
    [{ strategies: ["magic"] }, /strategy/],
  ])("rejects an unknown filter %j", (filter, msg) => {
    expect(() => buildMatrix(pinned, filter)).toThrow(msg);
  });
  it("formats for GitHub and GitLab", () => {
    const entries = buildMatrix(pinned);
    expect(githubMatrix(entries).include).toHaveLength(4);
    const child = gitlabChildPipeline(entries);
    expect(Object.keys(child).filter((k) => k.startsWith("kubelet "))).toHaveLength(4);
    expect(Object.keys(gitlabChildPipeline([]))).toContain("nothing to build");
  });
});
