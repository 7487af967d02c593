/**
 * The one reader of Go source text: just enough of Go's lexical structure for
 * the kmem detector (a file's build constraint, whether it declares a
 * function, that function's body) and for the patch engine (find a function
 * by its declaration, swap its body, keep the import list exactly what the
 * compiler accepts: an unused import is a build error in Go). Not a parser;
 * it only has to skip strings, runes and comments correctly so that braces
 * and names inside them do not count. Pure functions over file content.
 */

/**
 * A file's build constraint: the `//go:build` expression when there is one,
 * else the `// +build` lines joined by " " (their AND); "" when none.
 */
export function buildConstraint(source: string): string {
  const plus: string[] = [];
  for (const raw of source.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("package ")) break;
    const goBuild = /^\/\/go:build\s+(.*)$/.exec(line);
    if (goBuild) return goBuild[1]!.trim();
    const old = /^\/\/\s*\+build\s+(.*)$/.exec(line);
    if (old) plus.push(old[1]!.trim());
  }
  return plus.join(" ");
}

/** Whether a constraint asks for the `nokmem` tag to be set (true) or unset (false); null when it does not mention it. */
export function nokmemInConstraint(constraint: string): boolean | null {
  const m = /(!?)\s*\bnokmem\b/.exec(constraint);
  if (!m) return null;
  return m[1] !== "!";
}

/**
 * The source with every comment and every string / rune literal blanked out
 * (replaced by spaces, newlines kept), so that searches for declarations,
 * braces and identifiers never match inside them. Same length as the input:
 * offsets in the mask are offsets in the source.
 */
export function maskGo(src: string, keepStrings = false): string {
  const out = src.split("");
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== "\n") out[k] = " ";
  };
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i];
    const next = src[i + 1];
    if (c === "/" && next === "/") {
      const end = src.indexOf("\n", i);
      const stop = end === -1 ? n : end;
      blank(i, stop);
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end === -1 ? n : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === "`") {
      const end = src.indexOf("`", i + 1);
      const stop = end === -1 ? n : end + 1;
      if (!keepStrings) blank(i + 1, stop - 1);
      i = stop;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && src[j] !== c && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1;
      if (!keepStrings) blank(i + 1, Math.min(j, n));
      i = j + 1;
    } else {
      i++;
    }
  }
  return out.join("");
}

