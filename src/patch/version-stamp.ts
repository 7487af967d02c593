/**
 * The clean version stamp. A patched git checkout would build as
 * `vX.Y.Z-dirty` and an archive export as tree state `archive`; a file of
 * shell assignments named by KUBE_GIT_VERSION_FILE makes hack/lib/version.sh
 * skip git altogether, in every release (docs/domain.md, "Version stamping").
 * Rendering is pure (the release and commit come from tree facts, src/tree/);
 * `versionFileTarget` settles where the file goes, confined to the tree.
 */
import { isAbsolute, relative, resolve as resolvePath, sep } from "node:path";
import { TreeError, UsageError } from "../errors.js";
import { parseExactRelease } from "../release.js";
import { confine, ConfinementError, isInside, type ConfinedRoot } from "../io/confine.js";

export interface VersionStamp {
  /** `v1.16.15` or `v1.16.15+nokmem.1` */
  gitVersion: string;
  commit: string | null;
  major: string;
  minor: string;
}

const BUILD_METADATA = /^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$/;

/** `--version-suffix`: semver build metadata. Checked before anything is read or written. */
export function checkVersionSuffix(suffix: string | undefined): void {
  if (suffix !== undefined && !BUILD_METADATA.test(suffix)) {
    throw new UsageError(
      "E_VERSION_SUFFIX",
      `expected build metadata such as nokmem.1 (letters, digits, - and .), found ${JSON.stringify(suffix)}; nothing was changed`,
      "pass e.g. --version-suffix nokmem.1",
    );
  }
}

/** `--commit` (or what the tree says): a full commit id. */
export function checkCommit(commit: string | null | undefined): void {
  if (commit != null && !/^[0-9a-f]{40}$/.test(commit)) {
    throw new UsageError(
      "E_COMMIT_SYNTAX",
      `expected a 40-hex-digit commit, found ${JSON.stringify(commit)}; nothing was changed`,
      "pass the full commit id, e.g. from `git rev-parse HEAD`",
    );
  }
}

export function versionStamp(version: string, commit: string | null, suffix?: string): VersionStamp {
  const r = parseExactRelease(version);
  if (!r)
    throw new UsageError(
      "E_VERSION_SYNTAX",
      `expected a release such as 1.16.15 to stamp, found ${JSON.stringify(version)}`,
      "pass --version MAJOR.MINOR.PATCH",
    );
  checkVersionSuffix(suffix);
  checkCommit(commit);
  return { gitVersion: `v${r.major}.${r.minor}.${r.patch}${suffix ? `+${suffix}` : ""}`, commit, major: String(r.major), minor: String(r.minor) };
}

const q = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;

/** The file hack/lib/version.sh sources: `KEY='value'` lines. */
export function renderVersionFile(s: VersionStamp): string {
  return [
    "# Written by kubelet-nokmem: the version stamp of a patched tree (KUBE_GIT_VERSION_FILE).",
    `KUBE_GIT_VERSION=${q(s.gitVersion)}`,
    `KUBE_GIT_COMMIT=${q(s.commit ?? "")}`,
    `KUBE_GIT_TREE_STATE=${q("clean")}`,
    `KUBE_GIT_MAJOR=${q(s.major)}`,
    `KUBE_GIT_MINOR=${q(s.minor)}`,
    "",
  ].join("\n");
}

/** Where the version file goes unless the user names one. */
export const DEFAULT_VERSION_FILE = "_output/kubelet-nokmem/version.env";

interface VersionFileTarget {
  /** Absolute, after the symlinks on the way. */
  abs: string;
  /** Tree-relative when the file lies inside the tree, else null. */
  treePath: string | null;
}

/**
 * Where to write the version file. Inside the tree (the default, a relative
 * --version-file, or an absolute one that points into the tree) the path is
 * confined: a tree shipping `_output` as a symlink out of itself is refused,
 * never written through. A path the user names outside the tree is theirs.
 */
export async function versionFileTarget(tree: ConfinedRoot, given: string | undefined): Promise<VersionFileTarget> {
  const wanted = given === undefined ? resolvePath(tree.real, DEFAULT_VERSION_FILE) : isAbsolute(given) ? given : resolvePath(tree.real, given);
  const base = [tree.real, resolvePath(tree.given)].find((r) => isInside(r, wanted) && r !== wanted);
  if (!base) return { abs: wanted, treePath: null };
  const rel = relative(base, wanted).split(sep).join("/");
  try {
    return { abs: await confine(tree, rel, "nofollow"), treePath: rel };
  } catch (err) {
    if (!(err instanceof ConfinementError)) throw err;
    throw new TreeError(
      "E_VERSION_FILE_ESCAPE",
      `expected the version file ${rel} to stay inside the tree ${tree.given}, found ${err.problem}; nothing was written there`,
      `replace that symlink in the tree with a real folder, or pass --version-file with a path outside the tree`,
    );
  }
}
