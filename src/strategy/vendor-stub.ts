import type { Strategy } from "./types.js";

/** 1.9–1.13: both kmem functions live in vendored runc memory.go; no build tag exists. */
export const vendorStub: Strategy = {
  id: "vendor-stub",
  layouts: ["pre-split"],
  preferredFor: ["pre-split"],
  affected: true,
  patchSeries: (line) => `vendor-stub/${line.line}`,
};
