/**
 * The audit stage: tell from a binary alone whether it can enable kmem
 * accounting. Used by `kubelet-nokmem audit` and by the build step, which
 * refuses to publish a binary whose verdict is not `patched`.
 */
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { auditFile, type FileAuditOptions } from "./file.js";
import type { ManifestEntry } from "../catalog/pin-check.js";
import { MANIFEST_FILE } from "../artifact/manifest.js";
import { checkOutDir } from "../artifact/outdir.js";
import type { VerifyingKey } from "../artifact/dsse.js";
import type { BinaryReport } from "./report.js";
import { expandTargets, type WalkOptions } from "./walk.js";
import { failedReport } from "./analyse.js";
import { passInline, PassWorker, type Pass } from "./pass.js";

export { auditFile } from "./file.js";

/**
 * Entries of a `--manifest` folder: a build output folder, checked by
 * artifact/'s one check (artifact/outdir.ts), the same verify and pin make,
 * so the three agree on every folder; its kubelets are the entries. (A bare
 * SHA256SUMS list is not enough: with manifest.json removed it would vouch
 * for whatever it lists.)
 */
export async function readManifestDir(dir: string, key: VerifyingKey | null = null): Promise<ManifestEntry[]> {
  const build = await checkOutDir(dir, key);
  const source = join(dir, MANIFEST_FILE);
  return build.binaries.map((b) => ({ name: b.name, sha256: b.sha256, source }));
}

interface AuditPathsOptions extends FileAuditOptions, WalkOptions {
  /** Files audited at once. */
  concurrency?: number;
  /** Called as each file finishes (for progress). */
  onReport?: (r: BinaryReport) => void;
}

/**
 * Audit files and folders; reports come back in the order of the expanded
 * targets. Up to `concurrency` passes at once (never more threads than
 * cores): one on this thread, the others each on a worker thread of a small
 * pool (./pass.ts), while this thread also opens and checks the next files
 * and analyses the finished ones. Each worker has its next file opened and
 * asked for before it finishes one, so it never waits for this thread.
 */
export async function auditPaths(paths: readonly string[], options: AuditPathsOptions): Promise<BinaryReport[]> {
  const targets = await expandTargets(paths, options);
  const reports: BinaryReport[] = new Array<BinaryReport>(targets.length);
  const auditable = targets.filter((t) => !t.error).length;
  const n = Math.max(1, Math.min(options.concurrency ?? 2, targets.length));
  const threads = Math.min(n, auditable, availableParallelism());
  const workers = (await Promise.all(Array.from({ length: Math.max(0, threads - 1) }, () => PassWorker.start()))).filter((w) => w !== null);
  let inline = false;
  // This thread's pass when it has none running, else the worker with the fewest passes asked of it.
  const pass: Pass = async (input) => {
    if (inline) return workers.reduce((a, b) => (b.pending < a.pending ? b : a)).pass(input);
    inline = true;
    try {
      return await passInline(input);
    } finally {
      inline = false;
    }
  };
  const fileOptions = workers.length ? { ...options, pass } : options;
  const slots = Math.min(targets.length, n + workers.length);
  let next = 0;
  const slot = async () => {
    while (next < targets.length) {
      const i = next++;
      const t = targets[i]!;
      // Under a root the file is read where it lives and reported by the node's path.
      reports[i] = t.error ? failedReport(t.path, t.error) : { ...(await auditFile(t.file ?? t.path, fileOptions)), path: t.path };
      options.onReport?.(reports[i]);
    }
  };
  try {
    await Promise.all(Array.from({ length: slots }, () => slot()));
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
  return reports;
}
