/**
 * `verify PACKAGE` and `audit PACKAGE`: the kubelet inside a .rpm/.deb is
 * unpacked (extract.ts) and handed to the same functions a bare kubelet
 * meets: verifyTarget (the catalog's pin) and auditPaths (the verdict). The
 * package's own pin.json travels with the kubelet, so like a build's
 * SHA256SUMS it only cross-checks: it can make the kubelet a mismatch, never
 * a match. Reports name the kubelet as `PACKAGE!/usr/bin/kubelet`.
 */
import type { Catalog } from "../catalog/types.js";
import type { BinaryReport } from "../audit/report.js";
import type { VerifyingKey } from "../artifact/dsse.js";
import { verifyTarget, type VerifyResult } from "../pin/verify.js";
import { openPackage } from "./extract.js";
import { KUBELET_FILE, PIN_FILE } from "./layout.js";

const inside = (pkg: string, file: string) => `${pkg}!/${file}`;

const pinDisagrees = (recorded: string, actual: string) => `the package's ${PIN_FILE.split("/").at(-1)} records ${recorded}, the kubelet inside is ${actual}`;

export async function verifyPackage(
  catalog: Catalog,
  path: string,
  opts: { version?: string; platform?: string; manifestDir?: string; key?: VerifyingKey },
  signal?: AbortSignal,
): Promise<VerifyResult[]> {
  const pkg = await openPackage(path, signal);
  try {
    const results = await verifyTarget(catalog, pkg.kubelet, {
      ...opts,
      version: opts.version ?? pkg.pin?.kubernetes,
      platform: opts.platform ?? pkg.pin?.platform,
    });
    return results.map((r) => {
      const own = pkg.pin && pkg.pin.sha256 !== r.sha256 ? [pinDisagrees(pkg.pin.sha256, r.sha256)] : [];
      return { ...r, path: inside(path, KUBELET_FILE), outcome: own.length ? "mismatch" : r.outcome, reasons: [...own, ...r.reasons] };
    });
  } finally {
    await pkg.dispose();
  }
}

type AuditPaths = (paths: readonly string[]) => Promise<BinaryReport[]>;

export async function auditPackage(path: string, audit: AuditPaths, signal?: AbortSignal): Promise<BinaryReport[]> {
  const pkg = await openPackage(path, signal);
  try {
    const reports = await audit([pkg.kubelet]);
    return reports.map((r) => {
      const report = { ...r, path: inside(path, KUBELET_FILE) };
      if (!pkg.pin || !r.sha256) return report;
      const status = pkg.pin.sha256 === r.sha256 ? "match" : "mismatch";
      const checks = [
        ...r.pin.checks,
        { source: inside(path, PIN_FILE), name: `${pkg.pin.kubernetes} ${pkg.pin.platform}`, expected: pkg.pin.sha256, status } as const,
      ];
      const reasons = status === "mismatch" ? [pinDisagrees(pkg.pin.sha256, r.sha256), ...r.reasons] : r.reasons;
      return { ...report, reasons, pin: { status: status === "mismatch" ? "mismatch" : r.pin.status, checks } };
    });
  } finally {
    await pkg.dispose();
  }
}
