/**
 * The doctor's BinaryAuditor: the same detectors `kubelet-nokmem audit` uses,
 * reduced to what a node finding needs.
 */
import { auditFile } from "../audit/index.js";
import type { Catalog } from "../catalog/types.js";
import { coreOf } from "../release.js";
import type { BinaryAudit, BinaryAuditor } from "./binaries.js";

export function catalogBinaryAuditor(catalog: Catalog): BinaryAuditor {
  return async (path: string): Promise<BinaryAudit> => {
    const report = await auditFile(path, { catalog });
    if (report.errors.length && !report.sha256) throw new Error(report.errors.map((e) => e.message).join("; "));
    const stamped = report.kubernetesVersion?.gitVersion;
    const version = stamped ? coreOf(stamped) : null;
    return {
      verdict: report.verdict,
      ...(version ? { kubernetesVersion: version } : {}),
      ...(report.runcVersion ? { runcVersion: report.runcVersion.version } : {}),
      evidence: report.evidence.map((e) => ({ id: e.id, detail: e.detail })),
      pin: report.pin.status,
    };
  };
}
