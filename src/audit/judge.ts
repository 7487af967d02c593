/**
 * The verdict over a binary's evidence (docs/domain.md, "Markers in
 * binaries"). Pure: evidence and what the catalog says in, a verdict
 * and its reasons out. The one rule that matters most: never `patched` without
 * evidence — and absence of the enabled-only strings counts as evidence only
 * for a recognised kubelet of a release whose nokmem build leaves no trace.
 */
import { runcHasKmemCode } from "../runc-version.js";
import { strategiesOf, strategyFor, strategyForLayout } from "../strategy/index.js";
import type { AuditSignature, KmemLayout, StrategyId } from "../strategy/types.js";
import type { Verdict } from "../verdict.js";
import { MARKER_BY_ID } from "./markers.js";

export type Program = "kubelet" | "runc" | "other";

export type EvidenceKind = "enabled" | "disabled" | "identity" | "absence";

export interface Evidence {
  /** Stable id, e.g. `enabled-string:kmem-limit-file`, `build-tag:nokmem`. */
  id: string;
  kind: EvidenceKind;
  /** What was found and what it means. */
  detail: string;
  /** Occurrences in the file (for byte markers). */
  count?: number;
  /** File offsets of the first occurrences (for byte markers). */
  offsets?: number[];
}

/** What the catalog says about the binary's release. */
export interface ReleaseFacts {
  version: string;
  line: string;
  strategy: StrategyId;
  kmemLayout: KmemLayout;
  /** Whether kubelets of the release carry kmem-enabling code. */
  affected: boolean;
}

export interface VerdictInput {
  program: Program;
  /** Evidence found in the binary (absence items are added by verdictFor). */
  evidence: Evidence[];
  /** The Kubernetes release the catalog matched, or null. */
  release: ReleaseFacts | null;
  /** The stamped version as found, even when the catalog does not cover it. */
  kubernetesVersion: string | null;
  /** Whether the version came from the symbol table, the build info or a confirmed heuristic match. */
  versionTrusted: boolean;
  /** runc's own version (for runc binaries). */
  runcVersion: string | null;
  /**
   * The kmem layout the catalog's runc line gives that version, when the
   * version was read exactly (symbols or recorded ldflags), else null.
   */
  runcLayout?: KmemLayout | null;
}

interface VerdictResult {
  verdict: Verdict;
  reasons: string[];
  /** Evidence the verdict adds (an absence it relied on). */
  added: Evidence[];
}

/** Strings of runc's kmem functions themselves, not just the file name other programs also probe. */
const RUNC_KMEM_CODE = new Set(["enabled-string:kmem-failed-to-set", "enabled-string:kmem-not-supported"]);

const STRONG_DISABLED = new Set(["disabled-string:runc-build", "source-path:kmem_disabled.go"]);

/**
 * Whether a kubelet built as this signature says may leave nothing to find:
 * its build carries no disabled marker, or the strategy names markerless
 * forms of its change.
 */
export function isSilentSignature(sig: AuditSignature): boolean {
  return sig.markerlessForms !== undefined || !sig.present.some((id) => MARKER_BY_ID.get(id)?.kind === "disabled");
}

/**
 * Layouts whose nokmem build may leave nothing to find, so that only absence
 * tells it apart: read from the strategies' audit signatures (src/strategy/),
 * the layouts where an affected strategy's signature is silent.
 */
export const SILENT_WHEN_DISABLED: ReadonlySet<KmemLayout> = new Set(
  strategiesOf("kubelet")
    .filter((s) => s.affected)
    .flatMap((s) => Object.entries(s.signatures).map(([layout, sig]) => ({ layout: layout as KmemLayout, sig })))
    .filter(({ sig }) => isSilentSignature(sig))
    .map(({ layout }) => layout),
);

const ENABLED_ABSENT_ID = "absence:enabled-strings";

