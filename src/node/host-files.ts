/**
 * The doctor's only door to the node's files. It reads, never writes, and
 * never blocks: a FIFO or device where a file is expected is reported, not
 * opened for a blocking read.
 *
 * Paths are node paths (`/proc/cgroups`) resolved under a root, so the doctor
 * can examine a host filesystem mounted elsewhere (`--root /host`); links are
 * followed inside that root (src/io/root.ts).
 */
import { lstatSync, readdirSync, type Dirent } from "node:fs";
import { stat, type FileHandle } from "node:fs/promises";
import { locateUnderRoot } from "../io/root.js";
import { NotRegularFileError, openRegular as openRegularFile } from "../io/read.js";
import { join } from "node:path";
import type { NodeRead } from "./types.js";

const CHUNK = 64 * 1024;
/** Entries read between two turns of the event loop while counting directories. */
const YIELD_EVERY = 20_000;

export interface DirectoryCount {
  state: "ok";
  count: number;
  /** Subdirectories that could not be listed (their own subtrees are not counted). */
  unlisted: number;
  /** True when counting stopped at the limit. */
  capped: boolean;
}

export class HostFiles {
  constructor(readonly root: string) {}

  /** Where a node path lives on this machine, with links resolved inside the root. */
  locate(nodePath: string): Promise<string> {
    return locateUnderRoot(this.root, nodePath);
  }

  /** Read a node file whole, up to maxBytes. */
  async read(nodePath: string, maxBytes = 1024 * 1024): Promise<NodeRead> {
    const local = await this.tryLocate(nodePath);
    return typeof local === "string" ? readLocal(local, nodePath, maxBytes) : local;
  }

  private async tryLocate(nodePath: string): Promise<string | Exclude<NodeRead, { state: "ok" }>> {
    try {
      return await this.locate(nodePath);
    } catch (err) {
      return fromError(nodePath, err);
    }
  }

  /** What kind of thing sits at a node path, or null when nothing does. */
  async kind(nodePath: string): Promise<"file" | "directory" | "other" | null> {
    try {
      const st = await stat(await this.locate(nodePath));
      return st.isFile() ? "file" : st.isDirectory() ? "directory" : "other";
    } catch {
      return null;
    }
  }

  /**
   * Count the directories under a node path, the path itself included (it is a
   * cgroup too). Links are not followed; counting stops at `limit`.
   *
   * A node with 20,000 pods has twice as many memory cgroups, each holding
   * some 30 control files: listing every one took seconds. A directory's link
   * count is 2 + its subdirectories on cgroupfs (kernfs), ext4, xfs and
   * tmpfs, so one with exactly 2 has none and is counted without being
   * opened; any other count (btrfs says 1) is listed. Synchronous calls, in
   * batches between which signals are seen: thousands of tiny reads through
   * the thread pool spent most of their time waiting.
   */
  async countDirectories(nodePath: string, limit = 500_000): Promise<DirectoryCount | Exclude<NodeRead, { state: "ok" }>> {
    const top = await this.tryLocate(nodePath);
    if (typeof top !== "string") return top;
    try {
      const st = await stat(top);
      if (!st.isDirectory()) return { path: nodePath, state: "unreadable", cause: "other", reason: "not a directory" };
    } catch (err) {
      return fromError(nodePath, err);
    }
    let count = 1;
    let unlisted = 0;
    const stack = [top];
    let sinceYield = 0;
    while (stack.length) {
      if (count >= limit) return { state: "ok", count: limit, unlisted, capped: true };
      const dir = stack.pop()!;
      let entries: Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch (err) {
        if (dir === top) return fromError(nodePath, err);
        unlisted++;
        continue;
      }
      for (const entry of entries) {
        if (!entry.isDirectory()) continue;
        count++;
        const sub = join(dir, entry.name);
        const links = lstatSync(sub, { throwIfNoEntry: false })?.nlink;
        if (links !== 2) stack.push(sub);
      }
      sinceYield += entries.length + 1;
      if (sinceYield > YIELD_EVERY) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    if (count >= limit) return { state: "ok", count: limit, unlisted, capped: true };
    return { state: "ok", count, unlisted, capped: false };
  }

  /** Feed the lines of the last `tailBytes` of a node file to onLine (only those `wanted` matches, when given). */
  async scanTail(nodePath: string, tailBytes: number, onLine: (line: string) => void, wanted?: RegExp): Promise<ScanResult> {
    const local = await this.tryLocate(nodePath);
    return typeof local === "string" ? scanLocalTail(local, nodePath, tailBytes, onLine, wanted) : local;
  }
}

export type ScanResult = { state: "ok"; scannedBytes: number; fileBytes: number } | Exclude<NodeRead, { state: "ok" }>;

/** Open a regular file without ever blocking on a FIFO (the tool's one reading door, src/io/read.ts); refuse anything else. */
async function openRegular(local: string, shown: string): Promise<FileHandle | Exclude<NodeRead, { state: "ok" }>> {
  try {
    return (await openRegularFile(local)).fh;
  } catch (err) {
    if (err instanceof NotRegularFileError) {
      if (err.found === "a directory") return { path: shown, state: "unreadable", cause: "io-error", reason: "EISDIR: a directory where a file belongs" };
      return { path: shown, state: "unreadable", cause: "not-regular", reason: `not a regular file (${err.found})` };
    }
    return fromError(shown, err);
  }
}

/** Read a file on this machine (not under the root), shown under `shown`. */
async function readLocal(local: string, shown: string, maxBytes: number): Promise<NodeRead> {
  const fh = await openRegular(local, shown);
  if (!("read" in fh)) return fh;
  try {
    // procfs and sysfs files report size 0: read until EOF, not st.size bytes.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(CHUNK);
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) return { path: shown, state: "unreadable", cause: "too-large", reason: `larger than ${maxBytes} bytes` };
      chunks.push(buf.subarray(0, bytesRead));
    }
    return { path: shown, state: "ok", text: Buffer.concat(chunks).toString("utf8") };
  } catch (err) {
    return fromError(shown, err);
  } finally {
    await fh.close();
  }
}

