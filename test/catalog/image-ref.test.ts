import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { IMAGE_REFERENCE_MAX_LENGTH, IMAGE_REFERENCE_PATTERN, isImageReference } from "../../src/catalog/image-ref.js";
import { parseCatalog } from "../../src/catalog/load.js";
import { buildMatrix } from "../../src/catalog/matrix.js";
import type { Catalog } from "../../src/catalog/types.js";
import { checkImageReference } from "../../src/pipeline/docker.js";
import { cli, oneLineError, ROOT } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { fakeKubelet, writeOutDir } from "../pin/outdir-fixture.js";

const HOSTILE: [string, string][] = [
  ["an option", "-rm"],
  ["a privileged option", "--privileged"],
  ["an option with a value", "--volume=/:/host"],
  ["a space", "kube cross:v1"],
  ["a leading space", " registry.k8s.io/kube-cross:v1.15.5-1"],
  ["a newline", "registry.k8s.io/kube-cross:v1\n  script: [curl evil]"],
  ["a trailing newline", "registry.k8s.io/kube-cross:v1.15.5-1\n"],
  ["a tab", "kube-cross:\tv1"],
  ["a NUL", "kube-cross\u0000:v1"],
  ["10,000 characters", `a${"b".repeat(9_999)}`],
  ["one character too long", `${"a".repeat(IMAGE_REFERENCE_MAX_LENGTH - 6)}:v1.2.3`],
  ["upper case in the repository", "Registry.k8s.io/Kube-Cross:v1"],
  ["upper case in a path component", "example.com/Team/image:v1"],
  ["the empty string", ""],
  ["a short digest", "kube-cross@sha256:abc"],
  ["a digest in upper case", `kube-cross@sha256:${"A".repeat(64)}`],
  ["a tag starting with '-'", "kube-cross:-v1"],
  ["a tag longer than 128", `kube-cross:${"v".repeat(129)}`],
  ["a shell substitution", "kube-cross:$(id)"],
  ["a YAML flow", "{a: b}"],
  ["a path traversal", "../../etc/passwd"],
];

const GOOD: [string, string][] = [
  ["a registry, path and tag", "registry.k8s.io/build-image/kube-cross:v1.15.5-1"],
  ["a bare name", "golang"],
  ["a local name and tag", "kubelet-nokmem-toolchain:go1.19"],
  ["a registry with a port", "localhost:5000/kube-cross:v1"],
  ["a host:port first component", "myregistry:5000/team/image"],
  ["a digest reference", `registry.k8s.io/kube-cross@sha256:${"a".repeat(64)}`],
  ["a tag and a digest", `kube-cross:v1.13.15-1@sha256:${"0".repeat(64)}`],
  ["upper case in the tag", "kube-cross:V1_RC"],
  ["upper case in the registry host", "Registry.Example.com/kube-cross:v1"],
  ["an image id", `sha256:${"f".repeat(64)}`],
  ["a short image id", "0123456789ab"],
  ["separators", "a__b/c.d/e--f:t"],
  ["the longest accepted", `${"a".repeat(IMAGE_REFERENCE_MAX_LENGTH - 7)}:v1.2.3`],
];

describe("isImageReference: the one check of an image reference", () => {
  it.each(HOSTILE)("refuses %s", (_what, ref) => {
    expect(isImageReference(ref)).toBe(false);
    expect(() => checkImageReference(ref)).toThrow(expect.objectContaining({ code: "E_IMAGE_REF" }));
  });
  it.each(GOOD)("accepts %s", (_what, ref) => {
    expect(isImageReference(ref)).toBe(true);
  });
});

const SCHEMA = JSON.parse(readFileSync(join(ROOT, "versions.schema.json"), "utf8")) as { $defs: Record<string, { pattern?: string; maxLength?: number }> };
const CATALOG = JSON.parse(readFileSync(join(ROOT, "versions.json"), "utf8")) as Catalog;
const AFFECTED_LINE = CATALOG.lines.find((l) => l.strategy === "build-tag")!;
const PINNED = `${AFFECTED_LINE.line}.2`;

