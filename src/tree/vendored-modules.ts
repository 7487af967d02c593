/**
 * The Go code a tree vendors, one reader per format: vendor/modules.txt
 * (module mode, from 1.15) and Godeps/Godeps.json (godep, up to 1.14). Pure:
 * each takes the file's text. runc-version.ts reads runc from these lists.
 */
import { readRegularText } from "../io/read.js";
import { join } from "node:path";

export interface VendoredModule {
  /** Module path (modules.txt) or repository root (Godeps: packages grouped by repository). */
  path: string;
  /** "v1.0.0-rc93", a pseudo-version, a `git describe` name (Godeps Comment), a commit (Godeps Rev); null when not recorded. */
  version: string | null;
  /** `=> path [version]` of a replace directive (modules.txt): the code vendored is the replacement's. */
  replacement?: { path: string; version: string | null };
  /** The packages of this module that are vendored (package lines of modules.txt; Godeps import paths). */
  packages?: string[];
  /** modules.txt `## explicit`: required by the main module's go.mod itself (Go 1.14+ annotations); absent when not marked (indirect). */
  explicit?: true;
  /** Godeps: the commit, when version is a `git describe` name. */
  rev?: string;
}

const MODULE_LINE = /^#\s+(\S+)\s+(\S+)(?:\s+=>\s+(\S+)(?:\s+(\S+))?)?\s*$/;
const REPLACE_ONLY_LINE = /^#\s+(\S+)\s+=>\s+(\S+)(?:\s+(\S+))?\s*$/;

/**
 * vendor/modules.txt: one module per `# path version [=> path [version]]`
 * line, in file order. What `go mod vendor` writes besides those is not a
 * module of its own:
 *
 * - `# path => replacement` (no version): a replace directive of go.mod for
 *   a module that is not vendored, or a wildcard replace repeating a vendored
 *   module's; Go writes them so a reader of vendor/ alone sees every
 *   replacement. Kubernetes 1.18–1.21 pin about 400 modules this way.
 * - `## explicit` (Go 1.14+, go.mod's go >= 1.14) marks the module above as
 *   required by go.mod itself; a module without it is indirect.
 * - package lines: the packages vendored, each belonging to the module with
 *   the longest path that prefixes it (real files interleave replace-only
 *   lines between a module line and its packages, so "the line above" is not
 *   the owner).
 */
export function modulesFromModulesTxt(text: string): VendoredModule[] {
  const out: VendoredModule[] = [];
  let last: VendoredModule | null = null;
  const packages: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith("## ")) {
      if (
        last &&
        line
          .slice(3)
          .split(";")
          .some((a) => a.trim() === "explicit")
      )
        last.explicit = true;
      continue;
    }
    if (line.startsWith("#")) {
      const m = MODULE_LINE.exec(line);
      if (m && m[2] !== "=>") {
        last = { path: m[1]!, version: m[2]! };
        if (m[3]) last.replacement = { path: m[3], version: m[4] ?? null };
        out.push(last);
      } else if (!REPLACE_ONLY_LINE.test(line)) {
        last = null; // a line this reader does not know: annotations after it belong to nothing
      }
      continue;
    }
    packages.push(line);
  }
  const byLength = [...out].sort((a, b) => b.path.length - a.path.length);
  for (const pkg of packages) {
    const owner = byLength.find((m) => pkg === m.path || pkg.startsWith(`${m.path}/`));
    if (owner) (owner.packages ??= []).push(pkg);
  }
  return out;
}

interface GodepsPackage {
  importPath: string;
  comment: string | null;
  rev: string | null;
}

/** Godeps/Godeps.json `Deps`; null when the text is not JSON or has no Deps array. */
export function packagesFromGodeps(text: string): GodepsPackage[] | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  const deps = (data as { Deps?: unknown } | null)?.Deps;
  if (!Array.isArray(deps)) return null;
  const text_ = (v: unknown) => (typeof v === "string" && v ? v : null);
  return (deps as unknown[])
    .map((d) => d as { ImportPath?: unknown; Comment?: unknown; Rev?: unknown } | null)
    .flatMap((d) => (typeof d?.ImportPath === "string" ? [{ importPath: d.ImportPath, comment: text_(d.Comment), rev: text_(d.Rev) }] : []));
}

/**
 * The repository an import path belongs to: three elements on the hosts
 * whose paths are host/owner/repo (github.com, golang.org/x, …), two on
 * vanity hosts (k8s.io/apimachinery, gopkg.in/yaml.v2, google.golang.org/grpc).
 */
export function repositoryRoot(importPath: string): string {
  const parts = importPath.split("/");
  const three = ["github.com", "gitlab.com", "bitbucket.org", "golang.org", "go.googlesource.com"].includes(parts[0]!);
  return parts.slice(0, three ? 3 : 2).join("/");
}

/** Godeps/Godeps.json grouped into one entry per repository (Comment over Rev as its version). */
export function modulesFromGodeps(text: string): VendoredModule[] | null {
  const pkgs = packagesFromGodeps(text);
  if (!pkgs) return null;
  const byRoot = new Map<string, VendoredModule>();
  for (const p of pkgs) {
    const root = repositoryRoot(p.importPath);
    const m = byRoot.get(root) ?? { path: root, version: p.comment ?? p.rev, packages: [], ...(p.rev ? { rev: p.rev } : {}) };
    m.packages!.push(p.importPath);
    byRoot.set(root, m);
  }
  return [...byRoot.values()];
}

export interface VendoredModules {
  source: "vendor/modules.txt" | "Godeps/Godeps.json" | null;
  modules: VendoredModule[];
}

/** What a tree vendors: vendor/modules.txt when it has one, else Godeps/Godeps.json. */
export async function readVendoredModules(root: string): Promise<VendoredModules> {
  const read = (rel: string) =>
    readRegularText(join(root, rel), { maxBytes: 64 * 1024 * 1024 }).catch((err: NodeJS.ErrnoException) =>
      err.code === "ENOENT" || err.code === "ENOTDIR" ? null : Promise.reject(err),
    );
  const modulesTxt = await read("vendor/modules.txt");
  if (modulesTxt !== null) return { source: "vendor/modules.txt", modules: modulesFromModulesTxt(modulesTxt) };
  const godeps = await read("Godeps/Godeps.json");
  const mods = godeps === null ? null : modulesFromGodeps(godeps);
  return mods ? { source: "Godeps/Godeps.json", modules: mods } : { source: null, modules: [] };
}
