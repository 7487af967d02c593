/**
 * The file layer: open one file safely, make the single streaming pass, hand
 * the rest to analyse(). Anything wrong with the file becomes a FileError in
 * its report; nothing here throws for a bad file.
 */
import type { FileHandle } from "node:fs/promises";
import { describeReadFailure, NotRegularFileError, openRegular, type OpenedFile } from "../io/read.js";
import { analyse, failedReport, readLayout, type AuditOptions } from "./analyse.js";
import { ELF_HEADER_SIZE, ElfFormatError } from "./elf.js";
import { MARKERS } from "./markers.js";
import type { BinaryReport, FileError } from "./report.js";
import { passInline, type Pass } from "./pass.js";
import type { ByteSource } from "./source.js";

/** 1 MiB: a chunk stays in L2 between the hash and the search (measured faster than 256 KiB and 4 MiB). */
const DEFAULT_CHUNK_SIZE = 1 << 20;

export interface FileAuditOptions extends AuditOptions {
  chunkSize?: number;
  signal?: AbortSignal;
  /** Where the pass over the bytes runs (./pass.ts): this thread unless a worker's is given. */
  pass?: Pass;
}

export const notRegularError = (path: string, found: string): FileError => ({
  code: "E_AUDIT_NOT_REGULAR",
  message: `expected a regular file at ${path}, found ${found}; skipped without reading it`,
});

export function errnoError(path: string, err: unknown): FileError {
  if (err instanceof NotRegularFileError) return notRegularError(path, err.found);
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOENT":
      return { code: "E_AUDIT_NOT_FOUND", message: `expected a file at ${path}, found nothing (it vanished or never existed)` };
    case "EACCES":
    case "EPERM":
      return { code: "E_AUDIT_UNREADABLE", message: `expected a readable file at ${path}, found permission denied (run as a user who can read it)` };
    case "ELOOP":
      return { code: "E_AUDIT_SYMLINK_LOOP", message: `expected ${path} to lead to a file, found a symlink loop` };
    case "ENOTDIR":
      return { code: "E_AUDIT_NOT_FOUND", message: `expected a file at ${path}, found a path through something that is not a folder` };
    default:
      // In words (describeReadFailure), never a bare errno or tool code.
      return { code: "E_AUDIT_IO", message: `expected to read ${path}, found ${describeReadFailure(err)}` };
  }
}

function handleSource(fh: FileHandle, size: number): ByteSource {
  return {
    size,
    async read(offset, length) {
      const len = Math.max(0, Math.min(length, size - offset));
      if (len === 0 || offset < 0) return Buffer.alloc(0);
      const buf = Buffer.allocUnsafe(len);
      let got = 0;
      while (got < len) {
        const { bytesRead } = await fh.read(buf, got, len - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    },
  };
}

/** Audit one file. Never throws for a problem with the file itself. */
export async function auditFile(path: string, options: FileAuditOptions): Promise<BinaryReport> {
  let file: OpenedFile;
  try {
    // Never opens a FIFO, socket or device (src/io/read.ts): they are reported, not read.
    file = await openRegular(path);
  } catch (err) {
    return failedReport(path, errnoError(path, err));
  }
  try {
    return await auditHandle(path, file.fh, file.size, options);
  } catch (err) {
    if (options.signal?.aborted) throw err;
    if (err instanceof ElfFormatError)
      return failedReport(path, { code: "E_AUDIT_ELF_MALFORMED", message: `expected a well-formed ELF file at ${path}, found ${err.message}` });
    return failedReport(path, errnoError(path, err));
  } finally {
    await file.fh.close().catch(() => undefined);
  }
}

async function auditHandle(path: string, fh: FileHandle, size: number, options: FileAuditOptions): Promise<BinaryReport> {
  if (size === 0) return failedReport(path, { code: "E_AUDIT_EMPTY", message: `expected an executable at ${path}, found an empty file` }, { size: 0 });
  const src = handleSource(fh, size);
  const head = await src.read(0, ELF_HEADER_SIZE);
  const layout = await readLayout(src, head);
  if (!layout) {
    return failedReport(path, { code: "E_AUDIT_NOT_ELF", message: `expected an ELF executable at ${path}, found ${describeHead(head)}` }, { size });
  }
  // The build info is read from its own section when there is one; the pass need not look for it.
  const markers = layout.image?.section(".go.buildinfo") ? MARKERS.filter((m) => m.kind !== "structure") : MARKERS;
  const ignore = layout.image?.unsearchedRanges() ?? [];
  const chunk = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const pass = await (options.pass ?? passInline)({ fh, size, chunk, markers, ignore, ...(options.signal ? { signal: options.signal } : {}) });
  if (pass.bytes !== size) {
    return failedReport(
      path,
      { code: "E_AUDIT_CHANGED", message: `expected ${size} bytes in ${path}, found ${pass.bytes}: the file changed during the audit` },
      { size },
    );
  }
  return analyse(path, layout, { sha256: pass.sha256, size, hits: pass.hits }, options);
}

function describeHead(head: Buffer): string {
  if (head.subarray(0, 2).toString("latin1") === "#!") return "a script";
  if (head[0] === 0x1f && head[1] === 0x8b) return "gzip data";
  if (head.subarray(0, 4).toString("latin1") === "\x7fELF") return "a truncated ELF header";
  return `no ELF magic (first bytes ${head.subarray(0, 4).toString("hex") || "none"})`;
}
