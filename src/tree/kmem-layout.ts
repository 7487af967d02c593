/**
 * Which kmem layout a tree's vendored runc `libcontainer/cgroups/fs` package
 * has (docs/domain.md, "Release eras"), and whether it was already patched so
 * that the kubelet never enables kmem accounting. Takes file contents, not
 * paths: the audit and the patch step reuse it.
 */
import type { KmemLayout } from "../catalog/types.js";
import { TreeError } from "../errors.js";
import { buildConstraint, declares, functionBody, maskGo, nokmemInConstraint } from "./go-source.js";

/** Where the vendored runc package lives, relative to a Kubernetes tree. */
export const RUNC_FS_DIR = "vendor/github.com/opencontainers/runc/libcontainer/cgroups/fs";

/** runc rc7+ (runc#2065): the error the disabled setKernelMemory returns. */
export const KMEM_DISABLED_MESSAGE = "kernel memory accounting disabled in this runc build";

const ENABLE_FN = "EnableKernelMemoryAccounting";
const SET_FN = "setKernelMemory";

export interface KmemFinding {
  /** File name inside RUNC_FS_DIR. */
  file: string;
  says: string;
}

export interface KmemDetection {
  layout: KmemLayout;
  /**
   * The code a default build (no tags) compiles never writes kmem limits:
   * the tree was patched (vendor-stub's memory.go, kmem-override's kmem.go).
   * Always false for `legacy` and `absent`, which need no patch.
   */
  patched: boolean;
  findings: KmemFinding[];
  notes: string[];
}

