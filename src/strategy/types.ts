import type { Verdict } from "../verdict.js";

/**
 * What a build makes: the kubelet, or the runtime's runc (docs/runc.md).
 * Part of every strategy, plan and record (externalParameters.product, the
 * verdict's product, pins, matrix entries), never inferred from a file name.
 */
export const PRODUCTS = ["kubelet", "runc"] as const;
export type Product = (typeof PRODUCTS)[number];

/** The kubelet's strategies (versions.json `lines`). */
export const STRATEGY_IDS = ["vendor-stub", "build-tag", "kmem-override", "none"] as const;
export type StrategyId = (typeof STRATEGY_IDS)[number];
/** The runtime's runc's strategies (versions.json `runcLines`). */
export const RUNC_STRATEGY_IDS = ["runc-stub", "runc-build-tag", "runc-none"] as const;
export type RuncStrategyId = (typeof RUNC_STRATEGY_IDS)[number];
/** A strategy of either product. */
export type AnyStrategyId = StrategyId | RuncStrategyId;
/** The strategy ids of one product. */
export type StrategyIdOf<P extends Product> = P extends "runc" ? RuncStrategyId : StrategyId;

/** Where runc's cgroup v1 fs driver lives in runc's own tree. */
export const RUNC_TREE_FS_DIR = "libcontainer/cgroups/fs";

/**
 * How the vendored runc's kmem code is laid out in a tree.
 * - legacy: memory.go without EnableKernelMemoryAccounting (kubelet never enables kmem)
 * - pre-split: both kmem functions in memory.go, no build tag (runc rc4/rc5)
 * - split-rc6: kmem.go + kmem_disabled.go, the disabled variant returns nil from both (f000fe1)
 * - split-rc7+: as split-rc6, but disabled setKernelMemory returns an error (rc7 … rc93)
 * - absent: no kmem code at all (runc rc94+)
 */
export const KMEM_LAYOUTS = ["legacy", "pre-split", "split-rc6", "split-rc7+", "absent"] as const;
export type KmemLayout = (typeof KMEM_LAYOUTS)[number];

/**
 * The id of one of the audit's byte markers (src/audit/markers.ts), e.g.
 * `disabled-string:runc-build`. A plain string here: the audit sits five
 * layers above, so strategies name its markers without importing them; the
 * registry test checks that each id exists and has the right kind.
 */
export type MarkerId = string;

/**
 * What the audit finds in a kubelet built with a strategy (its series
 * applied, its env set), for one kmem layout the strategy accepts. The
 * signature test builds each era fixture this way and compares.
 */
export interface AuditSignature {
  /** The kmem markers (enabled or disabled kind) the kubelet carries. */
  readonly present: readonly MarkerId[];
  /** The kmem markers it does not carry: with `present`, every kmem marker the audit knows. */
  readonly absent: readonly MarkerId[];
  /** The audit's verdict on such a kubelet: `patched`, or `not-affected` for releases without kmem code. */
  readonly verdict: Verdict;
  /**
   * Other nokmem forms of the same change that carry no kmem marker at all,
   * where this strategy's own build does carry a disabled one. The audit
   * rests `patched` on the mere absence of the enabled-only strings for the
   * layouts where an affected strategy's build has no disabled marker, or
   * names such forms (src/audit/judge.ts); elsewhere finding no marker is
   * a reason to doubt.
   */
  readonly markerlessForms?: string;
}

/**
 * What kind of change a strategy makes, as the build's provenance and SBOMs
 * record it: source patches (its series), a build setting (its env), or none.
 */
export const CHANGE_KINDS = ["patches", "build-setting", "none"] as const;
type ChangeKind = (typeof CHANGE_KINDS)[number];

/**
 * One way of making a kubelet or a runc nokmem: everything the tool knows
 * about it. Each strategy is a module behind this contract (made with
 * `defineStrategy`); src/strategy/index.ts lists them all, of both products.
 * The products differ in one thing only, how a build setting reaches the
 * compiler: Kubernetes' Makefile has no BUILDTAGS, so a kubelet strategy sets
 * the build environment (`env`, GOFLAGS=-tags=nokmem); runc's Makefile
 * honours BUILDTAGS, so a runc strategy names tags added to the Makefile's own
 * default on make's command line (`addTags`).
 */
interface StrategyContract<P extends Product> {
  readonly product: P;
  readonly id: StrategyIdOf<P>;
  /** One sentence: what the strategy does to the tree or the build. */
  readonly summary: string;
  /**
   * The kind of change it makes: `patches` when it changes source (a series,
   * even if it sets a build setting as well), `build-setting` when only its
   * env or tags make the binary nokmem, `none` when nothing needs changing.
   */
  readonly change: ChangeKind;
  /** Files (relative to the product's tree) its patch series change; empty when it changes no source. */
  readonly changes: readonly string[];
  /** Tree layouts (found by tree inspection) this strategy is right for. */
  readonly layouts: readonly KmemLayout[];
  /**
   * Layouts for which this is the strategy to use when the catalog's does not
   * fit the tree. Each layout is preferred by exactly one strategy of each
   * product (the registry test checks this).
   */
  readonly preferredFor: readonly KmemLayout[];
  /** Whether binaries of this strategy's releases carry kmem-enabling code. */
  readonly affected: boolean;
  /**
   * The patch series (a folder under patches/) for a release line, or null
   * when the strategy changes no source.
   */
  patchSeries(line: { line: string }): string | null;
  /** What the audit finds in a binary built this way, per layout in `layouts`. */
  readonly signatures: Readonly<Partial<Record<KmemLayout, AuditSignature>>>;
}

export interface KubeletStrategy extends StrategyContract<"kubelet"> {
  /** Build environment the strategy needs, over the line's, e.g. GOFLAGS=-tags=nokmem. */
  readonly env: Readonly<Record<string, string>>;
}

export interface RuncStrategy extends StrategyContract<"runc"> {
  /** Go build tags added to the tree's Makefile default (`BUILDTAGS ?= seccomp` …); never replacing it. */
  readonly addTags: readonly string[];
}

export type Strategy = KubeletStrategy | RuncStrategy;
/** The strategy of an id: a kubelet's or a runc's. */
export type StrategyOf<I extends AnyStrategyId> = I extends RuncStrategyId ? RuncStrategy : KubeletStrategy;

/** A strategy's definition: a signature for exactly the layouts it accepts (checked when compiling). */
type StrategyDefinition<S extends Strategy, L extends KmemLayout> = Omit<S, "layouts" | "signatures"> & {
  readonly layouts: readonly L[];
  readonly signatures: { readonly [K in NoInfer<L>]: AuditSignature };
};

export function defineStrategy<const L extends KmemLayout>(definition: StrategyDefinition<KubeletStrategy, L>): KubeletStrategy;
export function defineStrategy<const L extends KmemLayout>(definition: StrategyDefinition<RuncStrategy, L>): RuncStrategy;
export function defineStrategy(definition: Strategy): Strategy {
  return definition;
}
