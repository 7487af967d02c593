/**
 * The one command that builds the fixed binary for what the audit found: the
 * audit's fix hint and the doctor's remedy both say it (one owner, so the two
 * never drift apart). Pure.
 */
import { formatRuncVersion, runcReleaseOf } from "../runc-version.js";
import type { Program } from "./judge.js";

/** runc's public repository: the default source of `build runc`. */
export const RUNC_UPSTREAM_URL = "https://github.com/opencontainers/runc.git";

/** `kubelet-nokmem build --version v1.20.2` */
export function kubeletBuildCommand(version: string | null | undefined): string {
  const v = version ? `v${version.replace(/^v/, "").replace(/[-+].*$/, "")}` : "<vX.Y.Z that kubelet --version prints>";
  return `kubelet-nokmem build --version ${v}`;
}

/** `kubelet-nokmem build runc --version 1.0.0-rc93 --source https://github.com/opencontainers/runc.git` */
export function runcBuildCommand(version: string | null | undefined): string {
  // The stamp may carry a suffix (1.0.0-rc93+dev, 1.0.0~rc93 in distributions): the release is what builds.
  const release = version ? runcReleaseOf(version) : null;
  const v = release ? formatRuncVersion(release) : "<X.Y.Z-rcN that runc --version prints>";
  return `kubelet-nokmem build runc --version ${v} --source ${RUNC_UPSTREAM_URL}`;
}

/** The command for a binary the audit judged, or null for a program it cannot build. */
export function fixCommand(program: Program | null, versions: { kubernetes: string | null; runc: string | null }): string | null {
  if (program === "kubelet") return kubeletBuildCommand(versions.kubernetes);
  if (program === "runc") return runcBuildCommand(versions.runc);
  return null;
}
