/**
 * resolve(): which strategy a Kubernetes release needs, from the catalog alone.
 * Pure: plain data in, plain data out.
 */
import semver from "semver";
import { UsageError } from "../errors.js";
import { compareLines, isKnownPatchRelease, parseRelease, parseReleaseOrLine, releaseCore } from "../release.js";
import { strategyFor } from "../strategy/index.js";
import type { Catalog, Env, KmemLayout, Pin, ReleaseLine, StrategyId } from "./types.js";

export interface VersionQuery {
  /** "1.16.15" for an exact release, null for a bare line. */
  version: string | null;
  /** "1.16" */
  line: string;
}

export interface Resolution {
  version: string | null;
  line: string;
  range: string;
  strategy: StrategyId;
  affected: boolean;
  reason: string;
  reference: string;
  env: Env;
  /** The line's own build image; a pin's recorded image is `pin.image`, and `chooseImage` (tree/build-image.ts) decides between them. */
  image: string;
  go: string;
  runc: string;
  kmemLayout: KmemLayout;
  goflags: ReleaseLine["goflags"];
  versionPackage: string;
  /** Files the strategy's patches change, relative to the tree. */
  changes: string[];
  patchSeries: string | null;
  pin: Pin | null;
  /**
   * Whether the release is one the catalog knows was published (its line is
   * covered and its patch number not above the line's last); null for a bare
   * line. False is a warning, never a refusal: the answer is the line's.
   */
  knownRelease: boolean | null;
  /** For a bare line whose releases need different strategies. */
  otherRanges: { range: string; strategy: StrategyId }[];
}

/** Parse a user's version argument. Throws UsageError with a one-line message. */
export function parseVersionQuery(input: string): VersionQuery {
  const raw = String(input ?? "").trim();
  const shown = JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
  if (!raw) {
    throw new UsageError(
      "E_VERSION_EMPTY",
      "expected a Kubernetes version such as 1.16.15 or v1.16.15, found an empty string",
      "pass a version, e.g. `kubelet-nokmem resolve 1.16.15`",
    );
  }
  const parsed = parseReleaseOrLine(raw);
  const r = parsed?.release;
  if (parsed && !r) return { version: null, line: parsed.line };
  if (parsed && r && r.build === null) {
    if (r.prerelease === null) return { version: releaseCore(r), line: parsed.line };
    throw new UsageError(
      "E_VERSION_PRERELEASE",
      `expected a released Kubernetes version, found the pre-release ${shown}`,
      `use the release it became, e.g. ${releaseCore(r)}`,
    );
  }
  throw new UsageError(
    "E_VERSION_SYNTAX",
    `expected a Kubernetes version such as 1.16.15, v1.16.15 or 1.16, found ${shown}`,
    "pass MAJOR.MINOR.PATCH or MAJOR.MINOR",
  );
}

function coverage(catalog: Catalog): string {
  const mins = catalog.lines.map((l) => semver.minVersion(l.range)!).sort(semver.compare);
  return `${catalog.lines[0] ? `${mins[0]!.major}.${mins[0]!.minor}` : "?"} to ${catalog.lines
    .map((l) => l.line)
    .sort(compareLines)
    .at(-1)}`;
}

/** The catalog entry covering an exact release, or undefined. */
export function lineFor(catalog: Catalog, version: string): ReleaseLine | undefined {
  return catalog.lines.find((l) => satisfies(version, l.range));
}

