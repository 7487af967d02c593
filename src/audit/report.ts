/** The per-binary report: the shape `audit --json` prints (a stable contract, see docs/audit.md). */
import type { GoBuildInfo } from "./buildinfo.js";
import type { PinResult } from "../catalog/pin-check.js";
import type { KubernetesVersion, RuncVersion } from "./stamps.js";
import type { Verdict } from "../verdict.js";
import type { Evidence, Program, ReleaseFacts } from "./judge.js";

export interface ElfSummary {
  bits: 32 | 64;
  endian: "little" | "big";
  type: string;
  machine: number;
  /** GOARCH name, or null for machines Go does not know. */
  arch: string | null;
  /** An executable or a position-independent executable. */
  executable: boolean;
}

/** A problem with one file. The audit of the other files goes on. */
export interface FileError {
  code: string;
  message: string;
}

/** The error of a path named on the command line that does not exist: the `missing` outcome of --fail-on. */
export const PATH_MISSING = "E_AUDIT_PATH_MISSING";

export interface BinaryReport {
  path: string;
  size: number | null;
  sha256: string | null;
  elf: ElfSummary | null;
  /** Whether the binary was built by the Go toolchain. */
  go: boolean;
  goBuildInfo: GoBuildInfo | null;
  program: Program | null;
  kubernetesVersion: KubernetesVersion | null;
  runcVersion: RuncVersion | null;
  /** What the catalog says about the stamped release. */
  release: ReleaseFacts | null;
  verdict: Verdict;
  reasons: string[];
  /** For an `unpatched` kubelet or runc: the command that builds the fixed one for its version (null otherwise). */
  fix: string | null;
  evidence: Evidence[];
  pin: PinResult;
  errors: FileError[];
}
