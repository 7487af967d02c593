/**
 * The runc strategies' audit signatures against the audit's runc rules. The
 * contract every strategy keeps, of both products (catalog lines, layouts,
 * series, kinds of change), is walked by registry.test.ts.
 */
import { describe, expect, it } from "vitest";
import { MARKER_BY_ID, MARKERS } from "../../src/audit/markers.js";
import { verdictFor, type Evidence, type EvidenceKind } from "../../src/audit/judge.js";
import { strategiesOf } from "../../src/strategy/index.js";
import type { KmemLayout } from "../../src/strategy/types.js";

const registered = strategiesOf("runc").map((s) => [s.id, s] as const);
const rows = registered.flatMap(([id, s]) => s.layouts.map((layout) => [id, layout, s] as const));
const kindOf = (id: string) => MARKER_BY_ID.get(id)?.kind;
/** Every kmem marker but the kmem limit file's name, which runc's memory.go names in every era (it reads kmem usage too). */
const KMEM_MARKERS = MARKERS.filter((m) => (m.kind === "enabled" || m.kind === "disabled") && m.id !== "enabled-string:kmem-limit-file").map((m) => m.id);

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
