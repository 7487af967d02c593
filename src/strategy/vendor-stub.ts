import { defineStrategy } from "./types.js";

/** 1.9–1.13: both kmem functions live in vendored runc memory.go; no build tag exists. */
export const vendorStub = defineStrategy({
  product: "kubelet",
  id: "vendor-stub",
  summary: "Stub EnableKernelMemoryAccounting and setKernelMemory in the vendored runc memory.go.",
  change: "patches",
  env: {},
  changes: ["vendor/github.com/opencontainers/runc/libcontainer/cgroups/fs/memory.go"],
  layouts: ["pre-split"],
  preferredFor: ["pre-split"],
  affected: true,
  patchSeries: (line) => `vendor-stub/${line.line}`,
  signatures: {
    // The stubbed setKernelMemory returns runc's later nokmem error, so the
    // binary carries that positive marker.
    "pre-split": {
      present: ["disabled-string:runc-build"],
      absent: [
        "enabled-string:kmem-limit-file",
        "enabled-string:kmem-failed-to-set",
        "enabled-string:kmem-not-supported",
        "source-path:kmem.go",
        "source-path:kmem_disabled.go",
      ],
      verdict: "patched",
      // A normal pre-split build always carries the enabled strings (memory.go
      // is always compiled), so their absence alone shows a stub.
      markerlessForms: "memory.go edited by hand so that both kmem functions just return nil",
    },
  },
});
