/**
 * Kubernetes release versions: the one place that reads them. Every other
 * module that meets a release in text (a `--version` flag, a git tag, a
 * stamped gitVersion, a manifest's externalParameters) asks this one. Pure.
 *
 * A release is `MAJOR.MINOR.PATCH`, optionally after a `v`, optionally
 * followed by a pre-release (`-rc.1`, or the `-3` of commits past a tag) and
 * build metadata (`+nokmem.1`, `+0123abcd`). A line is `MAJOR.MINOR`.
 */

export interface Release {
  major: number;
  minor: number;
  patch: number;
  /** `rc.1` of `v1.17.0-rc.1`; null for a release. */
  prerelease: string | null;
  /** `nokmem.1` of `v1.16.15+nokmem.1`; null when there is none. */
  build: string | null;
}

// The one release-version pattern of src/: the patch number is optional so a
// line (`1.16`) is read by the same rule; a suffix needs a patch number.
const VERSION = /^v?(\d{1,3})\.(\d{1,3})(?:\.(\d{1,4})(?:-([0-9A-Za-z.-]{1,80}))?(?:\+([0-9A-Za-z.-]{1,80}))?)?$/;

/** A release or a bare line, from text; null when the text is neither. */
export function parseReleaseOrLine(text: string): { release: Release | null; line: string } | null {
  const m = VERSION.exec(text.trim());
  if (!m) return null;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  const line = `${major}.${minor}`;
  if (m[3] === undefined) return { release: null, line };
  return { release: { major, minor, patch: Number(m[3]), prerelease: m[4] ?? null, build: m[5] ?? null }, line };
}

/** A release (with or without `v`, pre-release or build metadata) from text; null when the text is not one. */
export function parseRelease(text: string): Release | null {
  return parseReleaseOrLine(text)?.release ?? null;
}

/** A release with neither pre-release nor build metadata: what a `--version` must name. */
export function parseExactRelease(text: string): Release | null {
  const r = parseRelease(text);
  return r && r.prerelease === null && r.build === null ? r : null;
}

/** `1.16.15`: the release without `v`, pre-release or build metadata. */
export function releaseCore(r: Release): string {
  return `${r.major}.${r.minor}.${r.patch}`;
}

/** `1.16.15` from `v1.16.15-dirty`, `v1.16.15+nokmem.1`…; null when the text is not a release. */
export function coreOf(text: string): string | null {
  const r = parseRelease(text);
  return r ? releaseCore(r) : null;
}

/** `1.16` */
export function lineOf(r: Pick<Release, "major" | "minor">): string {
  return `${r.major}.${r.minor}`;
}

/** Orders releases by major, minor, patch (a pre-release before its release; build metadata does not count). */
export function compareReleases(a: Release, b: Release): number {
  const core = a.major - b.major || a.minor - b.minor || a.patch - b.patch;
  if (core !== 0) return Math.sign(core);
  if (a.prerelease === b.prerelease) return 0;
  if (a.prerelease === null) return 1;
  if (b.prerelease === null) return -1;
  return a.prerelease < b.prerelease ? -1 : 1;
}

/** Orders lines (`1.9` before `1.10`); a text that is not a line sorts first. */
export function compareLines(a: string, b: string): number {
  const [x, y] = [parseReleaseOrLine(a), parseReleaseOrLine(b)];
  if (!x || !y) return Number(Boolean(x)) - Number(Boolean(y));
  const [xm, xn] = x.line.split(".").map(Number) as [number, number];
  const [ym, yn] = y.line.split(".").map(Number) as [number, number];
  return Math.sign(xm - ym || xn - yn);
}

/**
 * The last patch release of each line the catalog covers. Every one of these
 * lines is past its end of life, so the list is final: a release above it was
 * never published (https://kubernetes.io/releases/patch-releases/, and each
 * line's CHANGELOG under https://github.com/kubernetes/kubernetes/tree/master/CHANGELOG).
 */
const LAST_PATCH: Readonly<Record<string, number>> = {
  "1.8": 15,
  "1.9": 11,
  "1.10": 13,
  "1.11": 10,
  "1.12": 10,
  "1.13": 12,
  "1.14": 10,
  "1.15": 12,
  "1.16": 15,
  "1.17": 17,
  "1.18": 20,
  "1.19": 16,
  "1.20": 15,
  "1.21": 14,
  "1.22": 17,
  "1.23": 17,
  "1.24": 17,
};

/** The lines whose published patch releases are known. */
export const KNOWN_LINES: readonly string[] = Object.keys(LAST_PATCH);

/**
 * Whether a release is one known to have been published: its line is known
 * and its patch number is not above that line's last. False for a release
 * that was never published (1.16.99) and for one of a line not known here (1.30.1).
 */
export function isKnownPatchRelease(r: Release): boolean {
  const last = LAST_PATCH[lineOf(r)];
  return last !== undefined && r.prerelease === null && r.patch <= last;
}

/** The last patch release of a line, when the line is known. */
export function lastPatchOf(line: string): string | null {
  const last = LAST_PATCH[line];
  return last === undefined ? null : `${line}.${last}`;
}
