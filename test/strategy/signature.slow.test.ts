/**
 * Each strategy's audit signature against a real build: for every era
 * fixture, the strategy its catalog line uses is applied by the real patch
 * engine (as `kubelet-nokmem patch` does), the kubelet is built with
 * `make WHAT=cmd/kubelet`, Go 1.19 and the resolution's env (the strategy's
 * over the line's, as `build` passes it), and audited from its bytes. The
 * kmem markers found must be exactly the signature's `present`, and the
 * verdict its `verdict`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditFile } from "../../src/audit/index.js";
import { MARKER_BY_ID } from "../../src/audit/markers.js";
import { loadCatalog } from "../../src/catalog/load.js";
import { resolve } from "../../src/catalog/resolve.js";
import { strategyFor } from "../../src/strategy/index.js";
import { ERA_FACTS, ERAS } from "../fixtures/k8s-tree.js";
import { buildFixtureKubelet } from "../fixtures/kubelet-build.js";

const catalog = loadCatalog();
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "strategy-signature-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const cases = ERAS.map((era) => {
  const resolution = resolve(catalog, ERA_FACTS[era].version);
  return { era, strategy: resolution.strategy, layout: resolution.kmemLayout, resolution };
});

describe("a kubelet built with each era's strategy shows that strategy's audit signature", () => {
  it.each(cases)("$era: $strategy on $layout", async ({ era, strategy, layout, resolution }) => {
    const signature = strategyFor(strategy).signatures[layout];
    expect(signature, `${strategy} has no audit signature for ${layout}`).toBeDefined();
    const file = await buildFixtureKubelet(work, `era-${era}`, { tree: { era }, patch: resolution, env: resolution.env });
    const r = await auditFile(file, { catalog });
    expect(r.errors).toEqual([]);
    expect(r.program).toBe("kubelet");
    expect(r.kubernetesVersion?.gitVersion).toBe(`v${resolution.version}`);
    const kmemMarkers = r.evidence.map((e) => e.id).filter((id) => ["enabled", "disabled"].includes(MARKER_BY_ID.get(id)?.kind ?? ""));
    expect({ markers: kmemMarkers.sort(), verdict: r.verdict }, r.reasons.join("; ")).toEqual({
      markers: [...signature!.present].sort(),
      verdict: signature!.verdict,
    });
  });
});
