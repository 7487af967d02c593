/**
 * The catalog's runc lines (versions.json `runcLines`): ranges over runc
 * versions (read and ordered by src/runc-version.ts) and the strategy each
 * range needs. Pure.
 */
import { CatalogError, UsageError } from "../errors.js";
import { compareRunc, formatRuncVersion, parseRuncVersion, type RuncRelease } from "../runc-version.js";
import { strategyFor } from "../strategy/index.js";
import type { KmemLayout, RuncStrategyId } from "../strategy/types.js";

export interface RuncReleaseLine {
  /** A name for the line, e.g. "1.0.0-rc6" or "1.0.0-rc7..rc8". */
  line: string;
  /** `>=A <B`, `>=A` or `<B` over runc versions. */
  range: string;
  strategy: RuncStrategyId;
  kmemLayout: KmemLayout;
  /** Go of the release's own Dockerfile (`FROM golang:` / `ARG GO_VERSION=`). */
  go: string;
  /** Default build image: Go plus libseccomp headers (`image build --runc`). */
  image: string;
  reason: string;
  reference: string;
}

interface Bounds {
  from: RuncRelease | null;
  until: RuncRelease | null;
}

/** `>=1.0.0-rc6 <1.0.0-rc7` → bounds; null when the text is not such a range. */
export function parseRuncRange(range: string): Bounds | null {
  const bounds: Bounds = { from: null, until: null };
  const parts = range.trim().split(/\s+/);
  if (!parts.length || parts.length > 2) return null;
  for (const p of parts) {
    const m = /^(>=|<)(.+)$/.exec(p);
    const v = m ? parseRuncVersion(m[2]!) : null;
    if (!m || !v) return null;
    if (m[1] === ">=") {
      if (bounds.from) return null;
      bounds.from = v;
    } else {
      if (bounds.until) return null;
      bounds.until = v;
    }
  }
  if (bounds.from && bounds.until && compareRunc(bounds.from, bounds.until) >= 0) return null;
  return bounds;
}

export function runcInRange(v: RuncRelease, range: string): boolean {
  const b = parseRuncRange(range);
  if (!b) return false;
  return (!b.from || compareRunc(v, b.from) >= 0) && (!b.until || compareRunc(v, b.until) < 0);
}

export interface RuncResolution {
  product: "runc";
  /** "1.0.0-rc93": what the tree's VERSION file and the binary's `runc --version` must say. */
  version: string;
  line: string;
  range: string;
  strategy: RuncStrategyId;
  affected: boolean;
  kmemLayout: KmemLayout;
  /** Tags the strategy adds to the Makefile's default BUILDTAGS. */
  addTags: string[];
  changes: string[];
  patchSeries: string | null;
  go: string;
  image: string;
  reason: string;
  reference: string;
}

function parseRuncVersionArgument(input: string): RuncRelease {
  const v = parseRuncVersion(String(input ?? ""));
  if (!v) {
    throw new UsageError(
      "E_RUNC_VERSION",
      `expected a runc version such as 1.0.0-rc93 or v1.0.0-rc5, found ${JSON.stringify(String(input ?? "").slice(0, 40))}`,
      "pass the version `runc --version` prints, e.g. --version 1.0.0-rc93",
    );
  }
  return v;
}

export function runcLineFor(lines: readonly RuncReleaseLine[], version: string): RuncReleaseLine | undefined {
  const v = parseRuncVersion(version);
  return v ? lines.find((l) => runcInRange(v, l.range)) : undefined;
}

/** Which strategy a runc release needs, from the catalog alone. */
export function resolveRunc(lines: readonly RuncReleaseLine[], input: string): RuncResolution {
  const v = parseRuncVersionArgument(input);
  const version = formatRuncVersion(v);
  const line = lines.find((l) => runcInRange(v, l.range));
  if (!line) {
    throw new UsageError(
      "E_RUNC_NOT_COVERED",
      `expected a runc release the catalog covers (${lines.map((l) => l.range).join(", ")}), found ${version}`,
      "add a runcLines entry to versions.json, or pass --catalog with one",
    );
  }
  const s = strategyFor(line.strategy);
  return {
    product: "runc",
    version,
    line: line.line,
    range: line.range,
    strategy: line.strategy,
    affected: s.affected,
    kmemLayout: line.kmemLayout,
    addTags: [...s.addTags],
    changes: [...s.changes],
    patchSeries: s.patchSeries(line),
    go: line.go,
    image: line.image,
    reason: line.reason,
    reference: line.reference,
  };
}

/**
 * What the schema cannot say about runcLines: ranges that parse, do not
 * overlap, and a layout the strategy accepts; and each runcPins release
 * inside a runc line, as each pin's release is inside a kubelet line.
 */
export function checkRuncLines(lines: readonly RuncReleaseLine[], source: string, pins: readonly string[] = []): void {
  lines.forEach((l, i) => {
    const b = parseRuncRange(l.range);
    if (!b) {
      throw new CatalogError(
        "E_CATALOG_RANGE",
        `${source}: at /runcLines/${i}/range: expected a runc range such as ">=1.0.0-rc6 <1.0.0-rc7", found ${JSON.stringify(l.range)}`,
        "fix the range",
      );
    }
    if (!strategyFor(l.strategy).layouts.includes(l.kmemLayout)) {
      throw new CatalogError(
        "E_CATALOG_LAYOUT",
        `${source}: at /runcLines/${i}: expected a kmemLayout that ${l.strategy} accepts (${strategyFor(l.strategy).layouts.join(", ")}), found ${l.kmemLayout}`,
        "correct the strategy or the layout",
      );
    }
    lines.slice(0, i).forEach((o, k) => {
      const ob = parseRuncRange(o.range)!;
      const below = (x: Bounds, y: Bounds) => x.until !== null && y.from !== null && compareRunc(x.until, y.from) <= 0;
      if (!below(b, ob) && !below(ob, b)) {
        throw new CatalogError(
          "E_CATALOG_OVERLAP",
          `${source}: at /runcLines/${i}/range: expected ranges that do not overlap, found ${JSON.stringify(l.range)} overlapping /runcLines/${k}/range ${JSON.stringify(o.range)}`,
          "narrow one of the two ranges",
        );
      }
    });
  });
  for (const version of pins) {
    const v = parseRuncVersion(version);
    if (!v || !lines.some((l) => runcInRange(v, l.range))) {
      throw new CatalogError(
        "E_CATALOG_PIN",
        `${source}: at /runcPins/${version}: expected a runc release inside a runc line, found none covering ${version}`,
        "remove the pin or add its runc line",
      );
    }
  }
}
