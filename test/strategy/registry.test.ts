/**
 * The contract every registered strategy keeps, of both products (docs/architecture.md, "How to add
 * a strategy": one test walks the registry). A strategy is one module in src/strategy/; this test is what
 * tells its author what else it needs: a catalog line that uses it, a patch
 * series per such line touching exactly the files it declares, an audit
 * signature for every layout it accepts whose marker ids the audit knows and
 * whose verdict the audit really gives. test/strategy/signature.slow.test.ts
 * then builds each era fixture the strategy's way and audits it.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MARKERS } from "../../src/audit/markers.js";
import { isSilentSignature, SILENT_WHEN_DISABLED, verdictFor, type Evidence, type EvidenceKind } from "../../src/audit/judge.js";
import { loadCatalog } from "../../src/catalog/load.js";
import { loadSeries, PATCHES_ROOT } from "../../src/patch/series.js";
import { STRATEGIES, strategiesOf, strategyFor, strategyForLayout } from "../../src/strategy/index.js";
import {
  CHANGE_KINDS,
  KMEM_LAYOUTS,
  PRODUCTS,
  RUNC_STRATEGY_IDS,
  STRATEGY_IDS,
  type AnyStrategyId,
  type AuditSignature,
  type KmemLayout,
  type KubeletStrategy,
  type Strategy,
  type StrategyId,
} from "../../src/strategy/types.js";

const catalog = loadCatalog();
const registered = Object.entries(STRATEGIES) as [AnyStrategyId, Strategy][];
const kubelet = registered.filter((r): r is [StrategyId, KubeletStrategy] => r[1].product === "kubelet");
/** The catalog lines of a strategy's product that use it: `lines` for a kubelet's, `runcLines` for a runc's. */
const linesUsing = (id: AnyStrategyId) => [...catalog.lines, ...(catalog.runcLines ?? [])].filter((l) => l.strategy === id);
/** What a strategy's build setting changes: the env a kubelet is built with, the tags a runc's Makefile default gets. */
const buildSetting = (s: Strategy): readonly string[] => (s.product === "kubelet" ? Object.keys(s.env) : s.addTags);
/** The series every catalog line's strategy names, of both products. */
const linesUsingAny = () => [...catalog.lines, ...(catalog.runcLines ?? [])].map((l) => strategyFor(l.strategy).patchSeries(l));
const layoutRows = PRODUCTS.flatMap((product) => KMEM_LAYOUTS.map((layout) => [product, layout] as const));

/** The audit's kmem markers: the ones a signature speaks about (identity and structure markers say nothing about kmem). */
const KMEM_MARKERS = MARKERS.filter((m) => m.kind === "enabled" || m.kind === "disabled");
const kindOf = (id: string) => MARKERS.find((m) => m.id === id)?.kind;

describe("the strategy registry", () => {
  it("registers exactly the strategy ids the catalog types know, of both products", () => {
    expect(registered.map(([id]) => id).sort()).toEqual([...STRATEGY_IDS, ...RUNC_STRATEGY_IDS].sort());
    expect(
      strategiesOf("kubelet")
        .map((s) => s.id)
        .sort(),
    ).toEqual([...STRATEGY_IDS].sort());
    expect(
      strategiesOf("runc")
        .map((s) => s.id)
        .sort(),
    ).toEqual([...RUNC_STRATEGY_IDS].sort());
  });

  it.each(registered)("%s: registered under its own id, with a summary and layouts", (id, strategy) => {
    expect(strategy.id).toBe(id);
    expect(strategyFor(id)).toBe(strategy);
    expect(strategy.summary.trim()).not.toBe("");
    expect(strategy.layouts.length).toBeGreaterThan(0);
    for (const layout of strategy.layouts) expect(KMEM_LAYOUTS).toContain(layout);
  });

  it.each(registered)("%s: some catalog line of its product uses it, and every such line expects a layout it accepts", (id, strategy) => {
    const lines = linesUsing(id);
    expect(lines.length, `no ${strategy.product === "runc" ? "runcLines" : "lines"} entry in versions.json has "strategy": "${id}"`).toBeGreaterThan(0);
    for (const l of lines) expect(strategy.layouts, `line ${l.line} (${l.range})`).toContain(l.kmemLayout);
  });

  it.each(registered)("%s: affected exactly when it changes something (a build setting or a file)", (_id, strategy) => {
    const changesSomething = strategy.changes.length > 0 || buildSetting(strategy).length > 0;
    expect(strategy.affected).toBe(changesSomething);
  });

  it.each(layoutRows)("%s, layout %s: strategyForLayout picks a strategy of the product that accepts it", (product, layout) => {
    const id = strategyForLayout(product, layout);
    expect(strategyFor(id).product).toBe(product);
    expect(strategyFor(id).layouts).toContain(layout);
  });

  it.each(PRODUCTS)("%s: every layout is handled by some strategy of the product", (product) => {
    const handled = new Set(strategiesOf(product).flatMap((s) => s.layouts));
    expect([...handled].sort()).toEqual([...KMEM_LAYOUTS].sort());
  });
});

