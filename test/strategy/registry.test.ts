/**
 * The one test that walks every registered strategy (STYLE.md): each is in
 * the catalog, declares the layouts it handles, and every release line that
 * uses it expects a layout it accepts. Tree inspection relies on this when it
 * checks the catalog's answer against the tree.
 */
import { describe, expect, it } from "vitest";
import { loadCatalog } from "../../src/catalog/load.js";
import { KMEM_LAYOUTS, STRATEGY_IDS, type StrategyId } from "../../src/catalog/types.js";
import { STRATEGIES, strategyFor, strategyForLayout } from "../../src/strategy/index.js";

const catalog = loadCatalog();
const registered = Object.entries(STRATEGIES) as [StrategyId, (typeof STRATEGIES)[StrategyId]][];

describe("the strategy registry", () => {
  it("registers exactly the strategy ids the catalog types know", () => {
    expect(registered.map(([id]) => id).sort()).toEqual([...STRATEGY_IDS].sort());
  });

  it.each(registered)("%s: registered under its own id, described in the catalog, with layouts", (id, strategy) => {
    expect(strategy.id).toBe(id);
    expect(strategyFor(id)).toBe(strategy);
    expect(catalog.strategies[id], `versions.json strategies.${id}`).toBeDefined();
    expect(strategy.layouts.length).toBeGreaterThan(0);
    for (const layout of strategy.layouts) expect(KMEM_LAYOUTS).toContain(layout);
  });

  it.each(registered)("%s: every catalog line using it expects a layout it accepts", (id, strategy) => {
    const lines = catalog.lines.filter((l) => l.strategy === id);
    expect(lines.length, `no catalog line uses ${id}`).toBeGreaterThan(0);
    for (const l of lines) expect(strategy.layouts, `line ${l.line} (${l.range})`).toContain(l.kmemLayout);
  });

  it.each(registered)("%s: affected exactly when it changes something (a tag or a file)", (id, strategy) => {
    const entry = catalog.strategies[id];
    const changesSomething = entry.changes.length > 0 || Object.keys(entry.env).length > 0;
    expect(strategy.affected).toBe(changesSomething);
  });

  it.each(KMEM_LAYOUTS)("layout %s: strategyForLayout picks a strategy that accepts it", (layout) => {
    expect(STRATEGIES[strategyForLayout(layout)].layouts).toContain(layout);
  });

  it("every layout is handled by some strategy", () => {
    const handled = new Set(registered.flatMap(([, s]) => s.layouts));
    expect([...handled].sort()).toEqual([...KMEM_LAYOUTS].sort());
  });
});

describe("preferred strategy per kmem layout (replaces a switch over layouts)", () => {
  it.each(KMEM_LAYOUTS)("layout %s is preferred by exactly one strategy, which accepts it", (layout) => {
    const preferring = Object.values(STRATEGIES).filter((s) => s.preferredFor.includes(layout));
    expect(preferring.map((s) => s.id)).toHaveLength(1);
    expect(preferring[0]!.layouts).toContain(layout);
    expect(strategyForLayout(layout)).toBe(preferring[0]!.id);
  });
});
