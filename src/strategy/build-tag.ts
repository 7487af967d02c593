import { defineStrategy } from "./types.js";

/** 1.14, 1.15, 1.17–1.21.1: runc's kmem_disabled.go is selected by GOFLAGS=-tags=nokmem. */
export const buildTag = defineStrategy({
  product: "kubelet",
  id: "build-tag",
  summary: "Build with the nokmem tag so the vendored runc compiles kmem_disabled.go instead of kmem.go.",
  change: "build-setting",
  // GOFLAGS holds the tag alone: 1.18+ golang.sh extracts -tags= from it and
  // anything else leaks into the tag list (docs/domain.md, "The GOFLAGS trap").
  env: { GOFLAGS: "-tags=nokmem" },
  changes: [],
  layouts: ["split-rc6", "split-rc7+"],
  preferredFor: ["split-rc6", "split-rc7+"],
  affected: true,
  patchSeries: () => null,
  signatures: {
    // f000fe1's kmem_disabled.go returns nil from both functions: inlined
    // away, it leaves neither a string nor its file name.
    "split-rc6": {
      present: [],
      absent: [
        "enabled-string:kmem-limit-file",
        "enabled-string:kmem-failed-to-set",
        "enabled-string:kmem-not-supported",
        "disabled-string:runc-build",
        "source-path:kmem.go",
        "source-path:kmem_disabled.go",
      ],
      verdict: "patched",
    },
    "split-rc7+": {
      present: ["disabled-string:runc-build", "source-path:kmem_disabled.go"],
      absent: ["enabled-string:kmem-limit-file", "enabled-string:kmem-failed-to-set", "enabled-string:kmem-not-supported", "source-path:kmem.go"],
      verdict: "patched",
    },
  },
});
