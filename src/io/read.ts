/**
 * The one door for reading files the tool did not write itself: catalogs,
 * source trees, output folders handed over by someone else, binaries, node
 * files. Each is checked to be a regular file before a byte is read:
 *
 * - stat first, so a FIFO is never opened (opening one for reading waits for
 *   a writer, forever), nor a socket or a device (`/dev/zero` never ends);
 * - then open with O_NONBLOCK and fstat the handle, so a path swapped for a
 *   FIFO between the two calls still cannot block, and what is read is what
 *   was checked;
 * - then read until end of file, never trusting the size a stat reports
 *   (procfs and sysfs report 0 and hold more), and stop at a limit, so a
 *   file that never ends, or a huge one where a small one belongs, is an
 *   error instead of a machine out of memory.
 *
 * Failures are plain errors with a `code` (the errno, or E_NOT_REGULAR /
 * E_TOO_LARGE) and the path: the caller decides which of the tool's errors
 * it is, and src/errors.ts maps whatever is left to a line a person can act on.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from "node:fs";
import { open, stat, type FileHandle } from "node:fs/promises";

/** A catalog, a manifest, a version file: far below this. */
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const CHUNK = 64 * 1024;

/** What kind of thing a stat describes, for messages ("found a FIFO"). */
export function fileKind(st: Pick<Stats, "isFIFO" | "isCharacterDevice" | "isBlockDevice" | "isSocket" | "isDirectory" | "isSymbolicLink">): string {
  if (st.isFIFO()) return "a FIFO";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  if (st.isDirectory()) return "a directory";
  if (st.isSymbolicLink()) return "a symbolic link";
  return "not a regular file";
}

/** A path that holds something other than a regular file. */
export class NotRegularFileError extends Error {
  readonly code = "E_NOT_REGULAR";
  constructor(
    readonly path: string,
    /** "a FIFO", "a directory", … */
    readonly found: string,
  ) {
    super(`expected a regular file at ${path}, found ${found}`);
    this.name = "NotRegularFileError";
  }
}

/** A file larger than what the caller is willing to hold in memory. */
export class FileTooLargeError extends Error {
  readonly code = "E_TOO_LARGE";
  constructor(
    readonly path: string,
    readonly limit: number,
  ) {
    super(`expected at most ${formatBytes(limit)} at ${path}, found more`);
    this.name = "FileTooLargeError";
  }
}

export interface OpenedFile {
  fh: FileHandle;
  /** What fstat said; for procfs and sysfs files 0, whatever they hold. */
  size: number;
  stats: Stats;
}

/**
 * Open a regular file for reading without ever blocking; refuse anything
 * else. The caller closes the handle.
 */
export async function openRegular(path: string): Promise<OpenedFile> {
  const before = await stat(path);
  if (!before.isFile()) throw new NotRegularFileError(path, fileKind(before));
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new NotRegularFileError(path, fileKind(st));
    return { fh, size: st.size, stats: st };
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

interface ReadOptions {
  /** Refuse files longer than this (default 64 MiB). */
  maxBytes?: number;
  signal?: AbortSignal;
}

/** Read an opened file from its start to its end (never trusting its stat size), up to maxBytes. */
export async function readToEnd(file: OpenedFile, path: string, opts: ReadOptions = {}): Promise<Buffer> {
  const max = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  if (file.size > max) throw new FileTooLargeError(path, max);
  const chunks: Buffer[] = [];
  let total = 0;
  let position = 0;
  for (;;) {
    opts.signal?.throwIfAborted();
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, max + 1 - total));
    const { bytesRead } = await file.fh.read(buf, 0, buf.length, position);
    if (bytesRead === 0) break;
    position += bytesRead;
    total += bytesRead;
    if (total > max) throw new FileTooLargeError(path, max);
    chunks.push(buf.subarray(0, bytesRead));
  }
  return Buffer.concat(chunks, total);
}

/** A regular file's bytes. Throws NotRegularFileError, FileTooLargeError or the errno error. */
export async function readRegularFile(path: string, opts: ReadOptions = {}): Promise<Buffer> {
  const file = await openRegular(path);
  try {
    return await readToEnd(file, path, opts);
  } finally {
    await file.fh.close().catch(() => undefined);
  }
}

