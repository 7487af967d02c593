import { buildTag } from "./build-tag.js";
import { kmemOverride } from "./kmem-override.js";
import { none } from "./none.js";
import { runcBuildTag } from "./runc-build-tag.js";
import { runcNone } from "./runc-none.js";
import { runcStub } from "./runc-stub.js";
import type { AnyStrategyId, KmemLayout, Product, StrategyIdOf, StrategyOf } from "./types.js";
import { vendorStub } from "./vendor-stub.js";

/** Every strategy the tool knows, of both products, by id. */
export const STRATEGIES: { readonly [I in AnyStrategyId]: StrategyOf<I> } = {
  "vendor-stub": vendorStub,
  "build-tag": buildTag,
  "kmem-override": kmemOverride,
  none,
  "runc-stub": runcStub,
  "runc-build-tag": runcBuildTag,
  "runc-none": runcNone,
};

export function strategyFor<I extends AnyStrategyId>(id: I): StrategyOf<I> {
  return STRATEGIES[id];
}

/** The strategies of one product. */
export function strategiesOf<P extends Product>(product: P): StrategyOf<StrategyIdOf<P>>[] {
  return Object.values(STRATEGIES).filter((s) => s.product === product) as StrategyOf<StrategyIdOf<P>>[];
}

/** The strategy of a product that a tree's layout calls for when the catalog's is not compatible. */
export function strategyForLayout<P extends Product>(product: P, layout: KmemLayout): StrategyIdOf<P> {
  const preferred = strategiesOf(product).find((s) => s.preferredFor.includes(layout));
  if (!preferred) throw new Error(`no ${product} strategy is preferred for the kmem layout ${layout}`); // the registry test rules this out
  return preferred.id as StrategyIdOf<P>;
}
