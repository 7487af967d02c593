/**
 * The runc strategies (src/strategy/runc*.ts) against the catalog's runc
 * lines, their patch series and the audit: the same contract as the kubelet
 * strategies' registry test, for the second product.
 */
import { describe, expect, it } from "vitest";
import { loadCatalog } from "../../src/catalog/load.js";
import { MARKER_BY_ID, MARKERS } from "../../src/audit/markers.js";
import { verdictFor, type Evidence, type EvidenceKind } from "../../src/audit/judge.js";
import { loadSeries } from "../../src/patch/series.js";
import { RUNC_STRATEGIES, runcStrategyForLayout } from "../../src/strategy/runc.js";
import { KMEM_LAYOUTS, type KmemLayout } from "../../src/strategy/types.js";

const catalog = loadCatalog();
const registered = Object.entries(RUNC_STRATEGIES);
const rows = registered.flatMap(([id, s]) => s.layouts.map((layout) => [id, layout, s] as const));
const kindOf = (id: string) => MARKER_BY_ID.get(id)?.kind;
/** Every kmem marker but the kmem limit file's name, which runc's memory.go names in every era (it reads kmem usage too). */
const KMEM_MARKERS = MARKERS.filter((m) => (m.kind === "enabled" || m.kind === "disabled") && m.id !== "enabled-string:kmem-limit-file").map((m) => m.id);

describe("runc strategy registry", () => {
  it.each(registered)("%s: registered under its own id", (id, s) => {
    expect(s.id).toBe(id);
  });

  it.each(registered)("%s: some catalog runc line uses it, with a layout it accepts", (id, s) => {
    const using = (catalog.runcLines ?? []).filter((l) => l.strategy === id);
    expect(using.length, `no runcLines entry has "strategy": "${id}"`).toBeGreaterThan(0);
    for (const l of using) expect(s.layouts, `line ${l.line} (${l.range})`).toContain(l.kmemLayout);
  });

  it("each kmem layout has exactly one runc strategy", () => {
    for (const layout of KMEM_LAYOUTS) {
      expect(
        registered.filter(([, s]) => s.layouts.includes(layout)).map(([id]) => id),
        layout,
      ).toHaveLength(1);
      expect(RUNC_STRATEGIES[runcStrategyForLayout(layout)].layouts).toContain(layout);
    }
  });

  it.each(registered)("%s: affected exactly when it changes a file or adds a tag", (_id, s) => {
    expect(s.affected).toBe(s.changes.length > 0 || s.addTags.length > 0);
  });

  it.each(registered.filter(([, s]) => s.changes.length))("%s: its series touches exactly its changes, and says why", (_id, s) => {
    const series = loadSeries(s.patchSeries("1.0.0-rc4")!);
    const touched = [...new Set(series.patches.flatMap((p) => p.files.map((f) => f.newPath ?? f.oldPath)))].sort();
    expect(touched).toEqual([...s.changes].sort());
    for (const p of series.patches) expect(p.headers.Description ?? "").not.toBe("");
  });
});

describe("runc audit signatures", () => {
  it.each(rows)("%s on %s: names every runc kmem marker once, present or absent", (_id, layout, s) => {
    const sig = s.signatures[layout]!;
    expect([...sig.present, ...sig.absent].sort()).toEqual([...KMEM_MARKERS].sort());
  });

  /** What the audit says about a runc of an exact release of this layout carrying exactly these markers. */
  function auditSays(layout: KmemLayout, present: readonly string[], version = layout === "absent" ? "1.0.0-rc94" : "1.0.0-rc6") {
    const evidence: Evidence[] = present.map((m) => ({ id: m, kind: kindOf(m) as EvidenceKind, detail: m }));
    return verdictFor({ program: "runc", evidence, release: null, kubernetesVersion: null, versionTrusted: false, runcVersion: version, runcLayout: layout });
  }

  it.each(rows)("%s on %s: the audit gives the signature's verdict for exactly its present markers", (_id, layout, s) => {
    const sig = s.signatures[layout]!;
    expect(auditSays(layout, sig.present).verdict).toBe(sig.verdict);
  });

  it("an rc6 runc without any marker is patched only when its stamped release is known to be rc6", () => {
    expect(auditSays("split-rc6", []).verdict).toBe("patched");
    expect(
      verdictFor({ program: "runc", evidence: [], release: null, kubernetesVersion: null, versionTrusted: false, runcVersion: "1.0.0-rc6", runcLayout: null })
        .verdict,
    ).toBe("unknown");
    expect(auditSays("split-rc7+", [], "1.0.0-rc93").verdict).toBe("unknown");
    expect(auditSays("pre-split", [], "1.0.0-rc4").verdict).toBe("unknown");
  });

  it("a normal runc of an affected era is unpatched", () => {
    expect(auditSays("pre-split", ["enabled-string:kmem-limit-file", "enabled-string:kmem-failed-to-set"], "1.0.0-rc4").verdict).toBe("unpatched");
    expect(auditSays("split-rc7+", ["enabled-string:kmem-not-supported", "source-path:kmem.go"], "1.0.0-rc93").verdict).toBe("unpatched");
  });
});
