/**
 * The Kubernetes release a tree says it is, from `git describe` output or from
 * the values a `git archive` export bakes into hack/lib/version.sh. Pure.
 */
import { lineOf, parseRelease, releaseCore } from "../release.js";

export interface TreeVersion {
  /** "1.16.15", or "1.17.0-rc.1" for a pre-release tag. */
  version: string;
  /** "1.16" */
  line: string;
  /** The tag it came from, "v1.16.15". */
  tag: string;
  prerelease: boolean;
  /** Commits between the tag and HEAD (git describe's -N-g…); 0 on the tag. */
  commitsSinceTag: number;
}

/** Parse a Kubernetes release tag such as `v1.16.15` or `v1.17.0-rc.1` (a tag has its `v` and no build metadata). */
function parseReleaseTag(tag: string): TreeVersion | null {
  const text = tag.trim();
  const r = text.startsWith("v") ? parseRelease(text) : null;
  if (!r || r.build !== null) return null;
  const core = releaseCore(r);
  return {
    version: r.prerelease === null ? core : `${core}-${r.prerelease}`,
    line: lineOf(r),
    tag: text,
    prerelease: r.prerelease !== null,
    commitsSinceTag: 0,
  };
}

/**
 * Parse `git describe --tags --match 'v*' --abbrev=14` output:
 * `v1.16.15`, `v1.16.15-3-g0123456789abcd`, `v1.17.0-rc.1-5-g…`.
 */
export function parseGitDescribe(describe: string): TreeVersion | null {
  const text = describe.trim().replace(/-dirty$/, "");
  const past = /^(.*)-(\d+)-g([0-9a-f]{4,40})$/.exec(text);
  const tag = past ? past[1]! : text;
  const parsed = parseReleaseTag(tag);
  if (!parsed) return null;
  return { ...parsed, commitsSinceTag: past ? Number(past[2]) : 0 };
}

export interface ArchiveStamp {
  /** The commit `git archive` exported (`$Format:%H$` expanded). */
  commit: string | null;
  /** The release tag named in `$Format:%D$`, when the exported commit carried one. */
  version: TreeVersion | null;
  /** The raw ref names, e.g. "HEAD -> master, tag: v1.20.2". */
  refNames: string | null;
}

/**
 * What a `git archive` export baked into hack/lib/version.sh, or null when the
 * file was not exported that way (its `$Format:…$` words are still literal).
 * An export turns `'$Format:%%$'` into `'%'`, `'$Format:%H$'` into the commit
 * and `'$Format:%D$'` into the ref names of the commit.
 */
export function parseArchiveVersionSh(versionSh: string): ArchiveStamp | null {
  if (!/\[\[\s*'%'\s*==\s*"%"\s*\]\]/.test(versionSh)) return null;
  const commit = /KUBE_GIT_COMMIT='([0-9a-f]{40})'/.exec(versionSh)?.[1] ?? null;
  // The line that matched the ref names against `tag: (v…)`.
  const refs = /if\s+\[\[\s*'([^'$]*)'\s*=~\s*tag:/.exec(versionSh)?.[1] ?? null;
  let version: TreeVersion | null = null;
  if (refs) {
    const tags = [...refs.matchAll(/tag:\s*(v[^\s,)]+)/g)].map((m) => parseReleaseTag(m[1]!)).filter((v): v is TreeVersion => v !== null);
    // A commit tagged both v1.20.2 and v1.20.2-rc.0 is the release.
    version = tags.find((t) => !t.prerelease) ?? tags[0] ?? null;
  }
  return { commit, version, refNames: refs };
}

/**
 * The Go version a tree's build/build-image/cross/VERSION asks for:
 * `v1.15.5-1` → 1.15.5, `v1.15.8-legacy-1` → 1.15.8,
 * `v1.23.0-go1.17.3-bullseye.0` → 1.17.3 (kube-cross tags from 1.23 on).
 */
export function goVersionFromCross(text: string): string | null {
  const tag = text.trim().split(/\s+/)[0] ?? "";
  const named = /-go(\d+\.\d+(?:\.\d+)?)/.exec(tag);
  if (named) return named[1]!;
  const m = /^v(\d+\.\d+(?:\.\d+)?)(?:-|$)/.exec(tag);
  return m ? m[1]! : null;
}

/** `.go-version` (newer trees): a bare Go version such as `1.17.3`. */
export function goVersionFromDotFile(text: string): string | null {
  const m = /^\s*(?:go)?(\d+\.\d+(?:\.\d+)?)\s*$/.exec(text);
  return m ? m[1]! : null;
}
