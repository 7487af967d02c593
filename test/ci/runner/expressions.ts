/**
 * The subset of GitHub Actions expressions the templates use, evaluated the
 * way the runner does (docs: "Evaluate expressions in workflows and actions"):
 * literals (null, booleans, numbers, 'strings' with '' for a quote), context
 * paths (matrix.version, needs.plan.outputs.matrix, steps.x.outputs.y,
 * inputs.*, vars.*, secrets.*, env.*, github.*; a missing property is null),
 * `!`, `==`, `!=` (loose: strings compare case-insensitively, mixed types as
 * numbers), `&&` / `||` (returning an operand), parentheses, and the functions
 * fromJSON, toJSON, contains, startsWith, always, success, failure, cancelled.
 * Anything else throws, so a template cannot drift outside what is tested.
 */
export type Value = null | boolean | number | string | Value[] | { [k: string]: Value };

export interface ExprContext {
  contexts: Record<string, Value>;
  /** The job status so far, for success()/failure()/always(). */
  status?: "success" | "failure";
}

type Token = { kind: "num" | "str" | "ident" | "op" | "punct"; text: string; value?: Value };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'") {
      let s = "";
      i++;
      for (;;) {
        if (i >= src.length) throw new Error(`unterminated string in expression: ${src}`);
        if (src[i] === "'") {
          if (src[i + 1] === "'") {
            s += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += src[i++];
      }
      out.push({ kind: "str", text: s, value: s });
      continue;
    }
    const two = src.slice(i, i + 2);
    if (["==", "!=", "&&", "||", "<=", ">="].includes(two)) {
      if (two === "<=" || two === ">=") throw new Error(`operator ${two} is outside the supported subset: ${src}`);
      out.push({ kind: "op", text: two });
      i += 2;
      continue;
    }
    if (c === "!") {
      out.push({ kind: "op", text: "!" });
      i++;
      continue;
    }
    if ("().,[]".includes(c)) {
      out.push({ kind: "punct", text: c });
      i++;
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(src.slice(i));
    if (num) {
      out.push({ kind: "num", text: num[0], value: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i));
    if (id) {
      out.push({ kind: "ident", text: id[0] });
      i += id[0].length;
      continue;
    }
    throw new Error(`unexpected ${JSON.stringify(c)} in expression: ${src}`);
  }
  return out;
}

function truthy(v: Value): boolean {
  if (v === null || v === false || v === "" || v === 0) return false;
  if (typeof v === "number" && Number.isNaN(v)) return false;
  return true;
}

function toNumber(v: Value): number {
  if (v === null) return 0;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number") return v;
  if (typeof v === "string") return v.trim() === "" ? 0 : Number(v);
  return Number.NaN;
}

function looseEquals(a: Value, b: Value): boolean {
  if (typeof a === "string" && typeof b === "string") return a.toLowerCase() === b.toLowerCase();
  if (a === null && b === null) return true;
  if (typeof a === "object" || typeof b === "object") return a === b;
  if (typeof a === typeof b) return a === b;
  return toNumber(a) === toNumber(b);
}

export function toText(v: Value): string {
  if (v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "boolean" || typeof v === "number") return String(v);
  return JSON.stringify(v, null, 2);
}

function property(obj: Value, key: string): Value {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return null;
  if (key in obj) return obj[key]!;
  const found = Object.keys(obj).find((k) => k.toLowerCase() === key.toLowerCase());
  return found === undefined ? null : obj[found]!;
}

class Parser {
  private pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly ctx: ExprContext,
    private readonly src: string,
  ) {}

  parse(): Value {
    const v = this.or();
    if (this.pos < this.tokens.length) throw new Error(`unexpected ${this.tokens[this.pos]!.text} in expression: ${this.src}`);
    return v;
  }
  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }
  private eat(text: string): boolean {
    if (this.peek()?.text === text && this.peek()?.kind !== "str") {
      this.pos++;
      return true;
    }
    return false;
  }
  private expect(text: string): void {
    if (!this.eat(text)) throw new Error(`expected ${text} in expression: ${this.src}`);
  }
  private or(): Value {
    let left = this.and();
    while (this.eat("||")) {
      const right = this.and();
      left = truthy(left) ? left : right;
    }
    return left;
  }
  private and(): Value {
    let left = this.equality();
    while (this.eat("&&")) {
      const right = this.equality();
      left = truthy(left) ? right : left;
    }
    return left;
  }
  private equality(): Value {
    let left = this.unary();
    for (;;) {
      if (this.eat("==")) left = looseEquals(left, this.unary());
      else if (this.eat("!=")) left = !looseEquals(left, this.unary());
      else return left;
    }
  }
  private unary(): Value {
    if (this.eat("!")) return !truthy(this.unary());
    return this.postfix();
  }
  private postfix(): Value {
    let v = this.primary();
    for (;;) {
      if (this.eat(".")) {
        const t = this.tokens[this.pos++];
        if (!t || t.kind !== "ident") throw new Error(`expected a property name in expression: ${this.src}`);
        v = property(v, t.text);
      } else if (this.eat("[")) {
        const key = this.or();
        this.expect("]");
        v = Array.isArray(v) && typeof key === "number" ? (v[key] ?? null) : property(v, toText(key));
      } else return v;
    }
  }
  private primary(): Value {
    const t = this.tokens[this.pos++];
    if (!t) throw new Error(`unexpected end of expression: ${this.src}`);
    if (t.kind === "str" || t.kind === "num") return t.value!;
    if (t.kind === "punct" && t.text === "(") {
      const v = this.or();
      this.expect(")");
      return v;
    }
    if (t.kind !== "ident") throw new Error(`unexpected ${t.text} in expression: ${this.src}`);
    if (t.text === "true") return true;
    if (t.text === "false") return false;
    if (t.text === "null") return null;
    if (this.peek()?.text === "(") {
      this.pos++;
      const args: Value[] = [];
      if (!this.eat(")")) {
        do args.push(this.or());
        while (this.eat(","));
        this.expect(")");
      }
      return this.call(t.text, args);
    }
    if (!(t.text in this.ctx.contexts)) throw new Error(`context ${t.text} is not available here: ${this.src}`);
    return this.ctx.contexts[t.text]!;
  }
  private call(name: string, args: Value[]): Value {
    const status = this.ctx.status ?? "success";
    switch (name.toLowerCase()) {
      case "fromjson":
        return JSON.parse(toText(args[0] ?? null)) as Value;
      case "tojson":
        return JSON.stringify(args[0] ?? null, null, 2);
      case "contains": {
        const [hay, needle] = args;
        if (Array.isArray(hay)) return hay.some((h) => looseEquals(h, needle ?? null));
        return toText(hay ?? null).toLowerCase().includes(toText(needle ?? null).toLowerCase());
      }
      case "startswith":
        return toText(args[0] ?? null).toLowerCase().startsWith(toText(args[1] ?? null).toLowerCase());
      case "always":
        return true;
      case "success":
        return status === "success";
      case "failure":
        return status === "failure";
      case "cancelled":
        return false;
      default:
        throw new Error(`function ${name}() is outside the supported subset: ${this.src}`);
    }
  }
}

