/**
 * The node doctor's vocabulary. Checks are pure functions from what was read
 * (a `NodeRead`) to `Finding`s; only src/node/host-files.ts touches the disk.
 */

export const SEVERITIES = ["ok", "info", "unknown", "warning", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Higher is worse; used to pick the finding a one-line summary leads with. */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export type FindingId =
  | "kernel-release"
  | "boot-nokmem"
  | "kernel-config-kmem"
  | "memory-cgroup-ids"
  | "memory-cgroup-gap"
  | "kubepods-kmem"
  | "slab-memory"
  | "kernel-log"
  | "kubelet-binary"
  | "runc-binary";

export interface Finding {
  id: FindingId;
  /** One short line saying what was found (or why nothing could be). */
  title: string;
  severity: Severity;
  /** What was read, one item per fact: `path: value`. */
  evidence: string[];
  /** What to do about it, or null when nothing needs doing. */
  remedy: string | null;
}

/** The node's state as a whole. */
export const NODE_VERDICTS = ["healthy", "at-risk", "leaking", "unknown"] as const;
export type NodeVerdict = (typeof NODE_VERDICTS)[number];

/**
 * The outcome of reading one file of the node.
 * - `io-error`: the read itself failed (EIO — how the kernel answers a read of
 *   `memory.kmem.slabinfo` when kmem accounting is off — and EISDIR: fixture
 *   roots imitate an I/O error by putting a directory where the file belongs,
 *   since tests run as root and chmod 000 does not stop root).
 * - `denied`: EACCES / EPERM.
 * - `not-regular`: a FIFO, socket or device; never opened, so never blocked on.
 * - `too-large`: bigger than the reader's bound for that file.
 */
export type NodeRead =
  | { path: string; state: "ok"; text: string }
  | { path: string; state: "missing" }
  | { path: string; state: "unreadable"; cause: "io-error" | "denied" | "not-regular" | "too-large" | "other"; reason: string };

/** `path: why it could not be used` for an unknown finding's evidence. */
export function describeUnusable(read: Exclude<NodeRead, { state: "ok" }>): string {
  return read.state === "missing" ? `${read.path}: not found` : `${read.path}: unreadable (${read.reason})`;
}

/** A kernel release string, parsed (src/node/kernel.ts). */
export interface KernelRelease {
  /** As read, trimmed: "3.10.0-957.el7.x86_64". */
  raw: string;
  major: number;
  minor: number;
  patch: number;
  /** The distribution build number after the dash: 957 in 3.10.0-957.21.3.el7. */
  build: number | null;
  /** "el7", "el8", "elrepo" … when the release names one. */
  distro: string | null;
}