interface FunctionSpan {
  name: string;
  /** Offset of `func`. */
  declStart: number;
  /** Offset of the body's opening `{`. */
  bodyOpen: number;
  /** Offset of the body's closing `}`. */
  bodyClose: number;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Every top-level declaration of a function (or method) called `name`: a
 * line starting `func name(` or `func (recv) name(`.
 */
export function findFunctions(src: string, name: string, mask = maskGo(src)): FunctionSpan[] {
  const re = new RegExp(`^func\\s*(?:\\([^()]*\\)\\s*)?${escapeRe(name)}\\s*[(\\[]`, "gm");
  const spans: FunctionSpan[] = [];
  for (let m = re.exec(mask); m; m = re.exec(mask)) {
    const open = bodyOpenAfter(mask, m.index + m[0].length - 1);
    if (open === -1) continue; // a declaration without a body (assembly-backed)
    const close = matchingBrace(mask, open);
    if (close === -1) continue;
    spans.push({ name, declStart: m.index, bodyOpen: open, bodyClose: close });
  }
  return spans;
}

/**
 * The `{` that opens a function body, scanning from the `(` (or `[` of type
 * parameters) that follows the name. Braces of `struct{}` / `interface{}`
 * in the signature are skipped. -1 if the declaration has no body.
 */
function bodyOpenAfter(mask: string, from: number): number {
  let depth = 0;
  for (let i = from; i < mask.length; i++) {
    const c = mask[i];
    if (c === "(" || c === "[") depth++;
    else if (c === ")" || c === "]") depth--;
    else if (c === "{") {
      if (/\b(?:struct|interface)\s*$/.test(mask.slice(Math.max(0, i - 12), i))) {
        const close = matchingBrace(mask, i);
        if (close === -1) return -1;
        i = close;
        continue;
      }
      if (depth === 0) return i;
    } else if (c === "\n" && depth === 0) {
      // Go's semicolon rule puts a body's `{` on the signature's last line:
      // a newline first means a declaration without a body.
      return -1;
    }
  }
  return -1;
}

function matchingBrace(mask: string, open: number): number {
  let depth = 0;
  for (let i = open; i < mask.length; i++) {
    if (mask[i] === "{") depth++;
    else if (mask[i] === "}" && --depth === 0) return i;
  }
  return -1;
}

/**
 * The text between a function's braces (newlines included). Given a name,
 * the body of the top-level function (not a method) of that name, or null
 * when the file declares none.
 */
export function functionBody(src: string, span: FunctionSpan): string;
export function functionBody(src: string, name: string): string | null;
export function functionBody(src: string, spanOrName: FunctionSpan | string): string | null {
  const span = typeof spanOrName === "string" ? findFunctions(src, spanOrName).find((s) => !/^func\s*\(/.test(src.slice(s.declStart))) : spanOrName;
  return span ? src.slice(span.bodyOpen + 1, span.bodyClose) : null;
}

export function replaceBody(src: string, span: FunctionSpan, body: string): string {
  return src.slice(0, span.bodyOpen + 1) + body + src.slice(span.bodyClose);
}

interface ImportSpec {
  /** Alias as written (`_`, `.`, a name) or null. */
  alias: string | null;
  path: string;
  /** The name the file refers to the package by (alias, or a guess from the path). */
  name: string;
  /** Offsets of the whole line (including its newline) in the source. */
  lineStart: number;
  lineEnd: number;
}

interface ImportBlock {
  /** Offset of `import (` … through the closing `)` and its newline. */
  start: number;
  end: number;
  /** Where the spec lines begin and end (offsets just inside the parentheses). */
  innerStart: number;
  innerEnd: number;
  specs: ImportSpec[];
  /** A single-line `import "x"` rather than a block. */
  single: boolean;
}

/** The package name Go code uses for an import path, as a best guess (`gopkg.in/yaml.v2` → yaml). */
export function packageNameFor(path: string): string {
  const last = path.split("/").at(-1) ?? path;
  return last
    .replace(/\.v\d+$/, "")
    .replace(/^go-/, "")
    .replace(/[-.]/g, "_");
}

/** Every import declaration of a file, in order. */
function importBlocks(src: string, mask = maskGo(src)): ImportBlock[] {
  const blocks: ImportBlock[] = [];
  const re = /^import[ \t]*(\(|[^\n]*)/gm;
  for (let m = re.exec(mask); m; m = re.exec(mask)) {
    const start = m.index;
    if (m[1] === "(") {
      const innerStart = mask.indexOf("\n", start) + 1;
      const closeMatch = /^\)[ \t]*$/m.exec(mask.slice(innerStart));
      if (!closeMatch) continue;
      const innerEnd = innerStart + closeMatch.index;
      const endNl = src.indexOf("\n", innerEnd);
      const end = endNl === -1 ? src.length : endNl + 1;
      const specs: ImportSpec[] = [];
      let lineStart = innerStart;
      while (lineStart < innerEnd) {
        const nl = src.indexOf("\n", lineStart);
        const lineEnd = nl === -1 || nl >= innerEnd ? innerEnd : nl + 1;
        const spec = parseSpec(src.slice(lineStart, lineEnd), lineStart, lineEnd);
        if (spec) specs.push(spec);
        lineStart = lineEnd;
      }
      blocks.push({ start, end, innerStart, innerEnd, specs, single: false });
      re.lastIndex = end;
    } else {
      const nl = src.indexOf("\n", start);
      const end = nl === -1 ? src.length : nl + 1;
      const spec = parseSpec(src.slice(start + "import".length, end), start, end);
      if (spec) blocks.push({ start, end, innerStart: start, innerEnd: end, specs: [spec], single: true });
    }
  }
  return blocks;
}

function parseSpec(line: string, lineStart: number, lineEnd: number): ImportSpec | null {
  const m = /^\s*(?:([A-Za-z_][\w]*|\.)\s+)?"([^"]+)"/.exec(line);
  if (!m) return null;
  const alias = m[1] ?? null;
  const path = m[2]!;
  return { alias, path, name: alias ?? packageNameFor(path), lineStart, lineEnd };
}

/** Package names the code (outside import declarations) refers to as `name.`. */
function usedPackageNames(src: string, candidates: readonly string[], mask = maskGo(src)): Set<string> {
  let code = mask;
  for (const b of importBlocks(src, mask).reverse()) code = code.slice(0, b.start) + code.slice(b.end);
  const used = new Set<string>();
  for (const name of candidates) {
    if (new RegExp(`(?<![\\w.])${escapeRe(name)}\\s*\\.`).test(code)) used.add(name);
  }
  return used;
}

/** Standard-library packages a replacement body may call on without importing them itself. */
const KNOWN_PACKAGES: Record<string, string> = { errors: "errors", fmt: "fmt" };

interface ImportFix {
  src: string;
  removed: string[];
  added: string[];
}

/**
 * After bodies changed from `before` to `src`: remove exactly the imports
 * that `before` used and `src` no longer does (an import whose name cannot
 * be told from its path is never touched), and add the standard packages the
 * new bodies call but the file does not import. gofmt's layout is kept:
 * additions go into the first (standard-library) group in sorted position.
 */
