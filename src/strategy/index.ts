import type { KmemLayout, StrategyId } from "../catalog/types.js";
import { buildTag } from "./build-tag.js";
import { kmemOverride } from "./kmem-override.js";
import { none } from "./none.js";
import type { Strategy } from "./types.js";
import { vendorStub } from "./vendor-stub.js";


/** Every strategy the tool knows, by id. */
export const STRATEGIES: Readonly<Record<StrategyId, Strategy>> = {
  "vendor-stub": vendorStub,
  "build-tag": buildTag,
  "kmem-override": kmemOverride,
  none,
};

export function strategyFor(id: StrategyId): Strategy {
  return STRATEGIES[id];
}

/** The strategy a tree's layout calls for when the catalog's is not compatible. */
export function strategyForLayout(layout: KmemLayout): StrategyId {
  switch (layout) {
    case "legacy":
    case "absent":
      return "none";
    case "pre-split":
      return "vendor-stub";
    case "split-rc6":
    case "split-rc7+":
      return "build-tag";
  }
}
