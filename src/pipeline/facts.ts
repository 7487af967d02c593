/**
 * The facts a build learns while it runs, each bound exactly once, and the one
 * function that puts them into the plan's pending fields.
 */
import { isPending, UNKNOWN, type Fact, type Later, type Pending } from "./make-invocation.js";

/** A plan value with every pending fact filled in. */
export type Bound<T> = T extends Pending
  ? never
  : T extends readonly unknown[]
    ? { [K in keyof T]: Bound<T[K]> }
    : T extends object
      ? { [K in keyof T]: Bound<T[K]> }
      : T;

export class Facts {
  private readonly values = new Map<Fact, unknown>();

  /** Bind a fact. A second binding is a bug: each fact has one owner step. */
  set<T>(fact: Fact, value: T): T {
    if (this.values.has(fact)) throw new Error(`internal: the fact ${fact} was bound twice`);
    this.values.set(fact, value);
    return value;
  }

  has(fact: Fact): boolean {
    return this.values.has(fact);
  }

  get<T>(fact: Fact): T {
    if (!this.values.has(fact)) throw new Error(`internal: the fact ${fact} is used before it is bound`);
    return this.values.get(fact) as T;
  }

  /** One value: its fact, or itself when it was never pending. */
  value<T>(v: Later<T>): T {
    return bind(v, (p) => this.fill(p)) as T;
  }

  /** A whole plan part with every pending field filled in. */
  bind<T>(v: T): Bound<T> {
    return bind(v, (p) => this.fill(p)) as Bound<T>;
  }

  private fill(p: Pending): unknown {
    const v = this.get(p.pending);
    return p.template ? p.template.replace("{}", String(v)) : v;
  }

  /** Everything bound so far, for the --json result and the log. */
  toJSON(): Record<string, unknown> {
    return Object.fromEntries(this.values);
  }
}

/** Pending fields shown as `<fact>` (a dry run's docker arguments). */
export function showPending<T>(v: T): Bound<T> {
  return bind(v, (p) => (p.template ? p.template.replace("{}", UNKNOWN(p.pending)) : UNKNOWN(p.pending))) as Bound<T>;
}

function bind(v: unknown, fill: (p: Pending) => unknown): unknown {
  if (isPending(v)) return fill(v);
  if (Array.isArray(v)) return v.map((x) => bind(x, fill));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, bind(x, fill)]));
  return v;
}
