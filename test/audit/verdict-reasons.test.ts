/**
 * What verdictFor says, not only which verdict: the reasons a report shows and
 * the absence evidence it adds, one case per branch of src/audit/judge.ts.
 * test/audit/verdict.test.ts covers the verdicts over many releases; this
 * file pins down the words a person reads for each way of reaching one.
 */
import { describe, expect, it } from "vitest";
import { verdictFor, type Evidence, type ReleaseFacts, type VerdictInput } from "../../src/audit/judge.js";

const KIND: Record<string, Evidence["kind"]> = {
  "enabled-string:kmem-limit-file": "enabled",
  "enabled-string:kmem-failed-to-set": "enabled",
  "enabled-string:kmem-not-supported": "enabled",
  "source-path:kmem.go": "enabled",
  "disabled-string:runc-build": "disabled",
  "source-path:kmem_disabled.go": "disabled",
  "build-tag:nokmem": "disabled",
};
const ev = (...ids: string[]): Evidence[] => ids.map((id) => ({ id, kind: KIND[id] ?? "identity", detail: id }));
const rel = (version: string, kmemLayout: ReleaseFacts["kmemLayout"], affected: boolean): ReleaseFacts => ({
  version,
  line: version.split(".").slice(0, 2).join("."),
  strategy: affected ? "build-tag" : "none",
  kmemLayout,
  affected,
});
const kubelet = (evidence: Evidence[], release: ReleaseFacts | null, o: Partial<VerdictInput> = {}): VerdictInput => ({
  program: "kubelet",
  evidence,
  release,
  kubernetesVersion: release ? `v${release.version}` : null,
  versionTrusted: true,
  runcVersion: null,
  ...o,
});
const STRONG = ["enabled-string:kmem-failed-to-set", "enabled-string:kmem-not-supported"];
const R120 = rel("1.20.2", "split-rc7+", true);
const R115 = rel("1.15.12", "split-rc6", true);
const R122 = rel("1.22.17", "absent", false);

