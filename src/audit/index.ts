/**
 * The audit stage: tell from a binary alone whether it can enable kmem
 * accounting. Used by `kubelet-nokmem audit` and by the build step, which
 * refuses to publish a binary whose verdict is not `patched`.
 */
import { describeReadFailure, readRegularText } from "../io/read.js";
import { join } from "node:path";
import { settlePublication } from "../artifact/publish.js";
import { auditFile, type FileAuditOptions } from "./file.js";
import { parseInTotoManifest, parseSha256Sums, type ManifestEntry } from "./pin.js";
import type { BinaryReport } from "./report.js";
import { expandTargets, type WalkOptions } from "./walk.js";
import { failedReport } from "./analyse.js";

export { auditFile } from "./file.js";
export { type Verdict } from "./verdict.js";

/**
 * Entries of a manifest folder: SHA256SUMS and/or manifest.json. Throws a
 * plain Error naming the file when one exists but cannot be read or parsed
 * (and the tool's own error when a publication into it is still running or
 * cannot be finished).
 */
export async function readManifestDir(dir: string): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  let found = 0;
  await settlePublication(dir); // a build killed while renaming into dir is finished first, never read half-way
  for (const [name, parse] of [
    ["SHA256SUMS", parseSha256Sums],
    ["manifest.json", parseInTotoManifest],
  ] as const) {
    const file = join(dir, name);
    let text: string;
    try {
      text = await readRegularText(file, { maxBytes: 16 * 1024 * 1024 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new Error(`expected a readable ${file}, found ${describeReadFailure(err)}`);
    }
    found++;
    out.push(...parse(text, file));
  }
  if (!found) throw new Error(`expected SHA256SUMS or manifest.json in ${dir}, found neither`);
  return out;
}

interface AuditPathsOptions extends FileAuditOptions, WalkOptions {
  /** Files audited at once. */
  concurrency?: number;
  /** Called as each file finishes (for progress). */
  onReport?: (r: BinaryReport) => void;
}

/** Audit files and folders; reports come back in the order of the expanded targets. */
export async function auditPaths(paths: readonly string[], options: AuditPathsOptions): Promise<BinaryReport[]> {
  const targets = await expandTargets(paths, options);
  const reports: BinaryReport[] = new Array<BinaryReport>(targets.length);
  let next = 0;
  const worker = async () => {
    while (next < targets.length) {
      const i = next++;
      const t = targets[i]!;
      reports[i] = t.error ? failedReport(t.path, t.error) : await auditFile(t.path, options);
      options.onReport?.(reports[i]);
    }
  };
  const n = Math.max(1, Math.min(options.concurrency ?? 2, targets.length));
  await Promise.all(Array.from({ length: n }, worker));
  return reports;
}