describe("the catalog schema holds the same check", () => {
  it("versions.schema.json's imageReference is IMAGE_REFERENCE_PATTERN and its length bound", () => {
    expect(SCHEMA.$defs.imageReference).toMatchObject({ pattern: IMAGE_REFERENCE_PATTERN, maxLength: IMAGE_REFERENCE_MAX_LENGTH });
  });
  it.each(HOSTILE.filter(([, ref]) => ref !== ""))("a line image that is %s is refused on load", (_what, ref) => {
    const c = structuredClone(CATALOG);
    c.lines[0]!.image = ref;
    expect(() => parseCatalog(JSON.stringify(c))).toThrow(
      expect.objectContaining({ code: "E_CATALOG_SCHEMA", message: expect.stringContaining("/lines/0/image: expected an image reference") }),
    );
  });
  it.each(HOSTILE.filter(([, ref]) => ref !== ""))("a pin image that is %s is refused on load", (_what, ref) => {
    const c = structuredClone(CATALOG);
    c.pins = { [PINNED]: { commit: "", image: ref, sha256: {} } };
    expect(() => parseCatalog(JSON.stringify(c))).toThrow(
      expect.objectContaining({ code: "E_CATALOG_SCHEMA", message: expect.stringContaining(`/pins/${PINNED}/image: expected an image reference`) }),
    );
  });
  it('a pin without an image ("") and a pin with a digest reference load', () => {
    const c = structuredClone(CATALOG);
    c.pins = {
      [PINNED]: { commit: "", image: "", sha256: {} },
      [`${AFFECTED_LINE.line}.3`]: { commit: "", image: `kube-cross@sha256:${"a".repeat(64)}`, sha256: {} },
    };
    expect(() => parseCatalog(JSON.stringify(c))).not.toThrow();
  });
  it("a 10,000-character image is quoted bounded, never whole", () => {
    const c = structuredClone(CATALOG);
    c.lines[0]!.image = "x".repeat(10_000);
    let message = "";
    try {
      parseCatalog(JSON.stringify(c));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain("(10000 characters)");
    expect(message.length).toBeLessThan(400);
  });
});

describe("the matrix emits no entry with a bad image", () => {
  it.each(HOSTILE)("--image that is %s is a usage error", (_what, ref) => {
    expect(() => buildMatrix(CATALOG, { releases: [PINNED], image: ref })).toThrow(expect.objectContaining({ code: "E_IMAGE_REF", exitCode: 2 }));
  });
  it("a catalog object that bypassed the loader is still checked before emitting (exit 5)", () => {
    const c = structuredClone(CATALOG);
    c.pins = { [PINNED]: { commit: "", image: "--privileged", sha256: {} } };
    expect(() => buildMatrix(c)).toThrow(expect.objectContaining({ code: "E_CATALOG_SCHEMA", exitCode: 5 }));
  });
});

describe("the CLI refuses them wherever a reference enters", () => {
  const flagged: [string, string][] = HOSTILE.filter(([what]) =>
    ["an option", "a privileged option", "a space", "a newline", "10,000 characters", "upper case in the repository"].includes(what),
  );
  it.each(flagged)("matrix --image that is %s exits 2 with one line, nothing on stdout", (_what, ref) => {
    const r = cli(["matrix", "--releases", PINNED, `--image=${ref}`, "--format", "github"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(oneLineError(r)).toMatch(/expected --image to be an image reference/);
  });
  it.each(flagged)("build --image that is %s exits 2 before anything runs", (_what, ref) => {
    const r = cli(["build", "--version", PINNED, "--source", "/nonexistent", `--image=${ref}`, "--dry-run"]);
    expect(r.code).toBe(2);
    expect(oneLineError(r)).toMatch(/expected --image to be an image reference/);
  });
  it.each(flagged)("image build --tag that is %s exits 2", (_what, ref) => {
    const r = cli(["image", "build", `--tag=${ref}`]);
    expect(r.code).toBe(2);
    expect(oneLineError(r)).toMatch(/expected --tag as a Docker image name/);
  });
  it.each(flagged)("a catalog whose pin image is %s: matrix exits 5 and emits nothing", (_what, ref) => {
    const dir = tempDir();
    const c = structuredClone(CATALOG);
    c.pins = { [PINNED]: { commit: "", image: ref, sha256: {} } };
    const file = join(dir, "versions.json");
    writeFileSync(file, JSON.stringify(c));
    const r = cli(["matrix", "--format", "gitlab"], { KUBELET_NOKMEM_CATALOG: file });
    expect(r.code).toBe(5);
    expect(r.stdout).toBe("");
    expect(oneLineError(r)).toMatch(/image: expected an image reference/);
  });
});

describe("pin refuses an out dir whose manifest names a bad image", () => {
  it.each([
    ["an option", "--privileged"],
    ["a newline", "kube-cross:v1\n  script: [id]"],
    ["upper case", "Kube-Cross:v1"],
  ])("%s: exit 5, versions.json unchanged", (_what, ref) => {
    const dir = tempDir();
    const catalog = join(dir, "versions.json");
    const before = JSON.stringify({ ...CATALOG, pins: {} }, null, 2);
    writeFileSync(catalog, before);
    writeOutDir(join(dir, "out"), PINNED, { "linux/amd64": fakeKubelet("amd64") }, { image: ref });
    const r = cli(["pin", join(dir, "out"), "--catalog", catalog]);
    expect(r.code).toBe(5);
    expect(oneLineError(r)).toMatch(/image: expected an image reference/);
    expect(readFileSync(catalog, "utf8")).toBe(before);
  });
});
