/**
 * The one vocabulary for what a kubelet or runc binary is, as judged from its
 * bytes (docs/domain.md, "Markers in binaries"). The audit
 * decides it; the build's verify step, the verdict Statement and the doctor
 * report it in these words and no others.
 * - patched: the binary cannot enable kmem accounting (nokmem)
 * - unpatched: it can
 * - not-affected: its release never enables kmem accounting
 * - unknown: the evidence does not decide
 */
export const VERDICTS = ["patched", "unpatched", "not-affected", "unknown"] as const;
export type Verdict = (typeof VERDICTS)[number];

/**
 * The verdicts of a binary that cannot enable kmem accounting: the only ones a
 * build publishes, the ones the doctor counts as safe.
 */
export const NOKMEM_VERDICTS = ["patched", "not-affected"] as const satisfies readonly Verdict[];
export type NokmemVerdict = (typeof NOKMEM_VERDICTS)[number];
export const isNokmem = (v: Verdict | null): v is NokmemVerdict => v !== null && (NOKMEM_VERDICTS as readonly Verdict[]).includes(v);