/** A regular file's text (UTF-8). */
export async function readRegularText(path: string, opts: ReadOptions = {}): Promise<string> {
  return (await readRegularFile(path, opts)).toString("utf8");
}

/** The same as readRegularText, or null when nothing is at the path (ENOENT). */
export async function readRegularTextIfExists(path: string, opts: ReadOptions = {}): Promise<string | null> {
  try {
    return await readRegularText(path, opts);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

interface StreamOptions {
  signal?: AbortSignal;
  chunkSize?: number;
  /** Refuse (FileTooLargeError) once more than this was read; default: no limit. */
  maxBytes?: number;
}

/**
 * Call onChunk with every chunk of a regular file, start to end (for hashes
 * of binaries of any size). Returns the number of bytes read.
 */
export async function streamRegularFile(path: string, onChunk: (chunk: Buffer) => void, opts: StreamOptions = {}): Promise<number> {
  const file = await openRegular(path);
  try {
    return await streamToEnd(file, path, onChunk, opts);
  } finally {
    await file.fh.close().catch(() => undefined);
  }
}

/** streamRegularFile over a file already opened (and checked regular) by the caller. */
export async function streamToEnd(file: OpenedFile, path: string, onChunk: (chunk: Buffer) => void, opts: StreamOptions = {}): Promise<number> {
  const max = opts.maxBytes ?? Infinity;
  if (file.size > max) throw new FileTooLargeError(path, max);
  const buf = Buffer.allocUnsafe(opts.chunkSize ?? 1 << 20);
  let position = 0;
  for (;;) {
    opts.signal?.throwIfAborted();
    const { bytesRead } = await file.fh.read(buf, 0, buf.length, position);
    if (bytesRead === 0) return position;
    position += bytesRead;
    if (position > max) throw new FileTooLargeError(path, max);
    onChunk(buf.subarray(0, bytesRead));
  }
}

/** readRegularText for the few places that must stay synchronous (the catalog, loaded on first use). */
export function readRegularTextSync(path: string, opts: { maxBytes?: number } = {}): string {
  const max = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const before = statSync(path);
  if (!before.isFile()) throw new NotRegularFileError(path, fileKind(before));
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new NotRegularFileError(path, fileKind(st));
    if (st.size > max) throw new FileTooLargeError(path, max);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, max + 1 - total));
      const n = readSync(fd, buf, 0, buf.length, total);
      if (n === 0) break;
      total += n;
      if (total > max) throw new FileTooLargeError(path, max);
      chunks.push(buf.subarray(0, n));
    }
    return Buffer.concat(chunks, total).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/**
 * What was found instead of a readable file, for the middle of a message:
 * "no file", "a FIFO", "permission denied", "more than 64 MiB" …
 */
export function describeReadFailure(err: unknown): string {
  if (err instanceof NotRegularFileError) return err.found;
  if (err instanceof FileTooLargeError) return `more than ${formatBytes(err.limit)}`;
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOENT":
      return "no file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "ELOOP":
      return "a symbolic link loop";
    case "ENOTDIR":
      return "a path through something that is not a folder";
    case "EISDIR":
      return "a directory";
    case "EIO":
      return "an input/output error (EIO)";
    default:
      // Words first: a bare "E_NOT_REGULAR" or "EXDEV" in a sentence tells a person nothing.
      return code && /^E[A-Z0-9]+$/.test(code) ? `a system error (${code})` : "an error reading it";
  }
}

/**
 * A JSON syntax error for the middle of a message, without the text around
 * it: V8's own message quotes the input ("Unexpected token 'r', "root:x:0:0"…"),
 * and the input may be any file a symlink or a hard link put in its place.
 */
export function describeJsonSyntax(err: unknown): string {
  const at = /at position (\d+)/.exec(err instanceof Error ? err.message : "");
  return at ? `a JSON syntax error at byte ${at[1]}` : "a JSON syntax error";
}

export function formatBytes(n: number): string {
  if (n >= 1 << 30 && n % (1 << 30) === 0) return `${n / (1 << 30)} GiB`;
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n >= 1 << 10 && n % (1 << 10) === 0) return `${n / (1 << 10)} KiB`;
  return `${n} bytes`;
}
