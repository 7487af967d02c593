/**
 * The SBOM of trees shaped like 1.18–1.22's vendor/modules.txt (replace
 * directives for every module, replace-only lines for modules never vendored,
 * staging modules, indirect modules, `## explicit`): one component per
 * vendored module, unique bom-refs, a version on every purl, dependsOn only
 * what the binary says it links — valid against the official CycloneDX 1.6
 * schema and the CycloneDX library's validator.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { productSbom, type LinkedModules, type NokmemChange } from "../../src/artifact/sbom.js";
import { modulesFromModulesTxt, readVendoredModules, type VendoredModules } from "../../src/tree/vendored-modules.js";
import { linkedModules } from "../../src/pipeline/steps.js";
import { parseModinfo } from "../../src/audit/buildinfo.js";
import { runcFromGoMod, runcFromModulesTxt } from "../../src/tree/runc-version.js";
import { ERA_FACTS, fixtureVendoredModules, treeFiles, type Era } from "../fixtures/k8s-tree.js";
import { tempDir } from "../helpers/tmp.js";
import { libraryValidatorErrors, officialSchemaErrors, referenceProblems } from "./cyclonedx.js";

const PINNED_ERAS: Era[] = ["1.18", "1.20", "1.22"];
const BUILD_TAG: NokmemChange = { kind: "build-setting", env: [["GOFLAGS", "-tags=nokmem"]] };
const GOPATH_MODE: LinkedModules = { known: false, reason: "the binary's Go build information has no module list (a GOPATH-mode build)" };

interface Component {
  "bom-ref": string;
  name: string;
  version?: string;
  purl?: string;
  properties?: { name: string; value: string }[];
}
interface Bom {
  components: Component[];
  dependencies: { ref: string; dependsOn?: string[] }[];
  metadata: { component: { properties: { name: string; value: string }[]; pedigree: { patches?: unknown[]; notes: string } } };
}

async function vendoredOf(era: Era): Promise<VendoredModules> {
  const root = tempDir("kn-sbom-");
  for (const [rel, text] of Object.entries(treeFiles({ era }).files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return readVendoredModules(root);
}

const sbom = (era: Era, vendored: VendoredModules, linked: LinkedModules, change: NokmemChange = BUILD_TAG) =>
  productSbom({
    product: "kubelet",
    version: ERA_FACTS[era].version,
    platform: "linux/amd64",
    sha256: "1".repeat(64),
    strategy: change.kind === "build-setting" ? "build-tag" : "none",
    go: "1.19.8",
    vendored,
    linked,
    change,
    tool: { name: "kubelet-nokmem", version: "0.1.0" },
    timestamp: new Date("2024-01-01T00:00:00Z"),
  });

const property = (c: { properties?: { name: string; value: string }[] }, name: string) => c.properties?.find((p) => p.name === name)?.value;

describe.each(PINNED_ERAS)("a %s-era vendor/modules.txt", (era) => {
  const text = treeFiles({ era }).files["vendor/modules.txt"]!;
  const expected = fixtureVendoredModules(era);

  it("has the real file's parts: replace-only lines, staging replacements, a module replaced by another, indirect modules", () => {
    expect(text).toMatch(/^# k8s\.io\/api v0\.0\.0 => \.\/staging\/src\/k8s\.io\/api$/m);
    expect(text).toMatch(/^# k8s\.io\/api => \.\/staging\/src\/k8s\.io\/api$/m);
    expect(text).toMatch(/^# k8s\.io\/sample-apiserver => \.\/staging\/src\/k8s\.io\/sample-apiserver$/m);
    expect(text).toMatch(/^# github\.com\/golang\/mock => github\.com\/golang\/mock v\S+$/m);
    expect(text).toMatch(/^# github\.com\/example\/jsonpatch v\S+ => github\.com\/example-fork\/jsonpatch v\S+$/m);
    // go.mod's go directive is 1.13 in 1.18 (no markers), 1.15 from 1.20.
    expect(text.includes("## explicit")).toBe(era !== "1.18");
    expect(text.split("\n").filter((l) => l.startsWith("# ")).length).toBeGreaterThan(expected.length + 5);
  });

  it("reads as one module per versioned line, never a replace-only line", () => {
    const modules = modulesFromModulesTxt(text);
    expect(modules.map((m) => ({ path: m.path, version: m.version, replacement: m.replacement }))).toEqual(expected);
    // Package lines belong to the module whose path prefixes them, even after other modules' replace-only lines.
    expect(modules.find((m) => m.path === "cloud.google.com/go")!.packages).toEqual(["cloud.google.com/go/compute/metadata"]);
    expect(modules.find((m) => m.path === "github.com/opencontainers/runc")!.packages).toHaveLength(2);
    expect(modules.find((m) => m.path === "github.com/davecgh/go-spew")!.explicit).toBe(era === "1.18" ? undefined : true);
    expect(modules.find((m) => m.path === "golang.org/x/sys")!.explicit).toBeUndefined();
    expect(runcFromModulesTxt(text)).toEqual({ version: ERA_FACTS[era].runc, notes: [] });
    expect(runcFromGoMod(treeFiles({ era }).files["go.mod"]!)).toEqual({ version: ERA_FACTS[era].runc, notes: [] });
  });

  it("gives an SBOM valid against the official CycloneDX 1.6 schema and the library's validator, one component per vendored module", async () => {
    const doc = sbom(era, await vendoredOf(era), GOPATH_MODE);
    expect(officialSchemaErrors(doc)).toBeNull();
    expect(await libraryValidatorErrors(doc)).toBeNull();
    expect(referenceProblems(doc)).toEqual([]);
    const bom = JSON.parse(doc) as Bom;
    const modules = bom.components.filter((c) => c.name !== "go");
    expect(modules).toHaveLength(expected.length);
    // Every purl names a version; no replace-only path became a component.
    for (const c of modules) expect(c.purl).toMatch(/^pkg:golang\/.+@v[^@]+$/);
    for (const only of ["github.com/golang/mock", "rsc.io/quote/v3", "k8s.io/sample-apiserver", "cloud.google.com/go/bigquery"])
      expect(modules.map((c) => c.name)).not.toContain(only);
  });

  it("names a replaced module by the code vendored: the fork's purl, the staging module at the version modules.txt records", async () => {
    const bom = JSON.parse(sbom(era, await vendoredOf(era), GOPATH_MODE)) as Bom;
    const fork = bom.components.find((c) => property(c, "kubelet-nokmem:module")?.startsWith("github.com/example/jsonpatch "))!;
    expect(fork).toMatchObject({
      name: "github.com/example-fork/jsonpatch",
      version: "v4.2.1+incompatible",
      purl: expect.stringMatching(/^pkg:golang\/github.com\/example-fork\/jsonpatch@v4.2.1(\+|%2B)incompatible$/),
    });
    const api = bom.components.find((c) => c.name === "k8s.io/api")!;
    expect(api).toMatchObject({ version: "v0.0.0", purl: "pkg:golang/k8s.io/api@v0.0.0" });
    expect(property(api, "kubelet-nokmem:replaced-by")).toBe("./staging/src/k8s.io/api");
    const runc = bom.components.filter((c) => c.name === "github.com/opencontainers/runc");
    expect(runc).toHaveLength(1);
    expect(property(runc[0]!, "kubelet-nokmem:kmem-relevant")).toBe("true");
  });

  it("claims no module dependency for a binary without module information, and says why", async () => {
    const bom = JSON.parse(sbom(era, await vendoredOf(era), GOPATH_MODE)) as Bom;
    expect(bom.dependencies.find((d) => d.ref === "kubelet")!.dependsOn).toEqual(["go-toolchain"]);
    expect(property(bom.metadata.component, "kubelet-nokmem:linked-modules")).toMatch(/^unknown: .*GOPATH-mode/);
  });

  it("depends on exactly the modules the binary's build info lists", async () => {
    // What `go version -m` prints for a module-mode build linking three of the vendored modules (one through its replacement).
    const info = parseModinfo(
      "go1.19.8",
      [
        "path\tk8s.io/kubernetes/cmd/kubelet",
        "mod\tk8s.io/kubernetes\t(devel)\t",
        `dep\tgithub.com/opencontainers/runc\t${ERA_FACTS[era].runc}\t`,
        "dep\tgithub.com/example/jsonpatch\tv4.2.0+incompatible",
        "=>\tgithub.com/example-fork/jsonpatch\tv4.2.1+incompatible\th1:x=",
        "dep\tk8s.io/api\tv0.0.0",
        "=>\t./staging/src/k8s.io/api\t(devel)\t",
        "build\t-tags=nokmem",
      ].join("\n"),
      "inline",
    );
    const linked = linkedModules(info);
    expect(linked).toEqual({ known: true, paths: ["github.com/opencontainers/runc", "github.com/example/jsonpatch", "k8s.io/api"] });
    const doc = sbom(era, await vendoredOf(era), linked);
    expect(officialSchemaErrors(doc)).toBeNull();
    const bom = JSON.parse(doc) as Bom;
    const refOf = (pred: (c: Component) => boolean) => bom.components.find(pred)!["bom-ref"];
    expect(new Set(bom.dependencies.find((d) => d.ref === "kubelet")!.dependsOn)).toEqual(
      new Set([
        "go-toolchain",
        refOf((c) => c.name === "github.com/opencontainers/runc"),
        refOf((c) => c.name === "github.com/example-fork/jsonpatch"),
        refOf((c) => c.name === "k8s.io/api"),
      ]),
    );
    expect(property(bom.metadata.component, "kubelet-nokmem:linked-modules")).toBe("from the binary's Go build info: 3 modules");
  });
});

describe("the SBOM's claims", () => {
  it("a GOPATH-mode build info (no main module) and no build info are both 'unknown', not 'depends on nothing'", () => {
    expect(linkedModules(null)).toMatchObject({ known: false });
    expect(linkedModules(parseModinfo("go1.19.8", "path\tk8s.io/kubernetes/cmd/kubelet\nbuild\t-compiler=gc\n", "inline"))).toMatchObject({
      known: false,
      reason: expect.stringContaining("GOPATH"),
    });
  });

  it("a build-tag build records the setting as a property and a note, never as a patch", async () => {
    const bom = JSON.parse(sbom("1.20", await vendoredOf("1.20"), GOPATH_MODE)) as Bom;
    expect(bom.metadata.component.pedigree.patches).toBeUndefined();
    expect(bom.metadata.component.pedigree.notes).toContain("GOFLAGS=-tags=nokmem");
    expect(property(bom.metadata.component, "kubelet-nokmem:build-setting")).toBe("GOFLAGS=-tags=nokmem");
  });

  it("the validators used here reject what 0.1.0 wrote for such trees: duplicate dependency entries", async () => {
    const doc = JSON.parse(sbom("1.20", await vendoredOf("1.20"), GOPATH_MODE)) as Bom;
    const dup = { ...doc, components: [...doc.components, doc.components[1]!], dependencies: [...doc.dependencies, doc.dependencies[1]!] };
    const text = JSON.stringify(dup);
    expect(officialSchemaErrors(text)).not.toBeNull();
    expect(await libraryValidatorErrors(text)).not.toBeNull();
    expect(referenceProblems(text)).toEqual(
      expect.arrayContaining([expect.stringMatching(/defined twice/), expect.stringMatching(/dependencies has .* twice/)]),
    );
  });
});