export function verdictFor(input: VerdictInput): VerdictResult {
  const ids = new Set(input.evidence.map((e) => e.id));
  const enabledStrings = input.evidence.filter((e) => e.kind === "enabled" && e.id.startsWith("enabled-string:")).map((e) => e.id);
  const kmemPath = ids.has("source-path:kmem.go");
  const disabled = input.evidence.filter((e) => STRONG_DISABLED.has(e.id)).map((e) => e.id);
  const tag = ids.has("build-tag:nokmem");
  const reasons: string[] = [];
  const done = (verdict: Verdict, added: Evidence[] = []): VerdictResult => ({ verdict, reasons, added });

  if (input.release && !input.release.affected && (enabledStrings.length || disabled.length || kmemPath)) {
    reasons.push(
      `the catalog says ${input.release.version} has no kmem code (layout ${input.release.kmemLayout}), but the binary carries kmem markers: the binary is the final word`,
    );
  }

  // memory.kmem.limit_in_bytes alone is weak: runc before 1.9-era kubelets
  // names it for explicit kernel-memory limits (which kubelet never sets), and
  // other programs (dockerd) probe it. runc's kmem function strings are strong.
  const strong = enabledStrings.filter((id) => RUNC_KMEM_CODE.has(id));
  if (strong.length && disabled.length) {
    reasons.push(
      `both enabled-only (${strong.join(", ")}) and disabled-only (${disabled.join(", ")}) markers are present: two runc copies or a hand-edited build; cannot tell which one runs`,
    );
    return done("unknown");
  }
  if (strong.length) {
    reasons.push(`enabled-only kmem code is in the binary: ${enabledStrings.join(", ")}`);
    if (tag) reasons.push("the build info says -tags nokmem, but the tag did not remove the kmem code (a pre-split runc has no nokmem tag)");
    return done("unpatched");
  }
  if (enabledStrings.length && !disabled.length) {
    const r = input.release;
    if (input.program === "kubelet" && r?.affected) {
      reasons.push(`enabled-only kmem code is in the binary: ${enabledStrings.join(", ")} (release ${r.version} enables kmem through it)`);
      return done("unpatched");
    }
    if (input.program === "kubelet" && r && !r.affected) {
      reasons.push(
        `release ${r.version} carries no kmem-enabling code (catalog: layout ${r.kmemLayout}); the binary only names ${enabledStrings.join(", ")}, as its runc does for explicit kernel-memory limits, which kubelet never sets`,
      );
      return done("not-affected");
    }
    if (input.program === "runc" && input.runcLayout && !runcLayoutAffected(input.runcLayout)) {
      reasons.push(
        `runc ${input.runcVersion} (layout ${input.runcLayout}) never turns kmem accounting on by itself; the binary only names ${enabledStrings.join(", ")}, as runc does for explicit kernel-memory limits`,
      );
      return done("not-affected");
    }
    reasons.push(
      `the binary names ${enabledStrings.join(", ")} but carries none of runc's kmem functions${input.program === "other" ? " and is neither a kubelet nor runc" : ""}: it may only probe the file; cannot tell`,
    );
    return done("unknown");
  }
  if (disabled.length) {
    reasons.push(`the disabled kmem variant is in the binary: ${disabled.join(", ")}; no enabled-only kmem function is`);
    if (enabledStrings.length) reasons.push(`it also names ${enabledStrings.join(", ")}, which code other than the kmem functions may probe`);
    if (kmemPath) reasons.push("kmem.go is in the line table but holds the disabled implementation (the kmem-override patch)");
    if (tag) reasons.push("the build info records -tags nokmem");
    return done("patched");
  }
  if (kmemPath) {
    reasons.push("the line table names kmem.go, but neither variant's strings are present: cannot tell what it does");
    return done("unknown");
  }

  // No kmem marker at all: what that means depends on what the binary is.
  switch (input.program) {
    case "kubelet":
      return kubeletByAbsence(input, tag, reasons, done);
    case "runc":
      return runcByAbsence(input.runcVersion, input.runcLayout ?? null, reasons, done);
    case "other":
      reasons.push("no kmem marker found and the binary is neither a kubelet nor runc");
      return done("not-affected");
  }
}

