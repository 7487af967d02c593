/**
 * Files a CI job hands on: glob patterns (`*` within a path segment, `**`
 * across segments) matched against the files under a folder, and copies that
 * keep relative paths — what artifact upload and download do, minus the zip.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";

const GLOB = /[*?[]/;

export function globToRegExp(pattern: string): RegExp {
  let re = "";
  const segments = pattern.replace(/\/+$/, "").split("/");
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1;
    if (seg === "**") {
      re += last ? ".*" : "(?:[^/]+/)*";
      return;
    }
    re += seg.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]");
    if (!last) re += "/";
  });
  return new RegExp(`^${re}$`);
}

/** Every file under root, as a path relative to root with "/" separators. */
export function walkFiles(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      if (e.isDirectory()) visit(full);
      else if (e.isFile() || e.isSymbolicLink()) out.push(relative(root, full).split(sep).join("/"));
    }
  };
  if (existsSync(root)) visit(root);
  return out.sort();
}

/** Files under root matching any pattern; a pattern naming a folder takes everything in it. */
export function matchFiles(root: string, patterns: string[]): string[] {
  const files = walkFiles(root);
  const include = patterns.filter((p) => !p.startsWith("!"));
  const exclude = patterns.filter((p) => p.startsWith("!")).map((p) => globToRegExp(p.slice(1)));
  const hits = new Set<string>();
  for (const p of include) {
    const clean = p.replace(/^\.\//, "");
    const re = globToRegExp(clean);
    const folder = !GLOB.test(clean) && existsSync(join(root, clean)) && statSync(join(root, clean)).isDirectory();
    for (const f of files) if (re.test(f) || (folder && f.startsWith(`${clean.replace(/\/+$/, "")}/`))) hits.add(f);
  }
  return [...hits].filter((f) => !exclude.some((re) => re.test(f))).sort();
}

/** The literal folder a pattern searches from: its segments before the first wildcard. */
export function searchRoot(pattern: string): string {
  const segs = pattern.replace(/^\.\//, "").replace(/\/+$/, "").split("/");
  const i = segs.findIndex((s) => GLOB.test(s));
  return (i < 0 ? segs : segs.slice(0, i)).join("/");
}

/** The longest common leading folder of several paths ("" when none). */
export function commonRoot(paths: string[]): string {
  if (!paths.length) return "";
  const split = paths.map((p) => p.split("/").filter(Boolean));
  const first = split[0]!;
  let n = 0;
  while (n < first.length && split.every((s) => s[n] === first[n])) n++;
  return first.slice(0, n).join("/");
}

export function copyInto(fromRoot: string, files: string[], toRoot: string, strip = ""): void {
  for (const f of files) {
    const rel = strip && f.startsWith(`${strip}/`) ? f.slice(strip.length + 1) : f;
    const target = join(toRoot, rel);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(fromRoot, f), target);
  }
}
