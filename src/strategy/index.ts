import { buildTag } from "./build-tag.js";
import { kmemOverride } from "./kmem-override.js";
import { none } from "./none.js";
import type { KmemLayout, Strategy, StrategyId } from "./types.js";
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
  const preferred = Object.values(STRATEGIES).find((s) => s.preferredFor.includes(layout));
  if (!preferred) throw new Error(`no strategy is preferred for the kmem layout ${layout}`); // the registry test rules this out
  return preferred.id;
}
