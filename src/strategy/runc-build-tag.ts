import { defineStrategy } from "./types.js";

/**
 * runc rc6–rc93: kmem.go (`!nokmem`) and kmem_disabled.go (`nokmem`) since
 * runc#1921 (6a2c155). runc's Makefile honours BUILDTAGS, so the build passes
 * the Makefile's own default tags plus `nokmem` (never `nokmem` alone: that
 * would drop seccomp).
 */
export const runcBuildTag = defineStrategy({
  product: "runc",
  id: "runc-build-tag",
  summary: 'Build with BUILDTAGS="<the Makefile\'s default tags> nokmem" so libcontainer compiles kmem_disabled.go instead of kmem.go.',
  change: "build-setting",
  addTags: ["nokmem"],
  changes: [],
  layouts: ["split-rc6", "split-rc7+"],
  preferredFor: ["split-rc6", "split-rc7+"],
  affected: true,
  patchSeries: () => null,
  signatures: {
    // rc6's kmem_disabled.go returns nil from both functions: nothing to find.
    "split-rc6": {
      present: [],
      absent: [
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
      absent: ["enabled-string:kmem-failed-to-set", "enabled-string:kmem-not-supported", "source-path:kmem.go"],
      verdict: "patched",
    },
  },
});
