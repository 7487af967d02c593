/**
 * Just enough Go reading for the kmem detector: a file's build constraint and
 * the body of a top-level function. Not a parser; it only has to skip strings,
 * runes and comments correctly so that braces inside them do not count.
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

/** Blank out comments and the inside of string and rune literals, keeping offsets. */
export function maskLiterals(source: string, keepStrings = false): string {
  const out = source.split("");
  let i = 0;
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== "\n") out[k] = " ";
  };
  while (i < source.length) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      const end = source.indexOf("\n", i);
      const stop = end === -1 ? source.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end === -1 ? source.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < source.length && source[j] !== c && source[j] !== "\n") j += source[j] === "\\" ? 2 : 1;
      if (!keepStrings) blank(i + 1, j);
      i = j + 1;
    } else if (c === "`") {
      const end = source.indexOf("`", i + 1);
      const stop = end === -1 ? source.length : end;
      if (!keepStrings) blank(i + 1, stop);
      i = stop + 1;
    } else {
      i++;
    }
  }
  return out.join("");
}

/**
 * The body (between the outer braces, exclusive) of the top-level function
 * `name`, or null when the file does not declare it. Methods are not matched.
 */
export function functionBody(source: string, name: string): string | null {
  const masked = maskLiterals(source);
  const decl = new RegExp(`^func\\s+${name}\\s*\\(`, "m").exec(masked);
  if (!decl) return null;
  const open = masked.indexOf("{", decl.index);
  if (open === -1) return null;
  let depth = 0;
  for (let k = open; k < masked.length; k++) {
    if (masked[k] === "{") depth++;
    else if (masked[k] === "}" && --depth === 0) return source.slice(open + 1, k);
  }
  return null;
}

/** Whether the file declares the top-level function `name`. */
export function declares(source: string, name: string): boolean {
  return new RegExp(`^func\\s+${name}\\s*\\(`, "m").test(maskLiterals(source));
}
