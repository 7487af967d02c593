/**
 * The audit against real Go binaries: fixture trees of each era built with
 * `make WHAT=cmd/kubelet` and Go 1.19 (so Go 1.18+ build info records -tags),
 * with and without GOFLAGS=-tags=nokmem, with the vendor-stub and the
 * kmem-override series applied by the patch engine, audited without ever
 * being run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditFile } from "../../src/audit/index.js";
import type { Verdict } from "../../src/verdict.js";
import { loadCatalog } from "../../src/catalog/load.js";
import { resolve } from "../../src/catalog/resolve.js";
import { ERA_FACTS, type Era } from "../fixtures/k8s-tree.js";
import { buildFixtureKubelet } from "../fixtures/kubelet-build.js";

const catalog = loadCatalog();
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "audit-slow-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A source change: the era's catalog strategy, applied by the patch engine (its series only; the env is the case's). */
type Change = "vendor-stub" | "kmem-override";

async function build(name: string, era: Era, dropsTag: boolean, env: Record<string, string>, change?: Change): Promise<string> {
  const resolution = resolve(catalog, ERA_FACTS[era].version);
  if (change) expect(resolution.strategy).toBe(change);
  return buildFixtureKubelet(work, name, { tree: { era, dropsTag }, patch: change ? resolution : null, env });
}

const TAG = { GOFLAGS: "-tags=nokmem" };

describe("audit of real kubelet builds, one per era and variant", () => {
  const cases: [string, Era, Record<string, string>, Change | undefined, boolean, Verdict][] = [
    ["1.8 plain: no kmem code", "1.8", {}, undefined, false, "not-affected"],
    ["1.13 plain", "1.13", {}, undefined, false, "unpatched"],
    ["1.13 with the tag (a pre-split runc has none)", "1.13", TAG, undefined, false, "unpatched"],
    ["1.13 vendor-stub", "1.13", {}, "vendor-stub", false, "patched"],
    ["1.15 plain", "1.15", {}, undefined, false, "unpatched"],
    ["1.15 with the tag (known only by absence)", "1.15", TAG, undefined, false, "patched"],
    ["1.16 plain", "1.16", {}, undefined, false, "unpatched"],
    ["1.16 with the tag", "1.16", TAG, undefined, false, "patched"],
    ["1.16 kmem-override without the tag", "1.16", {}, "kmem-override", false, "patched"],
    ["1.18 with the tag, harness drops GOFLAGS", "1.18", TAG, undefined, true, "unpatched"],
    ["1.20 plain (stripped)", "1.20", {}, undefined, false, "unpatched"],
    ["1.20 with the tag (stripped)", "1.20", TAG, undefined, false, "patched"],
    ["1.22 plain: no kmem code", "1.22", {}, undefined, false, "not-affected"],
    ["1.22 with the tag: still not-affected, never patched", "1.22", TAG, undefined, false, "not-affected"],
  ];
  it.each(cases.map(([name, era, env, change, dropsTag, verdict]) => ({ name, era, env, change, dropsTag, verdict })))(
    "$name → $verdict",
    async ({ name, era, env, change, dropsTag, verdict }) => {
      const file = await build(name.replace(/\W+/g, "-"), era, dropsTag, env, change);
      const r = await auditFile(file, { catalog });
      expect(r.errors).toEqual([]);
      expect(r.program).toBe("kubelet");
      expect(r.go).toBe(true);
      expect(r.kubernetesVersion?.gitVersion).toMatch(new RegExp(`^v${era.replace(".", "\\.")}\\.`));
      expect(r.goBuildInfo?.goVersion).toMatch(/^go1\.19/);
      expect(r.goBuildInfo?.path).toBe("k8s.io/kubernetes/cmd/kubelet");
      if (env.GOFLAGS && !dropsTag) expect(r.goBuildInfo?.tags).toContain("nokmem");
      expect({ verdict: r.verdict, reasons: r.reasons }).toMatchObject({ verdict });
    },
  );
});
