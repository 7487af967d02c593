/**
 * The audit's verdict for a runc binary from the runc layout its exact
 * version maps to: a layout whose runc never enables kmem by itself is
 * not-affected, an rc6 build with no marker is patched by absence (its
 * disabled code leaves nothing), and without an exact version it cannot tell.
 */
import { describe, expect, it } from "vitest";
import { verdictFor, type Evidence, type VerdictInput } from "../../src/audit/judge.js";

const LIMIT_FILE: Evidence = { id: "enabled-string:kmem-limit-file", kind: "enabled", detail: "memory.kmem.limit_in_bytes" };

const runc = (evidence: Evidence[], runcVersion: string | null, runcLayout: VerdictInput["runcLayout"]): VerdictInput => ({
  program: "runc",
  evidence,
  release: null,
  kubernetesVersion: null,
  versionTrusted: true,
  runcVersion,
  runcLayout,
});

describe("a runc of a layout that never enables kmem by itself", () => {
  it("that names only the kmem limit file (for explicit limits) is not-affected, and says why", () => {
    const r = verdictFor(runc([LIMIT_FILE], "1.0.0-rc1", "legacy"));
    expect(r.verdict).toBe("not-affected");
    expect(r.reasons).toEqual([
      "runc 1.0.0-rc1 (layout legacy) never turns kmem accounting on by itself; the binary only names enabled-string:kmem-limit-file, as runc does for explicit kernel-memory limits",
    ]);
  });

  it("is judged so only as runc: a program that is neither, with the same string, cannot be told", () => {
    expect(verdictFor({ ...runc([LIMIT_FILE], "1.0.0-rc1", "legacy"), program: "other" }).verdict).toBe("unknown");
  });

  it("with no marker at all is not-affected, and says why", () => {
    const r = verdictFor(runc([], "1.0.0-rc1", "legacy"));
    expect(r.verdict).toBe("not-affected");
    expect(r.reasons).toEqual(["runc 1.0.0-rc1 (layout legacy) never turns kmem accounting on by itself, and no kmem marker is in the binary"]);
  });
});

describe("a runc whose nokmem build leaves no marker (rc6)", () => {
  it("with none of the enabled-only strings and its exact version is patched, by the absence it names", () => {
    const r = verdictFor(runc([], "1.0.0-rc6", "split-rc6"));
    expect(r.verdict).toBe("patched");
    expect(r.reasons).toEqual([
      "runc 1.0.0-rc6 carries kmem code (layout split-rc6), and its enabled-only strings are absent: it was built with the nokmem tag, whose disabled code leaves no string",
    ]);
    expect(r.added).toEqual([
      {
        id: "absence:enabled-strings",
        kind: "absence",
        detail: "none of the enabled-only strings is present, in runc 1.0.0-rc6 whose normal build (split-rc6) carries them",
      },
    ]);
  });

  it("without a version that says it carries kmem code is unknown, layout or not", () => {
    expect(verdictFor(runc([], null, "split-rc6")).verdict).toBe("unknown");
    expect(verdictFor(runc([], "1.0.0-rc6", null)).verdict).toBe("unknown");
  });

  it("with a layout whose nokmem build leaves a marker (rc7+), the absence alone proves nothing", () => {
    expect(verdictFor(runc([], "1.0.0-rc93", "split-rc7+")).verdict).toBe("unknown");
  });
});
