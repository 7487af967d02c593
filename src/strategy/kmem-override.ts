import { defineStrategy } from "./types.js";

/**
 * 1.16: kmem.go is replaced by the disabled implementation so the kubelet is
 * nokmem even when the tag never reaches the compiler (the BUILDTAGS trap).
 */
export const kmemOverride = defineStrategy({
  product: "kubelet",
  id: "kmem-override",
  summary: "Replace the vendored runc kmem.go with the disabled implementation (keeping its !nokmem constraint), and pass the tag as well.",
  change: "patches",
  env: { GOFLAGS: "-tags=nokmem" },
  changes: ["vendor/github.com/opencontainers/runc/libcontainer/cgroups/fs/kmem.go"],
  layouts: ["split-rc7+", "split-rc6"],
  preferredFor: [],
  affected: true,
  patchSeries: (line) => `kmem-override/${line.line}`,
  // With the tag, kmem_disabled.go is compiled, so the kubelet looks like a
  // build-tag one; without it, the overridden kmem.go carries the same
  // disabled string under kmem.go's name.
  signatures: {
    "split-rc7+": {
      present: ["disabled-string:runc-build", "source-path:kmem_disabled.go"],
      absent: ["enabled-string:kmem-limit-file", "enabled-string:kmem-failed-to-set", "enabled-string:kmem-not-supported", "source-path:kmem.go"],
      verdict: "patched",
    },
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
  },
});