function kubeletByAbsence(input: VerdictInput, tag: boolean, reasons: string[], done: (v: Verdict, added?: Evidence[]) => VerdictResult): VerdictResult {
  const r = input.release;
  if (!r) {
    reasons.push(
      input.kubernetesVersion
        ? `no kmem marker found, and the catalog does not cover ${input.kubernetesVersion}: cannot tell whether this release carries kmem code`
        : "no kmem marker found, and no Kubernetes version stamp either: cannot tell whether this release carries kmem code",
    );
    return done("unknown");
  }
  if (!r.affected) {
    reasons.push(`release ${r.version} carries no kmem code (catalog: strategy ${r.strategy}, layout ${r.kmemLayout}) and no kmem marker is in the binary`);
    return done("not-affected");
  }
  if (!input.versionTrusted) {
    reasons.push(
      `no kmem marker found; the version ${input.kubernetesVersion} came from an unconfirmed heuristic match, too weak to rest a verdict on an absence`,
    );
    return done("unknown");
  }
  if (!SILENT_WHEN_DISABLED.has(r.kmemLayout)) {
    reasons.push(
      `release ${r.version} vendors a ${r.kmemLayout} runc: a normal build carries the enabled strings and a nokmem build the disabled one; found neither${tag ? " (though the build info says -tags nokmem)" : ""}`,
    );
    return done("unknown");
  }
  const absence: Evidence = {
    id: ENABLED_ABSENT_ID,
    kind: "absence",
    detail: `none of the enabled-only strings is present, in a kubelet of ${r.version} whose vendored runc (${r.kmemLayout}) carries them in a normal build`,
  };
  reasons.push(
    `release ${r.version} carries kmem code (layout ${r.kmemLayout}), and its enabled-only strings are absent: the kmem code was stubbed or compiled out`,
  );
  if (tag) reasons.push("the build info records -tags nokmem");
  return done("patched", [absence]);
}

/**
 * runc layouts whose nokmem build leaves no marker (rc6: kmem_disabled.go
 * returns nil from both functions and is inlined away), from the runc
 * strategies' audit signatures: there, a runc of that exact release with none
 * of the enabled-only strings was built nokmem.
 */
const RUNC_SILENT_WHEN_DISABLED: ReadonlySet<KmemLayout> = new Set(
  strategiesOf("runc")
    .filter((s) => s.affected)
    .flatMap((s) => Object.entries(s.signatures).map(([layout, sig]) => ({ layout: layout as KmemLayout, sig })))
    .filter(({ sig }) => !sig.present.some((id) => MARKER_BY_ID.get(id)?.kind === "disabled"))
    .map(({ layout }) => layout),
);

/** Whether runcs of a layout enable kmem accounting (the runc strategy for the layout says). */
function runcLayoutAffected(layout: KmemLayout): boolean {
  return strategyFor(strategyForLayout("runc", layout)).affected;
}

function runcByAbsence(
  version: string | null,
  layout: KmemLayout | null,
  reasons: string[],
  done: (v: Verdict, added?: Evidence[]) => VerdictResult,
): VerdictResult {
  const has = version ? runcHasKmemCode(version) : null;
  if (layout && !runcLayoutAffected(layout)) {
    reasons.push(`runc ${version} (layout ${layout}) never turns kmem accounting on by itself, and no kmem marker is in the binary`);
    return done("not-affected");
  }
  if (has === false) {
    reasons.push(`runc ${version} has no kmem code (removed in 1.0.0-rc94) and no kmem marker is in the binary`);
    return done("not-affected");
  }
  if (has === true && layout && RUNC_SILENT_WHEN_DISABLED.has(layout)) {
    reasons.push(
      `runc ${version} carries kmem code (layout ${layout}), and its enabled-only strings are absent: it was built with the nokmem tag, whose disabled code leaves no string`,
    );
    return done("patched", [
      {
        id: ENABLED_ABSENT_ID,
        kind: "absence",
        detail: `none of the enabled-only strings is present, in runc ${version} whose normal build (${layout}) carries them`,
      },
    ]);
  }
  reasons.push(
    has === true
      ? `runc ${version} carries kmem code, but no kmem marker was found: cannot tell how it was built`
      : "no kmem marker found and runc's version is unknown: cannot tell whether it carries kmem code",
  );
  return done("unknown");
}
