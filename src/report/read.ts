/**
 * The report's inputs: files of `kubectl logs` output, or folders of them
 * (their regular files, one level, in name order). Bounded: a file, the
 * files of a folder and all of them together.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { describeReadFailure, formatBytes, readRegularText } from "../io/read.js";
import { UsageError } from "../errors.js";
import { emptyLogs, parseLogs, type ParsedLogs } from "./parse.js";

const MAX_FILE_BYTES = 256 * 1024 * 1024;
const MAX_TOTAL_BYTES = 1024 * 1024 * 1024;
const MAX_FILES = 100_000;

export async function readLogInputs(paths: string[]): Promise<ParsedLogs> {
  const logs = emptyLogs();
  const files: string[] = [];
  for (const p of paths) {
    const st = await stat(p).catch((err: unknown) => {
      throw new UsageError(
        "E_REPORT_INPUT",
        `expected a file or folder of kubectl logs output at ${p}, found ${describeReadFailure(err)}`,
        "pass what `kubectl logs` wrote, e.g. kubectl logs --prefix -l app.kubernetes.io/name=kubelet-nokmem-check --all-containers > fleet.log",
      );
    });
    if (st.isDirectory()) {
      const names = (await readdir(p, { withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => e.name)
        .sort();
      files.push(...names.map((n) => join(p, n)));
    } else files.push(p);
    if (files.length > MAX_FILES) throw new UsageError("E_REPORT_INPUT", `expected at most ${MAX_FILES} input files, found more`, "pass fewer folders");
  }
  let total = 0;
  for (const f of files) {
    let text: string;
    try {
      text = await readRegularText(f, { maxBytes: MAX_FILE_BYTES });
    } catch (err) {
      // One bad file does not lose the fleet: it is counted and named.
      logs.malformedCount++;
      if (logs.malformed.length < 20) logs.malformed.push({ source: f, line: 0, reason: `not read: ${describeReadFailure(err)}` });
      continue;
    }
    total += text.length;
    if (total > MAX_TOTAL_BYTES)
      throw new UsageError("E_REPORT_INPUT", `expected at most ${formatBytes(MAX_TOTAL_BYTES)} of input in all, found more`, "report on fewer files at a time");
    parseLogs(text, f, logs);
  }
  return logs;
}
