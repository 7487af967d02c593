export const STRATEGY_IDS = ["vendor-stub", "build-tag", "kmem-override", "none"] as const;
export type StrategyId = (typeof STRATEGY_IDS)[number];

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
 * One way of making a kubelet nokmem. Each strategy is a module behind this
 * contract; src/strategy/index.ts lists them all.
 */
export interface Strategy {
  readonly id: StrategyId;
  /** Tree layouts (found by tree inspection) this strategy is right for. */
  readonly layouts: readonly KmemLayout[];
  /**
   * Layouts for which this is the strategy to use when the catalog's does not
   * fit the tree. Each layout is preferred by exactly one strategy (the
   * registry test checks this).
   */
  readonly preferredFor: readonly KmemLayout[];
  /** Whether kubelets of this strategy's releases carry kmem-enabling code. */
  readonly affected: boolean;
  /**
   * The patch series (a folder under patches/) for a release line, or null
   * when the strategy changes no source.
   */
  patchSeries(line: { line: string }): string | null;
}
