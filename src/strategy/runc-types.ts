/**
 * The runtime's own runc as a product (docs/domain.md, "The node's runc"): the
 * ways of building a runc that never enables kmem accounting. Same shape as
 * the kubelet strategies (./types.ts), but runc's Makefile honours BUILDTAGS,
 * so a strategy names Go build tags to add to the Makefile's default instead
 * of a build environment.
 */
import type { AuditSignature, KmemLayout } from "./types.js";

export const RUNC_STRATEGY_IDS = ["runc-stub", "runc-build-tag", "runc-none"] as const;
export type RuncStrategyId = (typeof RUNC_STRATEGY_IDS)[number];

export interface RuncStrategy {
  readonly id: RuncStrategyId;
  /** One sentence: what the strategy does to the tree or the build. */
  readonly summary: string;
  /** Go build tags added to the tree's Makefile default (`BUILDTAGS ?= seccomp` …); never replacing it. */
  readonly addTags: readonly string[];
  /** Files (relative to a runc tree) its patch series change; empty when it changes no source. */
  readonly changes: readonly string[];
  /** Layouts of `libcontainer/cgroups/fs` this strategy is right for. */
  readonly layouts: readonly KmemLayout[];
  /** Whether runcs of this strategy's releases enable kmem accounting. */
  readonly affected: boolean;
  /** The patch series (a folder under patches/) for a runc release, or null. */
  patchSeries(version: string): string | null;
  /** What the audit finds in a runc built this way, per layout in `layouts`. */
  readonly signatures: Readonly<Partial<Record<KmemLayout, AuditSignature>>>;
}

type RuncStrategyDefinition<L extends KmemLayout> = Omit<RuncStrategy, "layouts" | "signatures"> & {
  readonly layouts: readonly L[];
  readonly signatures: { readonly [K in NoInfer<L>]: AuditSignature };
};

export function defineRuncStrategy<const L extends KmemLayout>(definition: RuncStrategyDefinition<L>): RuncStrategy {
  return definition;
}

/** Where runc's cgroup v1 fs driver lives in runc's own tree. */
export const RUNC_TREE_FS_DIR = "libcontainer/cgroups/fs";
