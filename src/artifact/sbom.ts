/**
 * sbom.cdx.json: a CycloneDX 1.6 SBOM of one kubelet, built with the
 * CycloneDX JavaScript library: the kubelet (metadata.component), the Go
 * toolchain it was compiled with, and one component per vendored module
 * (docs/provenance.md, "The SBOM"):
 *
 * - A module replaced by another (`# a v1 => b v2`) is one component: the
 *   code vendored is b@v2, so its purl is b's; `kubelet-nokmem:module`
 *   names a@v1. A replacement by a folder (Kubernetes' staging modules,
 *   `=> ./staging/src/k8s.io/api`) keeps the version modules.txt records
 *   (v0.0.0) and says where the code came from in `kubelet-nokmem:replaced-by`.
 *   Replace-only lines of modules.txt are not modules (vendored-modules.ts).
 * - `dependsOn` of the kubelet: the Go toolchain, and the modules the
 *   binary's Go build info lists as linked in. A kubelet built in GOPATH mode
 *   (every release up to 1.24 by default) carries no module list: then the
 *   SBOM claims no module dependency and says so in `kubelet-nokmem:linked-modules`.
 * - runc, whose vendored cgroup code is what enables kmem, carries
 *   `kubelet-nokmem:kmem-relevant`.
 *
 * The library models no `pedigree` (10.x), so the nokmem change is added to
 * the kubelet's normalized JSON as `pedigree`: the upstream kubelet as
 * ancestor; the source patches as patches; a build-tag build changes no
 * source, so it has no patch, only a note (and the setting as the
 * `kubelet-nokmem:build-setting` property). Checked in the tests against the
 * official 1.6 schema and the library's validator. Pure.
 */
import { createHash } from "node:crypto";
import { Enums, Models, Serialize, Spec } from "@cyclonedx/cyclonedx-library";
import { PackageURL } from "packageurl-js";
import type { VendoredModule, VendoredModules } from "../tree/vendored-modules.js";

export const SBOM_FILE = "sbom.cdx.json";
const KMEM_RELEVANT = "kubelet-nokmem:kmem-relevant";
const RUNC_MODULE = "github.com/opencontainers/runc";

export type NokmemChange =
  | { kind: "patches"; patches: { name: string; sha256: string; text: string }[] }
  | { kind: "build-setting"; env: [string, string][] }
  | { kind: "none"; reason: string };

export type LinkedModules = { known: true; paths: string[] } | { known: false; reason: string };

/** Where each product's upstream source lives, as a Go module: the SBOM's purls and pedigree name it. */
const UPSTREAM = {
  kubelet: { group: "k8s.io/kubernetes", subpath: "cmd/kubelet" as string | undefined, what: "kubelet" },
  runc: { group: RUNC_MODULE, subpath: undefined, what: "runc" },
} as const;

interface SbomInput {
  /** What was built (the build's record, never a file name). */
  product: keyof typeof UPSTREAM;
  /** "1.20.2", "1.0.0-rc93" */
  version: string;
  platform: string;
  sha256: string;
  strategy: string;
  /** "1.19.13" */
  go: string | null;
  vendored: VendoredModules;
  /** The module paths the binary's Go build info lists (`dep` lines), or why there are none to read. */
  linked: LinkedModules;
  change: NokmemChange;
  tool: { name: string; version: string };
  timestamp: Date;
}

function golangPurl(path: string, version: string | null, subpath?: string, qualifiers?: Record<string, string>): string {
  const parts = path.split("/");
  const name = parts.pop()!;
  return new PackageURL("golang", parts.join("/") || undefined, name, version ?? undefined, qualifiers, subpath).toString();
}