export function fixImports(before: string, src: string, needs: readonly string[] = []): ImportFix {
  const removed: string[] = [];
  const added: string[] = [];
  const beforeBlocks = importBlocks(before);
  const names = beforeBlocks.flatMap((b) => b.specs.filter((s) => s.alias !== "_" && s.alias !== ".").map((s) => s.name));
  const usedBefore = usedPackageNames(before, names);
  const usedAfter = usedPackageNames(src, names);
  const drop = new Set([...usedBefore].filter((n) => !usedAfter.has(n)));

  let out = src;
  if (drop.size) {
    for (const block of importBlocks(out).reverse()) {
      const gone = block.specs.filter((s) => s.alias !== "_" && s.alias !== "." && drop.has(s.name));
      if (!gone.length) continue;
      if (block.single || gone.length === block.specs.length) {
        // The whole declaration goes, with one blank line that separated it.
        let end = block.end;
        if (out[end] === "\n") end++;
        out = out.slice(0, block.start) + out.slice(end);
      } else {
        let inner = out.slice(block.innerStart, block.innerEnd);
        for (const s of gone.slice().reverse()) {
          const from = s.lineStart - block.innerStart;
          inner = inner.slice(0, from) + inner.slice(s.lineEnd - block.innerStart);
        }
        // A group emptied by the removals leaves blank lines gofmt would collapse.
        inner = inner
          .replace(/^\n+/, "")
          .replace(/\n{2,}/g, "\n\n")
          .replace(/\n\n$/, "\n");
        out = out.slice(0, block.innerStart) + inner + out.slice(block.innerEnd);
      }
      removed.push(...gone.map((s) => s.path));
    }
  }

  const blocks = importBlocks(out);
  const imported = new Set(blocks.flatMap((b) => b.specs.map((s) => s.name)));
  for (const name of needs) {
    if (imported.has(name)) continue;
    const path = KNOWN_PACKAGES[name];
    if (!path) throw new Error(`a replacement body uses package ${name}, which the engine cannot add an import for`);
    out = addImport(out, path);
    added.push(path);
    imported.add(name);
  }
  return { src: out, removed: removed.sort(), added };
}

function addImport(src: string, path: string): string {
  const blocks = importBlocks(src);
  const block = blocks.find((b) => !b.single);
  if (block) {
    // The first group: spec lines up to the first blank line.
    const groupEnd = block.specs.findIndex(
      (s, i) =>
        i > 0 && src.slice(block.specs[i - 1]!.lineEnd, s.lineStart).trim() === "" && src.slice(block.specs[i - 1]!.lineEnd, s.lineStart).includes("\n"),
    );
    const group = groupEnd === -1 ? block.specs : block.specs.slice(0, groupEnd);
    const firstGroupIsStd = group.length > 0 && !group[0]!.path.includes(".");
    const line = `\t"${path}"\n`;
    if (!firstGroupIsStd) return src.slice(0, block.innerStart) + line + (group.length ? "\n" : "") + src.slice(block.innerStart);
    const after = group.find((s) => s.path > path);
    const at = after ? after.lineStart : group.at(-1)!.lineEnd;
    return src.slice(0, at) + line + src.slice(at);
  }
  const single = blocks[0];
  if (single) {
    const existing = single.specs[0]!;
    const specs = [`"${path}"`, `${existing.alias ? `${existing.alias} ` : ""}"${existing.path}"`].sort((a, b) =>
      a.replace(/^\S+ /, "").localeCompare(b.replace(/^\S+ /, "")),
    );
    return `${src.slice(0, single.start)}import (\n${specs.map((s) => `\t${s}\n`).join("")})\n${src.slice(single.end)}`;
  }
  const pkg = /^package \w+\n/m.exec(src);
  if (!pkg) throw new Error("no package clause");
  const at = pkg.index + pkg[0].length;
  return `${src.slice(0, at)}\nimport "${path}"\n${src.slice(at)}`;
}

/**
 * The leading build-constraint lines of a file (`//go:build …` and
 * `// +build …`), exactly as written, with the blank line that must follow.
 */
export function buildConstraintHeader(src: string): { header: string; rest: string } {
  const m = /^(?:(?:\/\/go:build [^\n]*|\/\/ \+build [^\n]*)\n)+\n?/.exec(src);
  if (!m) return { header: "", rest: src };
  return { header: m[0], rest: src.slice(m[0].length) };
}

/** Whether the file declares the top-level function `name`. */
export function declares(source: string, name: string): boolean {
  return new RegExp(`^func\\s+${name}\\s*\\(`, "m").test(maskGo(source));
}