describe("verdictFor: the verdict, its reasons and the evidence it adds", () => {
  const cases: [string, VerdictInput, { verdict: string; reasons: string[]; added: string[] }][] = [
    [
      "a not-affected release whose kubelet carries kmem code",
      kubelet(ev(...STRONG, "source-path:kmem.go"), R122),
      {
        verdict: "unpatched",
        reasons: [
          "the catalog says 1.22.17 has no kmem code (layout absent), but the binary carries kmem markers: the binary is the final word",
          "enabled-only kmem code is in the binary: enabled-string:kmem-failed-to-set, enabled-string:kmem-not-supported",
        ],
        added: [],
      },
    ],
    [
      "a not-affected release with only the kmem.go path",
      kubelet(ev("source-path:kmem.go"), R122),
      {
        verdict: "unknown",
        reasons: [
          "the catalog says 1.22.17 has no kmem code (layout absent), but the binary carries kmem markers: the binary is the final word",
          "the line table names kmem.go, but neither variant's strings are present: cannot tell what it does",
        ],
        added: [],
      },
    ],
    [
      "enabled and disabled kmem code together",
      kubelet(ev(...STRONG, "disabled-string:runc-build", "source-path:kmem_disabled.go"), R120),
      {
        verdict: "unknown",
        reasons: [
          "both enabled-only (enabled-string:kmem-failed-to-set, enabled-string:kmem-not-supported) and disabled-only (disabled-string:runc-build, source-path:kmem_disabled.go) markers are present: two runc copies or a hand-edited build; cannot tell which one runs",
        ],
        added: [],
      },
    ],
    [
      "enabled kmem code despite the tag in the build info",
      kubelet(ev(...STRONG, "build-tag:nokmem"), R120),
      {
        verdict: "unpatched",
        reasons: [
          "enabled-only kmem code is in the binary: enabled-string:kmem-failed-to-set, enabled-string:kmem-not-supported",
          "the build info says -tags nokmem, but the tag did not remove the kmem code (a pre-split runc has no nokmem tag)",
        ],
        added: [],
      },
    ],
    [
      "an affected kubelet that names the kmem file only",
      kubelet(ev("enabled-string:kmem-limit-file"), R120),
      {
        verdict: "unpatched",
        reasons: ["enabled-only kmem code is in the binary: enabled-string:kmem-limit-file (release 1.20.2 enables kmem through it)"],
        added: [],
      },
    ],
    [
      "a not-affected kubelet that names the kmem file only",
      kubelet(ev("enabled-string:kmem-limit-file"), rel("1.8.15", "legacy", false)),
      {
        verdict: "not-affected",
        reasons: [
          "the catalog says 1.8.15 has no kmem code (layout legacy), but the binary carries kmem markers: the binary is the final word",
          "release 1.8.15 carries no kmem-enabling code (catalog: layout legacy); the binary only names enabled-string:kmem-limit-file, as its runc does for explicit kernel-memory limits, which kubelet never sets",
        ],
        added: [],
      },
    ],
    [
      "a runc that names the kmem file only",
      kubelet(ev("enabled-string:kmem-limit-file"), null, { program: "runc" }),
      {
        verdict: "unknown",
        reasons: ["the binary names enabled-string:kmem-limit-file but carries none of runc's kmem functions: it may only probe the file; cannot tell"],
        added: [],
      },
    ],
    [
      "another program that names the kmem file only",
      kubelet(ev("enabled-string:kmem-limit-file"), null, { program: "other" }),
      {
        verdict: "unknown",
        reasons: [
          "the binary names enabled-string:kmem-limit-file but carries none of runc's kmem functions and is neither a kubelet nor runc: it may only probe the file; cannot tell",
        ],
        added: [],
      },
    ],
    [
      "the disabled variant, the kmem file named, kmem.go in the line table and the tag",
      kubelet(ev("disabled-string:runc-build", "enabled-string:kmem-limit-file", "source-path:kmem.go", "build-tag:nokmem"), R120),
      {
        verdict: "patched",
        reasons: [
          "the disabled kmem variant is in the binary: disabled-string:runc-build; no enabled-only kmem function is",
          "it also names enabled-string:kmem-limit-file, which code other than the kmem functions may probe",
          "kmem.go is in the line table but holds the disabled implementation (the kmem-override patch)",
          "the build info records -tags nokmem",
        ],
        added: [],
      },
    ],
    [
      "both disabled markers",
      kubelet(ev("disabled-string:runc-build", "source-path:kmem_disabled.go"), R120),
      {
        verdict: "patched",
        reasons: ["the disabled kmem variant is in the binary: disabled-string:runc-build, source-path:kmem_disabled.go; no enabled-only kmem function is"],
        added: [],
      },
    ],
    [
      "no marker, a release the catalog does not cover",
      kubelet([], null, { kubernetesVersion: "v1.99.0" }),
      {
        verdict: "unknown",
        reasons: ["no kmem marker found, and the catalog does not cover v1.99.0: cannot tell whether this release carries kmem code"],
        added: [],
      },
    ],
    [
      "no marker, no version",
      kubelet([], null),
      {
        verdict: "unknown",
        reasons: ["no kmem marker found, and no Kubernetes version stamp either: cannot tell whether this release carries kmem code"],
        added: [],
      },
    ],
    [
      "no marker, a not-affected release",
      kubelet([], R122),
      {
        verdict: "not-affected",
        reasons: ["release 1.22.17 carries no kmem code (catalog: strategy none, layout absent) and no kmem marker is in the binary"],
        added: [],
      },
    ],
    [
      "no marker, an unconfirmed version",
      kubelet([], R115, { versionTrusted: false }),
      {
        verdict: "unknown",
        reasons: ["no kmem marker found; the version v1.15.12 came from an unconfirmed heuristic match, too weak to rest a verdict on an absence"],
        added: [],
      },
    ],
    [
      "no marker where a nokmem build leaves one, with the tag",
      kubelet(ev("build-tag:nokmem"), R120),
      {
        verdict: "unknown",
        reasons: [
          "release 1.20.2 vendors a split-rc7+ runc: a normal build carries the enabled strings and a nokmem build the disabled one; found neither (though the build info says -tags nokmem)",
        ],
        added: [],
      },
    ],
    [
      "no marker where a nokmem build leaves one",
      kubelet([], R120),
      {
        verdict: "unknown",
        reasons: ["release 1.20.2 vendors a split-rc7+ runc: a normal build carries the enabled strings and a nokmem build the disabled one; found neither"],
        added: [],
      },
    ],
    [
      "no marker where a nokmem build leaves none, with the tag",
      kubelet(ev("build-tag:nokmem"), R115),
      {
        verdict: "patched",
        reasons: [
          "release 1.15.12 carries kmem code (layout split-rc6), and its enabled-only strings are absent: the kmem code was stubbed or compiled out",
          "the build info records -tags nokmem",
        ],
        added: ["none of the enabled-only strings is present, in a kubelet of 1.15.12 whose vendored runc (split-rc6) carries them in a normal build"],
      },
    ],
    [
      "runc 1.1.5 without markers",
      kubelet([], null, { program: "runc", runcVersion: "1.1.5" }),
      { verdict: "not-affected", reasons: ["runc 1.1.5 has no kmem code (removed in 1.0.0-rc94) and no kmem marker is in the binary"], added: [] },
    ],
    [
      "runc rc93 without markers",
      kubelet([], null, { program: "runc", runcVersion: "1.0.0-rc93" }),
      { verdict: "unknown", reasons: ["runc 1.0.0-rc93 carries kmem code, but no kmem marker was found: cannot tell how it was built"], added: [] },
    ],
    [
      "runc of no known version without markers",
      kubelet([], null, { program: "runc" }),
      { verdict: "unknown", reasons: ["no kmem marker found and runc's version is unknown: cannot tell whether it carries kmem code"], added: [] },
    ],
    [
      "another program without markers",
      kubelet([], null, { program: "other" }),
      { verdict: "not-affected", reasons: ["no kmem marker found and the binary is neither a kubelet nor runc"], added: [] },
    ],
  ];

  it.each(cases)("%s", (_what, input, expected) => {
    const r = verdictFor(input);
    expect({ verdict: r.verdict, reasons: r.reasons, added: r.added.map((e) => e.detail) }).toEqual(expected);
    for (const e of r.added) expect(e).toMatchObject({ id: "absence:enabled-strings", kind: "absence" });
  });
});
