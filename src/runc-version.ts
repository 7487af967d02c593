/**
 * runc release versions: the one place that reads them, as src/release.ts is
 * for Kubernetes releases. Every other module that meets a runc version in
 * text (`build runc --version`, a tree's VERSION file, the `runc --version`
 * stamp of a binary, a catalog range, a manifest, a pin) asks this one. Pure.
 *
 * A runc version is `MAJOR.MINOR.PATCH`, optionally after a `v`, optionally
 * with a release candidate as runc spells it (`-rc93` up to 1.0.0, `-rc.1`
 * from 1.1) or as distributions do (`~rc93`), optionally followed by build
 * metadata (`+dev` of a commit past a tag, `+ds1` of a repacked source).
 * runc's release candidates are numbered rc1 … rc95, which semver compares as
 * text (rc10 < rc9), so this module orders them itself.
 */

export interface RuncRelease {
  major: number;
  minor: number;
  patch: number;
  /** The release candidate number (93 of 1.0.0-rc93, 1 of 1.1.0-rc.1), null for a release. */
  rc: number | null;
}

/** A version as the text spelled it: what the readers below accept or refuse. */
interface RuncText {
  release: RuncRelease;
  /** A leading `v` (a git tag). */
  v: boolean;
  /** `~rc93`: a distribution's spelling, never runc's own. */
  tilde: boolean;
  /** `+dev`, `+ds1`; null when there is none. */
  build: string | null;
}

// The one runc-version pattern of src/.
const RUNC_VERSION = /^(v?)(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:([-~])rc\.?(\d{1,3}))?(?:\+([0-9A-Za-z.~-]{1,32}))?$/;

function readRuncText(text: string): RuncText | null {
  const m = RUNC_VERSION.exec(text.trim());
  if (!m) return null;
  return {
    release: { major: Number(m[2]), minor: Number(m[3]), patch: Number(m[4]), rc: m[6] === undefined ? null : Number(m[6]) },
    v: m[1] === "v",
    tilde: m[5] === "~",
    build: m[7] ?? null,
  };
}

/**
 * A runc release as a user or a catalog names it (`1.0.0-rc93`, `v1.0.0-rc5`,
 * `1.1.0-rc.1`, `1.1.12`): no distribution spelling, no build metadata.
 * Null for anything else.
 */
export function parseRuncVersion(text: string): RuncRelease | null {
  const t = readRuncText(text);
  return t && !t.tilde && t.build === null ? t.release : null;
}

/**
 * The release a stamped or packaged runc version names: `1.0.0-rc93+dev` and
 * `1.0.0~rc93` are runc 1.0.0-rc93. Null when the text is not a runc version.
 */
export function runcReleaseOf(text: string): RuncRelease | null {
  return readRuncText(text)?.release ?? null;
}

/**
 * Whether a string in a binary has the shape of runc's own `main.version`
 * stamp (`1.0.0-rc93`, `1.0.0-rc93+dev`, `1.1.12`): major 1, no `v`, no
 * distribution spelling.
 */
export function isRuncStamp(text: string): boolean {
  const t = readRuncText(text);
  return t !== null && !t.v && !t.tilde && t.release.major === 1 && text === text.trim();
}

/** "1.0.0-rc93" (runc's own VERSION spelling before 1.1; 1.1.0-rc.1 keeps its dot). */
export function formatRuncVersion(v: RuncRelease): string {
  const base = `${v.major}.${v.minor}.${v.patch}`;
  if (v.rc === null) return base;
  return v.major === 1 && v.minor === 0 && v.patch === 0 ? `${base}-rc${v.rc}` : `${base}-rc.${v.rc}`;
}

/** Orders runc releases: release candidates by number (rc9 before rc10), a release after its candidates. */
export function compareRunc(a: RuncRelease, b: RuncRelease): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch || (a.rc ?? Infinity) - (b.rc ?? Infinity);
}

/**
 * Whether a runc release carries kmem code: the release candidates of 1.0.0
 * up to rc93 do; rc94 removed it, so 1.0.0 and everything after it has none.
 * Null when the text is not a runc version (or is 0.0.0, which names none).
 */
export function runcHasKmemCode(text: string): boolean | null {
  const r = runcReleaseOf(text);
  if (!r) return null;
  if (r.major > 1 || r.minor > 0 || r.patch > 0) return false;
  if (r.rc === null) return r.major === 1 ? false : null;
  return r.rc < 94;
}