/** A release line's range, ">=A.B.C <D.E.F", of plain versions (no leading zeros, safe integers). */
const LINE_RANGE = /^>=(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8}) <(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;
const PLAIN_VERSION = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;

/**
 * semver.satisfies, answered by comparing numbers when the version is plain
 * and the range has a release line's form (what an audit asks for each
 * binary): semver parses a range with a dozen regular expressions, each
 * compiled on first use, which was a third of the audit's analysis of a
 * binary. Anything else goes to semver.
 * @public (test/catalog/satisfies.test.ts holds it to semver's answers)
 */
export function satisfies(version: string, range: string): boolean {
  const v = PLAIN_VERSION.exec(version);
  const r = v ? LINE_RANGE.exec(range) : null;
  if (!v || !r) return semver.satisfies(version, range);
  const at = [Number(v[1]), Number(v[2]), Number(v[3])];
  const cmp = (k: number) => {
    for (let i = 0; i < 3; i++) {
      const d = at[i]! - Number(r[k + i]);
      if (d !== 0) return d;
    }
    return 0;
  };
  return cmp(1) >= 0 && cmp(4) < 0;
}

export function resolve(catalog: Catalog, input: string | VersionQuery): Resolution {
  const q = typeof input === "string" ? parseVersionQuery(input) : input;
  const entries = catalog.lines.filter((l) => l.line === q.line);
  let entry: ReleaseLine | undefined;
  if (q.version) {
    entry = lineFor(catalog, q.version);
  } else {
    entry = entries.slice().sort((a, b) => semver.compare(semver.minVersion(a.range)!, semver.minVersion(b.range)!))[0];
  }
  if (!entry) {
    const newer = newerThanCatalog(catalog, q);
    if (newer) return newer;
    const what = q.version ?? q.line;
    throw new UsageError(
      "E_VERSION_UNKNOWN",
      `expected a release the catalog covers (${coverage(catalog)}), found ${what}`,
      "pick a covered release, or add its line to versions.json",
    );
  }
  return resolution(catalog, q, entry, { line: entry.line, range: entry.range, reason: entry.reason });
}

/**
 * A line newer than every line of the catalog, when the newest lines need
 * nothing: runc dropped its kmem code in 1.0.0-rc94, which every release from
 * the first `none` range of that run on vendors (1.21.2 on), and no later
 * runc brought it back. Such a release is answered as the newest line is,
 * under its own line, and with the reason saying so. Another major version
 * is not assumed to follow.
 */
function newerThanCatalog(catalog: Catalog, q: VersionQuery): Resolution | null {
  const byAge = catalog.lines.slice().sort((a, b) => semver.compare(semver.minVersion(a.range)!, semver.minVersion(b.range)!));
  const newest = byAge.at(-1);
  if (!newest || strategyFor(newest.strategy).change !== "none") return null;
  const [major, minor] = newest.line.split(".").map(Number) as [number, number];
  if (!q.line.startsWith(`${major}.`) || compareLines(q.line, newest.line) <= 0) return null;
  // The start of the newest run of ranges that need nothing: 1.21.2 with the bundled catalog.
  let first = newest;
  for (const l of byAge.slice(0, -1).reverse()) {
    if (strategyFor(l.strategy).change !== "none") break;
    first = l;
  }
  const from = semver.minVersion(first.range)!.version;
  const range = `>=${major}.${minor + 1}.0`;
  const reason = `Every release from ${from} on vendors a runc without kmem code (removed in 1.0.0-rc94); the catalog's lines end at ${newest.line}, so ${q.line} is answered as ${newest.line} is. ${newest.reason}`;
  return resolution(catalog, q, newest, { line: q.line, range, reason });
}

function resolution(catalog: Catalog, q: VersionQuery, entry: ReleaseLine, as: { line: string; range: string; reason: string }): Resolution {
  const strategy = strategyFor(entry.strategy);
  const entries = catalog.lines.filter((l) => l.line === q.line);
  const release = q.version ? parseRelease(q.version) : null;
  return {
    version: q.version,
    line: as.line,
    range: as.range,
    strategy: entry.strategy,
    affected: strategy.affected,
    reason: as.reason,
    reference: entry.reference,
    env: buildEnv(entry),
    image: entry.image,
    go: entry.go,
    runc: entry.runc,
    kmemLayout: entry.kmemLayout,
    goflags: entry.goflags,
    versionPackage: entry.versionPackage,
    changes: [...strategy.changes],
    patchSeries: strategy.patchSeries(entry),
    pin: (q.version && catalog.pins[q.version]) || null,
    knownRelease: release ? isKnownPatchRelease(release) : null,
    otherRanges: q.version ? [] : entries.filter((e) => e !== entry).map((e) => ({ range: e.range, strategy: e.strategy })),
  };
}

/** Strategy env over line env. GOFLAGS carries the tag alone (docs/domain.md, "The GOFLAGS trap"). */
function buildEnv(entry: ReleaseLine): Env {
  return { ...entry.env, ...strategyFor(entry.strategy).env };
}
