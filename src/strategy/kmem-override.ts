import type { Strategy } from "./types.js";

/**
 * 1.16: kmem.go is replaced by the disabled implementation so the kubelet is
 * nokmem even when the tag never reaches the compiler (the BUILDTAGS trap).
 */
export const kmemOverride: Strategy = {
  id: "kmem-override",
  layouts: ["split-rc7+", "split-rc6"],
  preferredFor: [],
  affected: true,
  patchSeries: (line) => `kmem-override/${line.line}`,
};
