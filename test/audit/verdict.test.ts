import { describe, expect, it } from "vitest";
import { verdictFor, type Evidence, type ReleaseFacts, type VerdictInput } from "../../src/audit/judge.js";
import type { Verdict } from "../../src/verdict.js";

const ev = (...ids: string[]): Evidence[] =>
  ids.map((id) => ({
    id,
    kind: id.startsWith("enabled") || id === "source-path:kmem.go" ? "enabled" : id.startsWith("identity") ? "identity" : "disabled",
    detail: id,
  }));

const release = (version: string, kmemLayout: ReleaseFacts["kmemLayout"], affected = true): ReleaseFacts => ({
  version,
  line: version.split(".").slice(0, 2).join("."),
  strategy: affected ? (kmemLayout === "pre-split" ? "vendor-stub" : "build-tag") : "none",
  kmemLayout,
  affected,
});

const kubelet = (evidence: Evidence[], r: ReleaseFacts | null, trusted = true): VerdictInput => ({
  program: "kubelet",
  evidence,
  release: r,
  kubernetesVersion: r ? `v${r.version}` : null,
  versionTrusted: trusted,
  runcVersion: null,
});

const ENABLED_RC7 = ev("enabled-string:kmem-limit-file", "enabled-string:kmem-failed-to-set", "enabled-string:kmem-not-supported", "source-path:kmem.go");
const DISABLED_RC7 = ev("disabled-string:runc-build", "source-path:kmem_disabled.go");

describe("verdictFor", () => {
  it.each<[string, VerdictInput, Verdict]>([
    ["1.20 normal build", kubelet(ENABLED_RC7, release("1.20.2", "split-rc7+")), "unpatched"],
    ["1.20 nokmem build", kubelet(DISABLED_RC7, release("1.20.2", "split-rc7+")), "patched"],
    ["1.20 nokmem build with the tag in build info", kubelet([...DISABLED_RC7, ...ev("build-tag:nokmem")], release("1.20.2", "split-rc7+")), "patched"],
    [
      "1.16 kmem-override (kmem.go holds the disabled code)",
      kubelet(ev("disabled-string:runc-build", "source-path:kmem.go"), release("1.16.15", "split-rc7+")),
      "patched",
    ],
    ["1.15 nokmem build: recognised only by absence", kubelet([], release("1.15.12", "split-rc6")), "patched"],
    ["1.13 vendor-stub build: recognised only by absence", kubelet([], release("1.13.12", "pre-split")), "patched"],
    ["1.13 normal build", kubelet(ev("enabled-string:kmem-limit-file", "enabled-string:kmem-failed-to-set"), release("1.13.12", "pre-split")), "unpatched"],
    [
      "1.13 built with -tags nokmem (the tag does nothing there)",
      kubelet(ev("enabled-string:kmem-limit-file", "build-tag:nokmem"), release("1.13.12", "pre-split")),
      "unpatched",
    ],
    ["1.15 by absence, but the version is an unconfirmed guess", kubelet([], release("1.15.12", "split-rc6"), false), "unknown"],
    ["rc7+ layout with neither variant's strings", kubelet([], release("1.20.2", "split-rc7+")), "unknown"],
    ["rc7+ layout with only the tag", kubelet(ev("build-tag:nokmem"), release("1.20.2", "split-rc7+")), "unknown"],
    ["1.22: no kmem code, no markers", kubelet([], release("1.22.0", "absent", false)), "not-affected"],
    ["1.22 with the nokmem tag: still not-affected, never patched", kubelet(ev("build-tag:nokmem"), release("1.22.0", "absent", false)), "not-affected"],
    ["1.8: no kmem code", kubelet([], release("1.8.15", "legacy", false)), "not-affected"],
    [
      "1.8: its runc names the kmem file for explicit limits only",
      kubelet(ev("enabled-string:kmem-limit-file"), release("1.8.15", "legacy", false)),
      "not-affected",
    ],
    ["a kubelet of unknown release that only names the kmem file", kubelet(ev("enabled-string:kmem-limit-file"), null), "unknown"],
    ["1.13 kubelet that names the kmem file (affected release)", kubelet(ev("enabled-string:kmem-limit-file"), release("1.13.12", "pre-split")), "unpatched"],
    ["kubelet of a release the catalog does not cover", kubelet([], null), "unknown"],
    ["enabled and disabled strings together", kubelet([...ENABLED_RC7, ...DISABLED_RC7], release("1.20.2", "split-rc7+")), "unknown"],
    ["kmem.go path alone", kubelet(ev("source-path:kmem.go"), release("1.20.2", "split-rc7+")), "unknown"],
    ["a 1.22 kubelet that does carry kmem code (catalog disagrees)", kubelet(ENABLED_RC7, release("1.22.0", "absent", false)), "unpatched"],
    ["runc rc93, normal", { ...kubelet(ENABLED_RC7, null), program: "runc", runcVersion: "1.0.0-rc93" }, "unpatched"],
    ["runc rc93 built with nokmem", { ...kubelet(DISABLED_RC7, null), program: "runc", runcVersion: "1.0.0-rc93" }, "patched"],
    ["runc 1.1.5, no markers", { ...kubelet([], null), program: "runc", runcVersion: "1.1.5" }, "not-affected"],
    ["runc rc95, no markers", { ...kubelet([], null), program: "runc", runcVersion: "1.0.0-rc95" }, "not-affected"],
    ["runc rc10, no markers", { ...kubelet([], null), program: "runc", runcVersion: "1.0.0-rc10" }, "unknown"],
    ["runc of unknown version, no markers", { ...kubelet([], null), program: "runc", runcVersion: null }, "unknown"],
    ["another program with runc's kmem code", { ...kubelet(ENABLED_RC7, null), program: "other" }, "unpatched"],
    [
      "another program that only names the kmem file (dockerd probes it)",
      { ...kubelet(ev("enabled-string:kmem-limit-file"), null), program: "other" },
      "unknown",
    ],
    ["another program without markers", { ...kubelet([], null), program: "other" }, "not-affected"],
  ])("%s → %s", (_name, input, expected) => {
    const r = verdictFor(input);
    expect(r.verdict).toBe(expected);
    expect(r.reasons.length).toBeGreaterThan(0);
  });

  it("names the absence it relied on as evidence", () => {
    const r = verdictFor(kubelet([], release("1.14.10", "split-rc6")));
    expect(r.added.map((e) => e.id)).toEqual(["absence:enabled-strings"]);
  });

  it("never says patched without any evidence outside a silent layout", () => {
    for (const layout of ["legacy", "split-rc7+", "absent"] as const) {
      for (const affected of [true, false]) {
        expect(verdictFor(kubelet([], release("1.20.2", layout, affected))).verdict).not.toBe("patched");
      }
    }
  });
});
