import { defineStrategy } from "./types.js";

/** Before 1.9 and from 1.21.2: the kubelet never enables kmem accounting. */
export const none = defineStrategy({
  product: "kubelet",
  id: "none",
  summary: "Nothing to change: this release's kubelet never enables kmem accounting.",
  change: "none",
  env: {},
  changes: [],
  layouts: ["legacy", "absent"],
  preferredFor: ["legacy", "absent"],
  affected: false,
  patchSeries: () => null,
  signatures: {
    // runc before 1.9-era kubelets names the kmem limit file for explicit
    // kernel-memory limits, which kubelet never sets.
    legacy: {
      present: ["enabled-string:kmem-limit-file"],
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
        "enabled-string:kmem-limit-file",
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
