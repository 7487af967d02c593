import { defineStrategy } from "./types.js";

/** runc rc1 (kmem only for an explicit kernel-memory limit) and rc94+ (no kmem code at all). */
export const runcNone = defineStrategy({
  product: "runc",
  id: "runc-none",
  summary: "Nothing to change: this runc never turns kmem accounting on by itself.",
  change: "none",
  addTags: [],
  changes: [],
  layouts: ["legacy", "absent"],
  preferredFor: ["legacy", "absent"],
  affected: false,
  patchSeries: () => null,
  signatures: {
    // memory.go names the kmem limit file for explicit kernel-memory limits
    // (not a kmem marker for runc: every era's memory.go names it).
    legacy: {
      present: [],
      absent: [
        "enabled-string:kmem-failed-to-set",
        "enabled-string:kmem-not-supported",
        "disabled-string:runc-build",
        "source-path:kmem.go",
        "source-path:kmem_disabled.go",
      ],
      verdict: "not-affected",
    },
    absent: {
      present: [],
      absent: [
        "enabled-string:kmem-failed-to-set",
        "enabled-string:kmem-not-supported",
        "disabled-string:runc-build",
        "source-path:kmem.go",
        "source-path:kmem_disabled.go",
      ],
      verdict: "not-affected",
    },
  },
});
