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
  /** `=> path [version]` of a replace directive (modules.txt). */
  replacement?: { path: string; version: string | null };
  /** Godeps: the packages of this repository that are vendored. */
  packages?: string[];
  /** Godeps: the commit, when version is a `git describe` name. */
  rev?: string;
}

/** vendor/modules.txt: the `# path version [=> path version]` lines, in file order. */
export function modulesFromModulesTxt(text: string): VendoredModule[] {
  const out: VendoredModule[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    // "## explicit" lines (Go 1.14+) annotate the module above; they are not modules.
    if (!line.startsWith("# ")) continue;
    const m = /^#\s+(\S+)(?:\s+(?!=>)(\S+))?(?:\s*=>\s*(\S+)(?:\s+(\S+))?)?\s*$/.exec(line);
    if (!m) continue;
    const mod: VendoredModule = { path: m[1]!, version: m[2] ?? null };
    if (m[3]) mod.replacement = { path: m[3], version: m[4] ?? null };
    out.push(mod);
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
  const read = (rel: string) => readRegularText(join(root, rel), { maxBytes: 64 * 1024 * 1024 }).catch((err: NodeJS.ErrnoException) => (err.code === "ENOENT" || err.code === "ENOTDIR" ? null : Promise.reject(err)));
  const modulesTxt = await read("vendor/modules.txt");
  if (modulesTxt !== null) return { source: "vendor/modules.txt", modules: modulesFromModulesTxt(modulesTxt) };
  const godeps = await read("Godeps/Godeps.json");
  const mods = godeps === null ? null : modulesFromGodeps(godeps);
  return mods ? { source: "Godeps/Godeps.json", modules: mods } : { source: null, modules: [] };
}