/** A piece of a log read at once: large reads, few turns of the event loop. */
const TAIL_CHUNK = 1 << 20;

/**
 * Stream the last tailBytes of a local file line by line (a log can be
 * gigabytes). With `wanted` (a global-flag-free pattern any line onLine
 * cares about contains), only lines holding a match are cut out and passed:
 * the pattern runs over each piece as a whole instead of every line being
 * split off and tested, which was most of the time on a big log.
 */
export async function scanLocalTail(local: string, shown: string, tailBytes: number, onLine: (line: string) => void, wanted?: RegExp): Promise<ScanResult> {
  const fh = await openRegular(local, shown);
  if (!("read" in fh)) return fh;
  const find = wanted ? new RegExp(wanted.source, `${wanted.flags.replace(/[gy]/g, "")}g`) : null;
  const emit = (text: string) => {
    if (!find) {
      for (const line of text.split("\n")) onLine(line);
      return;
    }
    find.lastIndex = 0;
    for (let m = find.exec(text); m; m = find.exec(text)) {
      const start = text.lastIndexOf("\n", m.index) + 1;
      const nl = text.indexOf("\n", m.index + m[0].length);
      const end = nl === -1 ? text.length : nl;
      onLine(text.slice(start, end));
      find.lastIndex = end + 1;
    }
  };
  try {
    const size = (await fh.stat()).size;
    let position = Math.max(0, size - tailBytes);
    let skipFirst = position > 0; // the first line is cut in the middle
    let carry = "";
    let scanned = 0;
    const buf = Buffer.alloc(Math.min(TAIL_CHUNK, Math.max(1, tailBytes)));
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      scanned += bytesRead;
      let text = carry + buf.subarray(0, bytesRead).toString("latin1");
      if (skipFirst) {
        const nl = text.indexOf("\n");
        if (nl === -1) {
          carry = "";
          continue;
        }
        text = text.slice(nl + 1);
        skipFirst = false;
      }
      const last = text.lastIndexOf("\n");
      carry = text.slice(last + 1);
      if (last !== -1) emit(text.slice(0, last));
    }
    if (carry && !skipFirst) emit(carry);
    return { state: "ok", scannedBytes: scanned, fileBytes: size };
  } catch (err) {
    return fromError(shown, err);
  } finally {
    await fh.close();
  }
}

function fromError(shown: string, err: unknown): Exclude<NodeRead, { state: "ok" }> {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  const reason = code || (err instanceof Error ? err.message : String(err));
  switch (code) {
    case "ENOENT":
    case "ENOTDIR":
      return { path: shown, state: "missing" };
    case "EACCES":
    case "EPERM":
      return { path: shown, state: "unreadable", cause: "denied", reason };
    case "EIO":
      return { path: shown, state: "unreadable", cause: "io-error", reason: "EIO: input/output error" };
    case "EISDIR":
      return { path: shown, state: "unreadable", cause: "io-error", reason: "EISDIR: a directory where a file belongs" };
    default:
      return { path: shown, state: "unreadable", cause: "other", reason };
  }
}
