import { defineStrategy, RUNC_TREE_FS_DIR } from "./types.js";

/**
 * runc rc2–rc5: EnableKernelMemoryAccounting and setKernelMemory live in
 * memory.go and run for every memory cgroup runc creates with a memory limit
 * (runc#1350, fe898e7); there is no nokmem tag, so the functions are stubbed.
 */
export const runcStub = defineStrategy({
  product: "runc",
  id: "runc-stub",
  summary: "Stub EnableKernelMemoryAccounting and setKernelMemory in runc's own libcontainer/cgroups/fs/memory.go.",
  change: "patches",
  addTags: [],
  changes: [`${RUNC_TREE_FS_DIR}/memory.go`],
  layouts: ["pre-split"],
  preferredFor: ["pre-split"],
  affected: true,
  patchSeries: () => "runc-stub/pre-split",
  signatures: {
    // The stubbed setKernelMemory returns rc7's nokmem error: a positive marker.
    "pre-split": {
      present: ["disabled-string:runc-build"],
      absent: ["enabled-string:kmem-failed-to-set", "enabled-string:kmem-not-supported", "source-path:kmem.go", "source-path:kmem_disabled.go"],
      verdict: "patched",
    },
  },
});
