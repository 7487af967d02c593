import { describe, expect, it } from "vitest";
import { loadCatalog } from "../../src/catalog/load.js";
import { resolve } from "../../src/catalog/resolve.js";
import { parsePlatforms } from "../../src/catalog/platforms.js";
import { cacheVolumeName, makeInvocation } from "../../src/pipeline/make-invocation.js";
import { chownVolumeArgs, dockerRunArgs } from "../../src/pipeline/docker.js";
import { PLAN_OPTIONS, TREE, v1_16_15DockerRun } from "./fixtures.js";

const catalog = loadCatalog();
const image = { ref: "kubelet-nokmem-toolchain:go1.19", id: "sha256:90aade4f00cbb57fa36d7e3cafaef3fae0851f55dfd55f294f9fefff8cf3f8f5", go: "1.19.8" };
const opts = PLAN_OPTIONS;
const tree = TREE;

describe("plan", () => {
  it("builds v1.16.15 in Docker with the tag, module mode off, the version file and the commit time", () => {
    const p = makeInvocation(resolve(catalog, "v1.16.15"), tree, image, opts);
    expect(dockerRunArgs(p)).toEqual(v1_16_15DockerRun("kubelet-nokmem-gocache-1.16-90aade4f00cb", image.id));
    expect(p.outputs).toEqual([{ platform: "linux/amd64", path: "_output/local/bin/linux/amd64/kubelet" }]);
    expect(p.gitVersion).toBe("v1.16.15");
  });

  it.each([
    ["1.13.12", undefined, "off"],
    ["1.14.10", "-tags=nokmem", "off"],
    ["1.15.12", "-tags=nokmem", "off"],
    ["1.20.15", "-tags=nokmem", "off"],
    ["1.22.17", undefined, "off"],
  ])("v%s gets GOFLAGS=%s and GO111MODULE=%s from the catalog", (v, goflags, module) => {
    const env = new Map(makeInvocation(resolve(catalog, v), tree, image, opts).env);
    expect(env.get("GOFLAGS")).toBe(goflags);
    expect(env.get("GO111MODULE")).toBe(module);
    // Never BUILDTAGS: the Kubernetes Makefile has no such variable.
    expect(env.has("BUILDTAGS")).toBe(false);
  });

  it("lets --source-date-epoch win over the commit time", () => {
    const p = makeInvocation(resolve(catalog, "1.20.15"), tree, image, { ...opts, sourceDateEpoch: 42 });
    expect(new Map(p.env).get("SOURCE_DATE_EPOCH")).toBe("42");
  });

  it("lists every platform for make and one output per platform", () => {
    const p = makeInvocation(resolve(catalog, "1.20.15"), tree, image, { ...opts, platforms: ["linux/amd64", "linux/arm64"] });
    expect(new Map(p.env).get("KUBE_BUILD_PLATFORMS")).toBe("linux/amd64 linux/arm64");
    expect(p.outputs.map((o) => o.path)).toEqual(["_output/local/bin/linux/amd64/kubelet", "_output/local/bin/linux/arm64/kubelet"]);
  });

  it("runs the same make on the host for --runner local, with host paths and a cache folder", () => {
    const p = makeInvocation(resolve(catalog, "1.20.15"), tree, { ref: "local", id: null, go: "1.19.8" }, { ...opts, runner: "local" });
    expect(p.command).toEqual(["make", "WHAT=cmd/kubelet"]);
    expect(p.mounts).toEqual([]);
    expect(p.user).toBeNull();
    expect(new Map(p.env).get("KUBE_GIT_VERSION_FILE")).toBe("/work/tree/_output/kubelet-nokmem/version.env");
    expect(new Map(p.env).has("HOME")).toBe(false);
    expect(p.goCache).toEqual({ kind: "dir", name: "/cache/gocache/1.20-local-1.19.8", target: "/work/tree/_output/local/go/cache" });
    expect(() => dockerRunArgs(p)).toThrow();
  });

  it("refuses a bare line", () => {
    expect(() => makeInvocation(resolve(catalog, "1.20"), tree, image, opts)).toThrow(/exact release/);
  });

  it("names one cache volume per line and image", () => {
    expect(cacheVolumeName("1.16", "sha256:abcdef0123456789")).toBe("kubelet-nokmem-gocache-1.16-abcdef012345");
    expect(cacheVolumeName("1.16", null)).toBe("kubelet-nokmem-gocache-1.16-<image id>");
  });

  it("hands a new cache volume to the build user with a one-off chown", () => {
    expect(chownVolumeArgs("vol", "img", 1000, 100)).toEqual([
      "run",
      "--rm",
      "--network",
      "none",
      "--user",
      "0:0",
      "-v",
      "vol:/c",
      "--entrypoint",
      "chown",
      "img",
      "1000:100",
      "/c",
    ]);
  });
});

describe("parsePlatforms", () => {
  it.each([
    [undefined, ["linux/amd64"]],
    ["linux/amd64", ["linux/amd64"]],
    ["linux/amd64, linux/arm64,linux/amd64", ["linux/amd64", "linux/arm64"]],
  ])("%s → %j", (input, want) => expect(parsePlatforms(input)).toEqual(want));

  it.each(["windows/amd64", "linux", "", ","])("rejects %j", (input) => {
    // An empty --platform is a mistake, not the default.
    expect(() => parsePlatforms(input)).toThrow(/expected platforms/);
  });

  it("no --platform at all is the default", () => expect(parsePlatforms(undefined)).toEqual(["linux/amd64"]));
});
