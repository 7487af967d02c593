import { describe, expect, it } from "vitest";
import { loadCatalog } from "../../src/catalog/load.js";
import {
  BUILD_IMAGE_FILES,
  chooseImage,
  mapFrozenRegistry,
  parseBuildImage,
  REGISTRY_MOVES,
  toolchainMatches,
  type ImageInputs,
} from "../../src/tree/build-image.js";
import { goVersionFromCross } from "../../src/tree/release-version.js";
import { MEASURED_BUILD_IMAGES, treeFiles } from "../fixtures/k8s-tree.js";

describe("the build image a tree names", () => {
  it.each(MEASURED_BUILD_IMAGES.map((m) => [m.version, m] as const))("%s: the measured layout's FROM + cross/VERSION", (_v, m) => {
    const { files } = treeFiles({ era: m.era, version: m.version, buildImage: m.layout });
    const parsed = parseBuildImage({
      dockerfile: files[BUILD_IMAGE_FILES.dockerfile] ?? null,
      cross: files[BUILD_IMAGE_FILES.cross] ?? null,
      common: files[BUILD_IMAGE_FILES.common] ?? null,
    });
    expect(parsed).toEqual({ requested: m.requested, crossTag: m.layout.cross, expectedGo: m.go });
    expect(mapFrozenRegistry(parsed!.requested).ref).toBe(m.mapped);
  });

  it.each([
    ["no Dockerfile", { dockerfile: null, cross: "v1.15.5-1\n", common: null }],
    ["no cross/VERSION", { dockerfile: "FROM k8s.gcr.io/kube-cross:KUBE_BUILD_IMAGE_CROSS_TAG\n", cross: null, common: null }],
    [
      "a registry placeholder without build/common.sh",
      { dockerfile: "FROM KUBE_BASE_IMAGE_REGISTRY/kube-cross:KUBE_BUILD_IMAGE_CROSS_TAG\n", cross: "v1.13.15-1", common: null },
    ],
    ["no FROM at all", { dockerfile: "# nothing\nRUN true\n", cross: "v1.13.15-1", common: null }],
  ])("names nothing with %s", (_what, files) => {
    expect(parseBuildImage(files)).toBeNull();
  });

  it("skips comments and --platform, and adds the cross tag to a FROM without one", () => {
    expect(
      parseBuildImage({
        dockerfile: "# FROM nope\nFROM --platform=linux/amd64 gcr.io/google_containers/kube-cross AS base\n",
        cross: "v1.9.2-1",
        common: null,
      }),
    ).toEqual({
      requested: "gcr.io/google_containers/kube-cross:v1.9.2-1",
      crossTag: "v1.9.2-1",
      expectedGo: "1.9.2",
    });
  });

  it.each([
    ["k8s.gcr.io/kube-cross:v1.11.5-1", "registry.k8s.io/kube-cross:v1.11.5-1"],
    ["gcr.io/google_containers/kube-cross:v1.8.3-1", "registry.k8s.io/kube-cross:v1.8.3-1"],
    ["us.gcr.io/k8s-artifacts-prod/build-image/kube-cross:v1.13.15-1", "registry.k8s.io/build-image/kube-cross:v1.13.15-1"],
    ["registry.k8s.io/build-image/kube-cross:v1.15.5-1", "registry.k8s.io/build-image/kube-cross:v1.15.5-1"],
    ["127.0.0.1:5000/build-image/kube-cross:v1.15.5-1", "127.0.0.1:5000/build-image/kube-cross:v1.15.5-1"],
    ["k8s.gcr.io.evil.example/kube-cross:v1", "k8s.gcr.io.evil.example/kube-cross:v1"],
  ])("maps %s to %s", (from, to) => expect(mapFrozenRegistry(from).ref).toBe(to));

  it("keeps each registry move as data with its date and reference", () => {
    for (const m of REGISTRY_MOVES) {
      expect(m.to).toBe("registry.k8s.io");
      expect(m.since).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(m.reference).toMatch(/^https:\/\//);
    }
  });
});

describe("chooseImage: --image, then the pin, then the tree, then the catalog", () => {
  const tree = { requested: "k8s.gcr.io/build-image/kube-cross:v1.15.5-1", crossTag: "v1.15.5-1", expectedGo: "1.15.5" };
  const catalog = { image: "registry.k8s.io/build-image/kube-cross:v1.15.5-1", go: "1.15.5" };
  const pin = { commit: "", image: "registry.k8s.io/build-image/kube-cross@sha256:" + "a".repeat(64), imageId: "sha256:" + "b".repeat(64), sha256: {} };
  const base: ImageInputs = { runner: "docker", pin: null, tree: null, catalog };

  it.each([
    ["flag", { ...base, flag: "mine:1", pin, tree }, "mine:1"],
    ["pin", { ...base, pin, tree }, pin.image],
    ["tree", { ...base, tree }, "registry.k8s.io/build-image/kube-cross:v1.15.5-1"],
    ["catalog", base, catalog.image],
    ["local", { ...base, runner: "local" as const, flag: "mine:1", pin, tree }, "local"],
  ])("%s", (rule, inputs, ref) => {
    const c = chooseImage(inputs);
    expect(c).toMatchObject({ rule, ref });
    expect(c.why).toBeTruthy();
  });

  it("says where the expected Go comes from: the tree when it names one, else the catalog", () => {
    expect(chooseImage({ ...base, flag: "x:1", tree: { ...tree, expectedGo: "1.15.8" } })).toMatchObject({
      expectedGo: "1.15.8",
      expectedGoFrom: "build/build-image/cross/VERSION",
    });
    expect(chooseImage({ ...base, flag: "x:1" })).toMatchObject({ expectedGo: "1.15.5", expectedGoFrom: "catalog" });
  });

  it("records the tree's own name and the move when it maps a frozen registry", () => {
    expect(chooseImage({ ...base, tree })).toMatchObject({ requested: tree.requested, moved: { from: "k8s.gcr.io", to: "registry.k8s.io" } });
  });

  it("carries the pinned image id", () => expect(chooseImage({ ...base, pin }).pinnedId).toBe(pin.imageId));
});

describe("toolchainMatches", () => {
  it.each([
    ["1.15.5", "1.15.5", true],
    ["1.15.5", "1.19.8", false],
    ["1.15", "1.15.5", true],
    ["1.15.5", "1.15", false],
    [null, "1.19.8", null],
    ["1.15.5", null, null],
  ])("expected %s, found %s → %s", (e, f, want) => expect(toolchainMatches(e, f)).toBe(want));
});

describe("the catalog's per-line images are real upstream names and fallbacks only", () => {
  const catalog = loadCatalog();
  it.each(catalog.lines.map((l) => [`${l.line} ${l.range}`, l] as const))("%s", (_name, l) => {
    // Served by registry.k8s.io, never a frozen name.
    expect(mapFrozenRegistry(l.image).moved).toBeNull();
    expect(l.image).toMatch(/^registry\.k8s\.io\/(build-image\/)?kube-cross:v/);
    // The tag carries the Go version the line says.
    expect(goVersionFromCross(l.image.split(":").at(-1)!)).toBe(l.go);
  });
});
