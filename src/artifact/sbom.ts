/**
 * sbom.cdx.json: a CycloneDX 1.6 SBOM of one kubelet, built with the
 * CycloneDX JavaScript library: the kubelet (metadata.component), the Go
 * toolchain it was compiled with, and every vendored module with its
 * version; runc, whose vendored cgroup code is what enables kmem, carries the
 * property `kubelet-nokmem:kmem-relevant`.
 *
 * The library models no `pedigree` (10.x), so the nokmem change is added to
 * the kubelet's normalized JSON as `pedigree` (ancestors: the upstream
 * kubelet; patches: the source patches, or for a build-tag build the build
 * setting; notes). The result is checked against the library's shipped 1.6
 * schema in the tests. Pure.
 */
import { createHash } from "node:crypto";
import { Enums, Models, Serialize, Spec } from "@cyclonedx/cyclonedx-library";
import { PackageURL } from "packageurl-js";
import type { VendoredModules } from "../tree/vendored-modules.js";

export const SBOM_FILE = "sbom.cdx.json";
const KMEM_RELEVANT = "kubelet-nokmem:kmem-relevant";
const RUNC_MODULE = "github.com/opencontainers/runc";

export type NokmemChange =
  | { kind: "patches"; patches: { name: string; sha256: string; text: string }[] }
  | { kind: "build-setting"; env: [string, string][] }
  | { kind: "none"; reason: string };

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
  patches: { type: "unofficial"; diff: { text: Attachment } }[];
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
      const setting = c.env.map(([k, v]) => `${k}=${v}`).join("\n");
      return {
        ancestors,
        patches: [{ type: "unofficial" as const, diff: { text: { contentType: "text/plain", content: `${setting}\n` } } }],
        notes: `Built from unmodified upstream ${name} v${input.version} source with the build setting ${setting.replace(/\n/g, " ")}: ${input.product === "runc" ? "runc's" : "the vendored runc's"} nokmem build tag selects its kmem-disabled code.`,
      };
    }
    case "none":
      return { ancestors, patches: [], notes: `Built from unmodified upstream ${name} v${input.version} source: ${c.reason}.` };
  }
}

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
  if (input.change.kind === "build-setting") for (const [k, v] of input.change.env) kubelet.properties.add(new Models.Property("kubelet-nokmem:build-setting", `${k}=${v}`));
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
  for (const m of input.vendored.modules) {
    const purl = golangPurl(m.path, m.replacement && !m.replacement.path.startsWith(".") ? (m.replacement.version ?? m.version) : m.version);
    const c = new Models.Component(Enums.ComponentType.Library, m.path, { bomRef: purl, purl, ...(m.version ? { version: m.version } : {}) });
    if (m.replacement) c.properties.add(new Models.Property("kubelet-nokmem:replaced-by", `${m.replacement.path}${m.replacement.version ? ` ${m.replacement.version}` : ""}`));
    if (m.rev && m.rev !== m.version) c.properties.add(new Models.Property("kubelet-nokmem:godeps-rev", m.rev));
    if (m.path === RUNC_MODULE) c.properties.add(new Models.Property(KMEM_RELEVANT, "true"));
    bom.components.add(c);
    kubelet.dependencies.add(c.bomRef);
  }

  const normalized = new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6).makeForBom().normalize(bom, { sortLists: true });
  const doc = { ...normalized, metadata: { ...normalized.metadata, component: { ...normalized.metadata!.component!, pedigree: pedigree(input, upstream) } } };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
