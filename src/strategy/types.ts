import type { KmemLayout, ReleaseLine, StrategyId } from "../catalog/types.js";

/**
 * One way of making a kubelet nokmem. Each strategy is a module behind this
 * contract; src/strategy/index.ts lists them all.
 */
export interface Strategy {
  readonly id: StrategyId;
  /** Tree layouts (found by tree inspection) this strategy is right for. */
  readonly layouts: readonly KmemLayout[];
  /** Whether kubelets of this strategy's releases carry kmem-enabling code. */
  readonly affected: boolean;
  /**
   * The patch series (a folder under patches/) for a release line, or null
   * when the strategy changes no source.
   */
  patchSeries(line: ReleaseLine): string | null;
}
