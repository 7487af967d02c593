/**
 * The one vocabulary for what a kubelet or runc binary is, as judged from its
 * bytes (DOMAIN.md, "Telling a nokmem kubelet from a normal one"). The audit
 * decides it; the build's verify step, the verdict Statement and the doctor
 * report it in these words and no others.
 * - patched: the binary cannot enable kmem accounting (nokmem)
 * - unpatched: it can
 * - not-affected: its release never enables kmem accounting
 * - unknown: the evidence does not decide
 */
export const VERDICTS = ["patched", "unpatched", "not-affected", "unknown"] as const;
export type Verdict = (typeof VERDICTS)[number];
