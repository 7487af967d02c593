import type { Strategy } from "./types.js";

/** Before 1.9 and from 1.21.2: the kubelet never enables kmem accounting. */
export const none: Strategy = {
  id: "none",
  layouts: ["legacy", "absent"],
  preferredFor: ["legacy", "absent"],
  affected: false,
  patchSeries: () => null,
};
