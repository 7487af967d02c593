import { runcBuildTag } from "./runc-build-tag.js";
import { runcNone } from "./runc-none.js";
import { runcStub } from "./runc-stub.js";
import type { RuncStrategy, RuncStrategyId } from "./runc-types.js";
import type { KmemLayout } from "./types.js";

/** Every runc strategy the tool knows, by id. */
export const RUNC_STRATEGIES: Readonly<Record<RuncStrategyId, RuncStrategy>> = {
  "runc-stub": runcStub,
  "runc-build-tag": runcBuildTag,
  "runc-none": runcNone,
};

export function runcStrategyFor(id: RuncStrategyId): RuncStrategy {
  return RUNC_STRATEGIES[id];
}

/** The runc strategy a tree's layout calls for (each layout has exactly one; the registry test checks it). */
export function runcStrategyForLayout(layout: KmemLayout): RuncStrategyId {
  const s = Object.values(RUNC_STRATEGIES).find((x) => x.layouts.includes(layout));
  if (!s) throw new Error(`no runc strategy accepts the kmem layout ${layout}`);
  return s.id;
}
