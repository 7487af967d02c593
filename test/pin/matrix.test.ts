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
    expect(buildMatrix(pinned, { platforms: ["linux/arm64"], lines: ["1.16", "1.18"] }).map((e) => e.slug)).toEqual([
      "1.16.15-linux-arm64",
      "1.18.20-linux-arm64",
    ]);
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

  it("lists releases named with --releases even without a pin (bootstrap)", () => {
    const entries = buildMatrix(base, { releases: ["1.20.15", "v1.16.15"], image: "kubelet-nokmem-toolchain:go1.19" });
    expect(entries.map((e) => `${e.slug} ${e.strategy} ${e.sha256 || "unpinned"} ${e.image}`)).toEqual([
      "1.16.15-linux-amd64 kmem-override unpinned kubelet-nokmem-toolchain:go1.19",
      "1.20.15-linux-amd64 build-tag unpinned kubelet-nokmem-toolchain:go1.19",
    ]);
    // Without --image an unpinned release builds with its line's image.
    expect(buildMatrix(base, { releases: ["1.20.15"] })[0]!.image).toBe(base.lines.find((l) => l.line === "1.20")!.image);
  });
  it("merges --releases with the pins, and --unpinned keeps only what has no checksum yet", () => {
    const cat: Catalog = { ...base, pins: { "1.16.15": { commit: "", image: "img:pinned", sha256: { "linux/amd64": "a".repeat(64) } } } };
    expect(buildMatrix(cat, { releases: ["1.16.15", "1.18.20"], image: "img:new" }).map((e) => `${e.version} ${e.image}`)).toEqual([
      "1.16.15 img:pinned",
      "1.18.20 img:new",
    ]);
    expect(buildMatrix(cat, { releases: ["1.16.15", "1.18.20"], unpinned: true }).map((e) => e.version)).toEqual(["1.18.20"]);
    expect(buildMatrix(cat, { unpinned: true })).toEqual([]);
    expect(buildMatrix(pinned, { unpinned: true, lines: ["1.16"] }).map((e) => e.slug)).toEqual(["1.16.15-linux-amd64", "1.16.15-linux-arm64"]);
  });
  it.each([
    [["1.16"], /exact releases/],
    [["1.99.1"], /catalog covers/],
    [["1.22.17"], /not affected/],
    [["banana"], /Kubernetes version/],
  ])("rejects --releases %j", (releases, msg) => {
    expect(() => buildMatrix(base, { releases })).toThrow(msg);
  });
  it("adds a propose job to the GitLab child pipeline only when something is unpinned", () => {
    const fresh = gitlabChildPipeline(buildMatrix(base, { releases: ["1.16.15"] }));
    expect(fresh["propose pins"]).toEqual({ extends: ".kubelet-nokmem-propose", variables: { KUBE_UNPINNED: "1.16.15-linux-amd64" } });
    expect(fresh["kubelet 1.16.15 linux/amd64"]).toMatchObject({ variables: { KUBE_SLUG: "1.16.15-linux-amd64", KUBE_SHA256: "" } });
    const done = gitlabChildPipeline(buildMatrix({ ...base, pins: { "1.16.15": { commit: "", image: "i", sha256: { "linux/amd64": "b".repeat(64) } } } }));
    expect(done).not.toHaveProperty("propose pins");
  });
  it("adds a package job to the GitLab child pipeline only when some kubelet is pinned, naming the pinned ones", () => {
    const mixed = gitlabChildPipeline(
      buildMatrix({ ...base, pins: { "1.16.15": { commit: "", image: "i", sha256: { "linux/amd64": "b".repeat(64) } } } }, { releases: ["1.20.15"] }),
    );
    expect(mixed["package repository"]).toEqual({ extends: ".kubelet-nokmem-package", variables: { KUBE_PINNED: "1.16.15-linux-amd64" } });
    expect(gitlabChildPipeline(buildMatrix(base, { releases: ["1.16.15"] }))).not.toHaveProperty("package repository");
    expect(gitlabChildPipeline([])).not.toHaveProperty("package repository");
  });
});
