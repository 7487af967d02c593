import type { Strategy } from "./types.js";

/** 1.14, 1.15, 1.17–1.21.1: runc's kmem_disabled.go is selected by GOFLAGS=-tags=nokmem. */
export const buildTag: Strategy = {
  id: "build-tag",
  layouts: ["split-rc6", "split-rc7+"],
  preferredFor: ["split-rc6", "split-rc7+"],
  affected: true,
  patchSeries: () => null,
};