describe("preferred strategy per kmem layout (replaces a switch over layouts)", () => {
  it.each(layoutRows)("%s, layout %s is preferred by exactly one strategy of the product, which accepts it", (product, layout) => {
    const preferring = strategiesOf(product).filter((s) => s.preferredFor.includes(layout));
    expect(preferring.map((s) => s.id)).toHaveLength(1);
    expect(preferring[0]!.layouts).toContain(layout);
    expect(strategyForLayout(product, layout)).toBe(preferring[0]!.id);
  });
});

describe("patch series: one per line that uses a strategy with changed files", () => {
  const rows = [...catalog.lines, ...(catalog.runcLines ?? [])].map((l) => [l.line, l.range, l.strategy, l] as const);
  it.each(rows)("line %s (%s, %s) has the series its strategy names, touching exactly the files it declares", (_line, _range, id, line) => {
    const strategy = strategyFor(id);
    const seriesId = strategy.patchSeries(line);
    if (!strategy.changes.length) {
      expect(seriesId, `${id} declares no changed files, so it needs no series`).toBeNull();
      return;
    }
    // A kubelet's series is per line; runc's stubs are one series for its one pre-split layout.
    if (strategy.product === "kubelet") expect(seriesId).toBe(`${id}/${line.line}`);
    const series = loadSeries(seriesId!); // a missing patches/<id>/<line>/series ends here, naming the path
    const touched = [...new Set(series.patches.flatMap((p) => p.files.map((f) => f.newPath ?? f.oldPath)))].sort();
    expect(touched, `the files patches/${seriesId}/ touches vs ${id}'s changes`).toEqual([...strategy.changes].sort());
    for (const p of series.patches) {
      expect(p.sha256).toMatch(/^[0-9a-f]{64}$/);
      if (strategy.product === "kubelet") expect(p.headers.Bug ?? "", `${p.name}: Bug header`).toContain("kubernetes/kubernetes/issues/61937");
      expect(p.headers.Description ?? "", `${p.name}: Description header`).not.toBe("");
    }
  });

  it("every series folder under patches/ belongs to a line that uses its strategy (no stale series)", () => {
    const wanted = new Set(linesUsingAny().filter((s): s is string => s !== null));
    const found = readdirSync(PATCHES_ROOT, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) =>
        readdirSync(join(PATCHES_ROOT, d.name), { withFileTypes: true })
          .filter((s) => s.isDirectory() && s.name !== "common")
          .map((s) => `${d.name}/${s.name}`),
      );
    expect(found.filter((f) => !wanted.has(f)).sort(), "series folders no line uses").toEqual([]);
  });
});

describe("the preferred strategy of a layout", () => {
  it("a layout no strategy prefers is a bug, said as such", () => {
    expect(() => strategyForLayout("kubelet", "no-such-layout" as KmemLayout)).toThrow(
      new Error("no kubelet strategy is preferred for the kmem layout no-such-layout"),
    );
    expect(() => strategyForLayout("runc", "no-such-layout" as KmemLayout)).toThrow(
      new Error("no runc strategy is preferred for the kmem layout no-such-layout"),
    );
  });
});

describe("the kind of change", () => {
  it.each(registered)(
    "%s: declares patches exactly when it changes files, a build setting when only its env or tags do it, none when not affected",
    (_id, s) => {
      const expected = s.changes.length ? "patches" : buildSetting(s).length ? "build-setting" : "none";
      expect(CHANGE_KINDS).toContain(s.change);
      expect(s.change).toBe(expected);
      expect(s.change === "none").toBe(!s.affected);
      expect(s.change === "patches").toBe(s.patchSeries({ line: "1.16" }) !== null);
    },
  );
});

