/**
 * The runc version a tree vendors, from Godeps/Godeps.json (up to 1.14),
 * go.mod and vendor/modules.txt (from 1.15). Each reader takes file content
 * and returns what that one file says. Pure. The Godeps and modules.txt
 * lists themselves are read by vendored-modules.ts.
 */
import { modulesFromModulesTxt, packagesFromGodeps } from "./vendored-modules.js";

const RUNC_MODULE = "github.com/opencontainers/runc";

export interface RuncRecord {
  /** "v1.0.0-rc93", a pseudo-version, a `git describe` name (Godeps Comment) or a commit (Godeps Rev); null when the file names runc without one (a local replace). */
  version: string | null;
  /** The module that actually provides runc when a replace points elsewhere (a fork, a local path). */
  replacedBy?: string;
  notes: string[];
}

const isRuncPath = (p: string) => p === RUNC_MODULE || p.startsWith(`${RUNC_MODULE}/`);

/** Godeps/Godeps.json: the Comment (a `git describe` name) or else the Rev of the runc packages. */
export function runcFromGodeps(text: string): RuncRecord | null {
  const pkgs = packagesFromGodeps(text);
  if (pkgs === null) {
    try {
      JSON.parse(text);
    } catch {
      return { version: null, notes: ["Godeps/Godeps.json is not valid JSON"] };
    }
    return null;
  }
  const runc = pkgs.filter((d) => isRuncPath(d.importPath));
  if (!runc.length) return null;
  const versions = [...new Set(runc.map((d) => d.comment || d.rev || "").filter(Boolean))];
  const notes = versions.length > 1 ? [`Godeps/Godeps.json names runc packages at different versions: ${versions.join(", ")}`] : [];
  // The package whose code decides the layout wins if the packages disagree.
  const fs = runc.find((d) => d.importPath.endsWith("/libcontainer/cgroups/fs")) ?? runc[0]!;
  return { version: fs.comment || fs.rev || null, notes };
}

interface ModuleRef {
  path: string;
  version: string | null;
}

/** go.mod: the required runc version, with any `replace` applied. */
export function runcFromGoMod(text: string): RuncRecord | null {
  let block: "require" | "replace" | null = null;
  let required: string | null = null;
  let replacement: ModuleRef | null = null;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\/\/.*$/, "").trim();
    if (!line) continue;
    if (block) {
      if (line === ")") {
        block = null;
        continue;
      }
      handle(block, line);
      continue;
    }
    const open = /^(require|replace)\s*\($/.exec(line);
    if (open) {
      block = open[1] as "require" | "replace";
      continue;
    }
    const single = /^(require|replace)\s+(.*)$/.exec(line);
    if (single) handle(single[1] as "require" | "replace", single[2]!);
  }

  function handle(kind: "require" | "replace", spec: string) {
    if (kind === "require") {
      const [path, version] = spec.split(/\s+/);
      if (path === RUNC_MODULE && version) required = version;
      return;
    }
    const [left, right] = spec.split("=>").map((s) => s.trim());
    if (!left || !right) return;
    const [path, oldVersion] = left.split(/\s+/);
    if (path !== RUNC_MODULE) return;
    // A versioned replace (`runc v1.0.0 => …`) only applies to that version.
    if (oldVersion && required && oldVersion !== required) return;
    const [newPath, newVersion] = right.split(/\s+/);
    replacement = { path: newPath!, version: newVersion ?? null };
  }

  return effective(required, replacement, "go.mod");
}

/** vendor/modules.txt: `# github.com/opencontainers/runc v1.0.0-rc93 [=> path version]`. */
export function runcFromModulesTxt(text: string): RuncRecord | null {
  const m = modulesFromModulesTxt(text).find((x) => x.path === RUNC_MODULE);
  return m ? effective(m.version, m.replacement ?? null, "vendor/modules.txt") : null;
}

function effective(required: string | null, replacement: ModuleRef | null, file: string): RuncRecord | null {
  if (!required && !replacement) return null;
  if (!replacement) return { version: required, notes: [] };
  const local = /^(\.{1,2}\/|\/)/.test(replacement.path);
  if (local) {
    return {
      version: null,
      replacedBy: replacement.path,
      notes: [`${file} replaces runc with the local directory ${replacement.path}: its version is not recorded`],
    };
  }
  if (replacement.path === RUNC_MODULE) return { version: replacement.version ?? required, notes: [] };
  return {
    version: replacement.version,
    replacedBy: replacement.path,
    notes: [`${file} replaces runc with ${replacement.path}${replacement.version ? ` ${replacement.version}` : ""}`],
  };
}
