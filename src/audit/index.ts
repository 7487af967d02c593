/**
 * The audit stage: tell from a binary alone whether it can enable kmem
 * accounting. Used by `kubelet-nokmem audit` and by the build step, which
 * refuses to publish a binary whose verdict is not `patched`.
 */
import { describeReadFailure, readRegularText } from "../io/read.js";
import { join } from "node:path";
import { checkPublicationFinished } from "../artifact/publish.js";
import { auditFile, type FileAuditOptions } from "./file.js";
import { manifestEntries, parseSha256Sums, type ManifestEntry } from "./pin.js";
import { readManifestStatement } from "../artifact/attestations.js";
import type { VerifyingKey } from "../artifact/dsse.js";
import { ToolError, UsageError } from "../errors.js";
import type { BinaryReport } from "./report.js";
import { expandTargets, type WalkOptions } from "./walk.js";
import { failedReport } from "./analyse.js";

export { auditFile } from "./file.js";

/**
 * Entries of a manifest folder: SHA256SUMS and/or manifest.json (any in-toto
 * v1 Statement, read strictly by artifact/). With `key`, manifest.json counts
 * only as signed by that key (manifest.dsse.json), and SHA256SUMS, which no
 * one signs, is not read. Throws E_AUDIT_MANIFEST (a bad --manifest
 * argument) naming the file when none is there or one cannot be read, and the
 * tool's own error when a publication into it is still running or was left
 * half-way, a Statement is malformed, or a signature does not verify.
 */
export async function readManifestDir(dir: string, key: VerifyingKey | null = null): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  let found = 0;
  await checkPublicationFinished(dir); // a folder a build left half-way is refused, never read (nor finished: the audit is read-only)
  if (!key) {
    const file = join(dir, "SHA256SUMS");
    let text: string | null = null;
    try {
      text = await readRegularText(file, { maxBytes: 16 * 1024 * 1024 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw manifestArgument(`expected a readable ${file}, found ${describeReadFailure(err)}`);
    }
    if (text !== null) {
      found++;
      out.push(...parseSha256Sums(text, file));
    }
  }
  let statement;
  try {
    statement = await readManifestStatement(dir, key);
  } catch (err) {
    if (err instanceof ToolError) throw err;
    throw manifestArgument(`expected a readable ${join(dir, "manifest.json")}, found ${(err as NodeJS.ErrnoException).code ?? "an error"}`);
  }
  if (statement) {
    found++;
    out.push(...manifestEntries(statement, join(dir, "manifest.json")));
  }
  if (!found) throw manifestArgument(key ? `expected a signed manifest.json in ${dir}, found none` : `expected SHA256SUMS or manifest.json in ${dir}, found neither`);
  return out;
}

function manifestArgument(message: string): UsageError {
  return new UsageError("E_AUDIT_MANIFEST", message, "pass a folder holding SHA256SUMS (sha256sum format) or an in-toto manifest.json");
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
      // Under a root the file is read where it lives and reported by the node's path.
      reports[i] = t.error ? failedReport(t.path, t.error) : { ...(await auditFile(t.file ?? t.path, options)), path: t.path };
      options.onReport?.(reports[i]);
    }
  };
  const n = Math.max(1, Math.min(options.concurrency ?? 2, targets.length));
  await Promise.all(Array.from({ length: n }, worker));
  return reports;
}