/** urn:uuid derived from the kubelet's digest and the tool: the same build gives the same serial number. */
function serialNumber(sha256: string, tool: string): string {
  const h = createHash("sha256").update(`${sha256} ${tool}`).digest("hex");
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

interface Attachment {
  contentType: string;
  content: string;
}
interface Pedigree {
  ancestors: { type: "application"; name: string; version: string; purl: string }[];
  patches?: { type: "unofficial"; diff: { text: Attachment } }[];
  notes: string;
}

function pedigree(input: SbomInput, upstreamPurl: string): Pedigree {
  const name = UPSTREAM[input.product].what;
  const ancestors = [{ type: "application" as const, name, version: `v${input.version}`, purl: upstreamPurl }];
  const c = input.change;
  switch (c.kind) {
    case "patches":
      return {
        ancestors,
        patches: c.patches.map((p) => ({ type: "unofficial" as const, diff: { text: { contentType: "text/x-diff", content: p.text } } })),
        notes: `Built from upstream ${name} v${input.version} with the ${input.strategy} patch series (${c.patches.map((p) => `${p.name} sha256:${p.sha256}`).join(", ")}) so that it never enables kernel-memory accounting.`,
      };
    case "build-setting": {
      // No source changed: a patch would claim a diff that does not exist. The setting is a note here and a property of the kubelet.
      const setting = c.env.map(([k, v]) => `${k}=${v}`).join(" ");
      return {
        ancestors,
        notes: `Built from unmodified upstream ${name} v${input.version} source with the build setting ${setting} (property kubelet-nokmem:build-setting): ${input.product === "runc" ? "runc's" : "the vendored runc's"} nokmem build tag selects its kmem-disabled code.`,
      };
    }
    case "none":
      return { ancestors, notes: `Built from unmodified upstream ${name} v${input.version} source: ${c.reason}.` };
  }
}

/** The code a vendored module entry stands for: the replacement's, unless that is a folder of the tree. */
function moduleComponent(m: VendoredModule, taken: ReadonlySet<string>): Models.Component {
  const r = m.replacement;
  const byModule = r && !isLocalPath(r.path);
  const path = byModule ? r.path : m.path;
  // A module replaced without a version keeps its own (Go allows `=> path` only for folders; defensive).
  const version = (byModule ? (r.version ?? m.version) : m.version) ?? null;
  const purl = version ? golangPurl(path, version) : null;
  // Two modules replaced by the same module would share a purl; bom-refs stay unique.
  const ref = purl && !taken.has(purl) ? purl : `module:${m.path}${m.version ? `@${m.version}` : ""}`;
  const c = new Models.Component(Enums.ComponentType.Library, path, { bomRef: ref, ...(purl ? { purl } : {}), ...(version ? { version } : {}) });
  if (r) {
    c.properties.add(new Models.Property("kubelet-nokmem:module", `${m.path}${m.version ? ` ${m.version}` : ""}`));
    c.properties.add(new Models.Property("kubelet-nokmem:replaced-by", `${r.path}${r.version ? ` ${r.version}` : ""}`));
  }
  if (m.rev && m.rev !== m.version) c.properties.add(new Models.Property("kubelet-nokmem:godeps-rev", m.rev));
  if (m.explicit) c.properties.add(new Models.Property("kubelet-nokmem:explicit", "true"));
  return c;
}

/** A replacement by a folder (`./staging/src/k8s.io/api`, `../fork`, `/abs`), as go.mod allows. */
const isLocalPath = (p: string) => p.startsWith("./") || p.startsWith("../") || p.startsWith("/") || p === "." || p === "..";

/** The CycloneDX SBOM of one built binary: a kubelet, or the runtime's runc. */
export function productSbom(input: SbomInput): string {
  const bom = new Models.Bom();
  bom.serialNumber = serialNumber(input.sha256, `${input.tool.name}@${input.tool.version}`);
  bom.metadata.timestamp = input.timestamp;
  bom.metadata.tools.components.add(new Models.Component(Enums.ComponentType.Application, input.tool.name, { version: input.tool.version, bomRef: "tool" }));
  const up = UPSTREAM[input.product];
  const upstream = golangPurl(up.group, `v${input.version}`, up.subpath);
  const kubelet = new Models.Component(Enums.ComponentType.Application, up.what, {
    bomRef: up.what,
    group: up.group,
    version: `v${input.version}`,
    purl: golangPurl(up.group, `v${input.version}`, up.subpath, { goos: "linux", goarch: input.platform.split("/")[1] ?? "amd64" }),
    description: `${up.what} built so that it never enables kernel-memory (kmem) accounting`,
  });
  kubelet.hashes.set(Enums.HashAlgorithm["SHA-256"], input.sha256);
  kubelet.properties.add(new Models.Property("kubelet-nokmem:strategy", input.strategy));
  kubelet.properties.add(new Models.Property("kubelet-nokmem:platform", input.platform));
  if (input.change.kind === "build-setting")
    for (const [k, v] of input.change.env) kubelet.properties.add(new Models.Property("kubelet-nokmem:build-setting", `${k}=${v}`));
  bom.metadata.component = kubelet;

  if (input.go) {
    const go = new Models.Component(Enums.ComponentType.Platform, "go", {
      bomRef: "go-toolchain",
      version: input.go,
      purl: golangPurl("stdlib", `go${input.go}`),
      description: `Go toolchain and standard library the ${up.what} was compiled with`,
    });
    bom.components.add(go);
    kubelet.dependencies.add(go.bomRef);
  }
  if (input.vendored.source) kubelet.properties.add(new Models.Property("kubelet-nokmem:vendored-from", input.vendored.source));
  const l = input.linked;
  const linked = l.known ? new Set(l.paths) : null;
  kubelet.properties.add(
    new Models.Property(
      "kubelet-nokmem:linked-modules",
      l.known ? `from the binary's Go build info: ${l.paths.length} modules` : `unknown: ${l.reason}; no module is claimed as a dependency`,
    ),
  );
  const refs = new Set<string>();
  for (const m of input.vendored.modules) {
    const c = moduleComponent(m, refs);
    refs.add(c.bomRef.value!);
    if (m.path === RUNC_MODULE) c.properties.add(new Models.Property(KMEM_RELEVANT, "true"));
    bom.components.add(c);
    if (linked?.has(m.path) || (m.replacement && linked?.has(m.replacement.path))) kubelet.dependencies.add(c.bomRef);
  }

  const normalized = new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6).makeForBom().normalize(bom, { sortLists: true });
  const doc = { ...normalized, metadata: { ...normalized.metadata, component: { ...normalized.metadata!.component!, pedigree: pedigree(input, upstream) } } };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
