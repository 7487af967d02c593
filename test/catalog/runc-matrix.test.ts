import { describe, expect, it } from "vitest";
import { loadCatalog } from "../../src/catalog/load.js";
import { buildMatrix, gitlabChildPipeline } from "../../src/catalog/matrix.js";
import type { Catalog } from "../../src/catalog/types.js";

const bundled = loadCatalog();
const pin = (sha: string) => ({ commit: "", image: "img", sha256: { "linux/amd64": sha } });
const mixed: Catalog = {
  ...bundled,
  pins: { "1.20.15": pin("a".repeat(64)) },
  runcPins: { "1.0.0-rc93": pin("b".repeat(64)), "1.0.0-rc10": pin("c".repeat(64)), "1.0.0-rc94": pin("d".repeat(64)) },
};

describe("the matrix with runc entries beside kubelet entries", () => {
  it("every entry names its product; runc pins come after kubelet's, in runc's own order (rc10 before rc93), unaffected ones left out", () => {
    expect(buildMatrix(mixed).map((e) => [e.product, e.version, e.strategy, e.slug, e.sha256.slice(0, 1)])).toEqual([
      ["kubelet", "1.20.15", "build-tag", "1.20.15-linux-amd64", "a"],
      ["runc", "1.0.0-rc10", "runc-build-tag", "runc-1.0.0-rc10-linux-amd64", "c"],
      ["runc", "1.0.0-rc93", "runc-build-tag", "runc-1.0.0-rc93-linux-amd64", "b"],
    ]);
    expect(buildMatrix(mixed, { includeUnaffected: true }).map((e) => e.version)).toContain("1.0.0-rc94");
  });

  it("--releases runc@X bootstraps a runc release without a pin, with its line's image", () => {
    const e = buildMatrix(bundled, { releases: ["1.20.15", "runc@v1.0.0-rc5"], unpinned: true });
    expect(e.map((x) => [x.product, x.version, x.strategy, x.image])).toEqual([
      ["kubelet", "1.20.15", "build-tag", expect.any(String)],
      ["runc", "1.0.0-rc5", "runc-stub", "kubelet-nokmem-toolchain:go1.19-runc"],
    ]);
  });

  it("filters by runc line and strategy, and refuses an unaffected or unknown runc release", () => {
    expect(buildMatrix(mixed, { lines: ["1.0.0-rc93"] }).map((e) => e.version)).toEqual(["1.0.0-rc93"]);
    expect(buildMatrix(mixed, { strategies: ["runc-build-tag"] }).map((e) => e.product)).toEqual(["runc", "runc"]);
    expect(() => buildMatrix(bundled, { releases: ["runc@1.0.0-rc94"] })).toThrow(/expected runc releases that need a nokmem build, found 1\.0\.0-rc94/);
    expect(() => buildMatrix(bundled, { releases: ["runc@banana"] })).toThrow(/expected a runc version/);
  });

  it("the GitLab child pipeline names each job by product and passes KUBE_PRODUCT", () => {
    const child = gitlabChildPipeline(buildMatrix(mixed));
    expect(Object.keys(child).filter((k) => k !== "include")).toEqual([
      "kubelet 1.20.15 linux/amd64",
      "runc 1.0.0-rc10 linux/amd64",
      "runc 1.0.0-rc93 linux/amd64",
      "package repository",
    ]);
    // The package job packages the pinned kubelet only: runc is installed from its folder, never packaged.
    expect(child["package repository"]).toEqual({ extends: ".kubelet-nokmem-package", variables: { KUBE_PINNED: "1.20.15-linux-amd64" } });
    expect((child["runc 1.0.0-rc93 linux/amd64"] as { variables: Record<string, string> }).variables).toMatchObject({
      KUBE_PRODUCT: "runc",
      KUBE_VERSION: "1.0.0-rc93",
      KUBE_SLUG: "runc-1.0.0-rc93-linux-amd64",
    });
  });
});