describe("kubelet audit signatures (runc's: runc-registry.test.ts)", () => {
  const rows = kubelet.flatMap(([id, s]) => s.layouts.map((layout) => [id, layout, s] as const));

  it.each(registered)("%s: a signature for exactly the layouts it accepts", (_id, strategy: Strategy) => {
    expect(Object.keys(strategy.signatures).sort()).toEqual([...strategy.layouts].sort());
  });

  it.each(rows)("%s on %s: names every kmem marker the audit knows, once, as present or absent", (_id, layout, strategy) => {
    const sig = strategy.signatures[layout]!;
    for (const id of [...sig.present, ...sig.absent]) {
      expect(["enabled", "disabled"], `${id}: a kmem marker in src/audit/markers.ts`).toContain(kindOf(id));
    }
    const named = [...sig.present, ...sig.absent];
    expect(new Set(named).size, "a marker named twice").toBe(named.length);
    expect([...named].sort()).toEqual(KMEM_MARKERS.map((m) => m.id).sort());
  });

  it.each(rows)("%s on %s: its verdict is patched for an affected strategy, not-affected otherwise", (_id, layout, strategy) => {
    expect(strategy.signatures[layout]!.verdict).toBe(strategy.affected ? "patched" : "not-affected");
  });

  it.each(rows)("%s on %s: a patched kubelet carries no enabled-only marker", (_id, layout, strategy) => {
    const sig = strategy.signatures[layout]!;
    if (sig.verdict === "patched") expect(sig.present.filter((id) => kindOf(id) === "enabled")).toEqual([]);
  });

  it.each(rows)("%s on %s: markerless forms are named only where its own build carries a disabled marker", (_id, layout, strategy) => {
    const sig = strategy.signatures[layout]!;
    if (sig.markerlessForms === undefined) return;
    expect(strategy.affected).toBe(true);
    expect(
      sig.present.some((id) => kindOf(id) === "disabled"),
      "a build without a disabled marker is silent already",
    ).toBe(true);
  });

  /** What verdictFor says about a trusted kubelet of a release of this strategy and layout carrying exactly these markers. */
  function auditSays(id: StrategyId, layout: KmemLayout, strategy: KubeletStrategy, present: readonly string[]) {
    const version = `${linesUsing(id)[0]?.line ?? "1.99"}.0`; // any release: verdictFor reads the facts given, not the catalog
    const evidence: Evidence[] = present.map((m) => ({ id: m, kind: kindOf(m) as EvidenceKind, detail: m }));
    return verdictFor({
      program: "kubelet",
      evidence,
      release: { version, line: version.split(".").slice(0, 2).join("."), strategy: id, kmemLayout: layout, affected: strategy.affected },
      kubernetesVersion: `v${version}`,
      versionTrusted: true,
      runcVersion: null,
    });
  }

  it.each(rows)("%s on %s: the audit gives the signature's verdict for exactly its present markers", (id, layout, strategy) => {
    const sig = strategy.signatures[layout]!;
    expect(auditSays(id, layout, strategy, sig.present).verdict).toBe(sig.verdict);
  });

  // The audit's own rule (src/audit/judge.ts), called, not copied: a signature is silent when its build carries no disabled marker or it names markerless forms.
  it.each([
    ["no marker at all", { present: [], absent: [], verdict: "patched" }, true],
    ["an enabled marker only", { present: ["enabled-string:kmem-limit-file"], absent: [], verdict: "patched" }, true],
    ["the disabled string", { present: ["disabled-string:runc-build"], absent: [], verdict: "patched" }, false],
    ["the disabled file name", { present: ["source-path:kmem_disabled.go"], absent: [], verdict: "patched" }, false],
    ["a disabled marker, and markerless forms", { present: ["disabled-string:runc-build"], absent: [], verdict: "patched", markerlessForms: "by hand" }, true],
  ] as [string, AuditSignature, boolean][])("a signature with %s is silent: %s", (_what, sig, silent) => {
    expect(isSilentSignature(sig)).toBe(silent);
  });

  it("the silent layouts are those of the registered signatures: pre-split (vendor-stub's markerless forms) and split-rc6 (inlined away)", () => {
    expect([...SILENT_WHEN_DISABLED].sort()).toEqual(["pre-split", "split-rc6"]);
  });

  it.each(rows.filter(([, , s]) => s.affected))("%s on %s: the audit rests patched on absence exactly when the signature is silent", (id, layout, strategy) => {
    const sig: AuditSignature = strategy.signatures[layout]!;
    const verdict = auditSays(id, layout, strategy, []).verdict;
    if (isSilentSignature(sig)) expect(verdict).toBe("patched");
    // A layout is silent for the audit when any affected strategy's signature is.
    expect(verdict).toBe(SILENT_WHEN_DISABLED.has(layout) ? "patched" : "unknown");
  });
});