export function evaluate(expr: string, ctx: ExprContext): Value {
  return new Parser(tokenize(expr), ctx, expr).parse();
}

/** An `if:` condition: bare or wrapped in ${{ }}; without a status function it means `success() && (…)`. */
export function condition(expr: string | boolean | undefined, ctx: ExprContext): boolean {
  if (expr === undefined) return (ctx.status ?? "success") === "success";
  if (typeof expr === "boolean") return expr && (ctx.status ?? "success") === "success";
  const m = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(expr);
  const body = m ? m[1]! : expr;
  const hasStatus = /\b(always|success|failure|cancelled)\s*\(/i.test(body);
  const value = truthy(evaluate(body, ctx));
  return hasStatus ? value : value && (ctx.status ?? "success") === "success";
}

/**
 * Substitute every ${{ … }} in a string. A string that is exactly one
 * expression keeps the expression's value (so `matrix: ${{ fromJSON(…) }}`
 * gives an object); otherwise values are spliced in as text.
 */
export function interpolate(text: string, ctx: ExprContext): Value {
  const whole = /^\s*\$\{\{([\s\S]*?)\}\}\s*$/.exec(text);
  if (whole && !whole[1]!.includes("}}")) return evaluate(whole[1]!, ctx);
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, body: string) => toText(evaluate(body, ctx)));
}

/** Interpolate every string inside a YAML value (with:, env:, strategy:). */
export function interpolateDeep(node: unknown, ctx: ExprContext): Value {
  if (typeof node === "string") return interpolate(node, ctx);
  if (Array.isArray(node)) return node.map((n) => interpolateDeep(n, ctx));
  if (node && typeof node === "object") return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateDeep(v, ctx)]));
  return (node ?? null) as Value;
}