/** Writes that turn kmem accounting on, in every runc version seen (ioutil, fscommon, cgroups.WriteFile). */
const KMEM_WRITE = /\bsetKernelMemory\s*\(|WriteFile\s*\(|writeFile\s*\(|OpenFile\s*\(|cgroupKernelMemoryLimit|kmem\.limit_in_bytes/;
/** Code that knows about kernel memory at all (the legacy layout sets a kmem limit only when asked). */
const KMEM_AWARE = /kmem\.limit_in_bytes|\bKernelMemory\b|\b[sS]etKernelMemory\b/;

/** A function body that cannot turn kmem accounting on. */
function isInert(body: string): boolean {
  return !KMEM_WRITE.test(maskGo(body, true));
}

function returnsDisabledError(body: string): boolean {
  return body.includes(KMEM_DISABLED_MESSAGE);
}

interface Variant {
  file: string;
  source: string;
  constraint: string;
  /** true: compiled only with -tags=nokmem; false: only without; null: always. */
  nokmem: boolean | null;
}

/** The fs package matches no known layout; the same error for `inspect`, `patch` and `build`. */
export class UnknownLayoutError extends TreeError {
  constructor(found: string) {
    super(
      "E_TREE_KMEM_LAYOUT",
      `expected a known kmem layout (pre-split memory.go, or kmem.go + kmem_disabled.go) in ${RUNC_FS_DIR}, found: ${found}`,
      "compare the folder with the layouts in docs/inspect.md; restore it with `git checkout -- vendor/` (or from the release tarball)",
    );
  }
}

/**
 * Classify the fs package. `files` maps file names in RUNC_FS_DIR to their
 * content (test files may be left out). Throws UnknownLayoutError when the
 * package matches none of the known layouts.
 */
export function detectKmemLayout(files: Record<string, string>): KmemDetection {
  const variants: Variant[] = Object.entries(files)
    .filter(([name]) => name.endsWith(".go") && !name.endsWith("_test.go"))
    .sort(([a], [b]) => a.localeCompare(b))
    .filter(([, source]) => declares(source, ENABLE_FN) || declares(source, SET_FN))
    .map(([file, source]) => {
      const constraint = buildConstraint(source);
      return { file, source, constraint, nokmem: nokmemInConstraint(constraint) };
    });
  const findings: KmemFinding[] = [];
  const notes: string[] = [];

  const withEnable = variants.filter((v) => declares(v.source, ENABLE_FN));
  if (withEnable.length === 0) {
    const aware = Object.entries(files).find(([name, src]) => name.endsWith(".go") && !name.endsWith("_test.go") && KMEM_AWARE.test(maskGo(src, true)));
    if (aware) {
      findings.push({ file: aware[0], says: `no ${ENABLE_FN}; kernel memory is set only when a kmem limit is asked for` });
      return { layout: "legacy", patched: false, findings, notes };
    }
    findings.push({ file: files["memory.go"] !== undefined ? "memory.go" : "(package)", says: "no kernel-memory code at all" });
    return { layout: "absent", patched: false, findings, notes };
  }

  const always = withEnable.filter((v) => v.nokmem === null);
  const enabled = withEnable.find((v) => v.nokmem === false);
  const disabled = withEnable.find((v) => v.nokmem === true);

  if (always.length === 1 && !enabled && !disabled) {
    // Pre-split (runc rc4/rc5): both functions in memory.go, no tag to choose another.
    const v = always[0]!;
    if (!declares(v.source, SET_FN)) {
      throw new UnknownLayoutError(`${v.file} declares ${ENABLE_FN} without ${SET_FN}`);
    }
    const patched = describeBodies(v, findings, notes, "pre-split");
    return { layout: "pre-split", patched, findings, notes };
  }

  if (always.length === 0 && (enabled || disabled)) {
    let rc7: boolean;
    if (disabled) {
      const setBody = functionBody(disabled.source, SET_FN) ?? "";
      rc7 = returnsDisabledError(setBody);
      findings.push({
        file: disabled.file,
        says: `(${disabled.constraint}) ${SET_FN} ${rc7 ? `returns "${KMEM_DISABLED_MESSAGE}"` : "returns nil"}`,
      });
    } else {
      // Without the disabled variant, tell the eras apart by the enabled one:
      // rc7 added the "not supported by this kernel" check beside the error.
      rc7 = /kernel memory accounting not supported by this kernel/.test(enabled!.source);
      notes.push(`${enabled!.file} has no nokmem counterpart in the package: a build with -tags=nokmem will not compile`);
    }
    const layout: KmemLayout = rc7 ? "split-rc7+" : "split-rc6";
    let patched = false;
    if (enabled) {
      patched = describeBodies(enabled, findings, notes, layout);
    } else {
      notes.push(`no file compiled without -tags=nokmem declares ${ENABLE_FN}: a build without the tag will not compile`);
    }
    return { layout, patched, findings, notes };
  }

  throw new UnknownLayoutError(`${ENABLE_FN} is declared in ${withEnable.map((v) => `${v.file} (${v.constraint || "no build constraint"})`).join(", ")}`);
}

/** Record what a default-build variant's kmem functions do; true when both are inert (patched). */
function describeBodies(v: Variant, findings: KmemFinding[], notes: string[], layout: KmemLayout): boolean {
  const enable = functionBody(v.source, ENABLE_FN) ?? "";
  const set = functionBody(v.source, SET_FN);
  const enableInert = isInert(enable);
  const setInert = set === null ? true : isInert(set);
  const where = v.constraint ? `(${v.constraint}) ` : "";
  if (enableInert && setInert) {
    const how = set !== null && returnsDisabledError(set) ? `${SET_FN} returns "${KMEM_DISABLED_MESSAGE}"` : `${SET_FN} writes nothing`;
    findings.push({ file: v.file, says: `${where}${ENABLE_FN} and ${SET_FN} are stubs (${how}): patched` });
    return true;
  }
  findings.push({
    file: v.file,
    says: `${where}${layout === "pre-split" ? `declares both ${ENABLE_FN} and ${SET_FN}; ` : ""}${ENABLE_FN} writes memory.kmem.limit_in_bytes through ${SET_FN}: not patched`,
  });
  if (enableInert !== setInert) {
    notes.push(`${v.file} is partly patched: ${enableInert ? ENABLE_FN : SET_FN} is a stub but ${enableInert ? SET_FN : ENABLE_FN} still writes kmem limits`);
  }
  return false;
}
