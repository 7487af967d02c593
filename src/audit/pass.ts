/**
 * The one pass over a file's bytes (sha256 and the marker search on the
 * same chunks), on this thread or on a worker thread of a small pool, so a
 * folder audit hashes several files at once on the cores there are. The
 * file is opened and checked by the caller (./file.ts, src/io/read.ts)
 * before any pass reads it; a worker gets only the open descriptor.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Worker } from "node:worker_threads";
import type { Marker } from "./markers.js";
import { MarkerSearch, type MarkerHits } from "./scan.js";

/** A half-open range of file offsets [start, end) the search skips. */
interface ByteRange {
  start: number;
  end: number;
}

export interface PassResult {
  sha256: string;
  /** Bytes read (fewer than the size when the file shrank meanwhile). */
  bytes: number;
  hits: Map<string, MarkerHits>;
}

export interface PassInput {
  fh: FileHandle;
  size: number;
  chunk: number;
  markers: readonly Marker[];
  ignore: ByteRange[];
  signal?: AbortSignal;
}

export type Pass = (input: PassInput) => Promise<PassResult>;

/** What the main thread sends a worker (./pass-worker.ts). */
export interface PassRequest {
  id: number;
  fd: number;
  size: number;
  chunk: number;
  markerIds: string[];
  ignore: ByteRange[];
}

export type PassResponse =
  { id: number; sha256: string; bytes: number; hits: [string, MarkerHits][] } | { id: number; error: { message: string; code?: string } };

/** Start a positioned read; one still in flight when the loop stops early must not become an unhandled rejection. */
function readInto(fh: FileHandle, buf: Buffer, length: number, position: number) {
  const p = fh.read(buf, 0, length, position);
  p.catch(() => undefined);
  return p;
}

/**
 * Hash and search on this thread; the next read runs in the thread pool
 * meanwhile, so the thread never idles on a read it could have started.
 */
export const passInline: Pass = async ({ fh, size, chunk, markers, ignore, signal }) => {
  const search = new MarkerSearch(markers, { ignore });
  const hash = createHash("sha256");
  const bufs = [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)];
  let pos = 0;
  let turn = 0;
  let pending = readInto(fh, bufs[0]!, Math.min(chunk, size), 0);
  while (pos < size) {
    signal?.throwIfAborted();
    const { bytesRead } = await pending;
    if (bytesRead === 0) break;
    const current = bufs[turn]!.subarray(0, bytesRead);
    const next = pos + bytesRead;
    turn ^= 1;
    if (next < size) pending = readInto(fh, bufs[turn]!, Math.min(chunk, size - next), next);
    hash.update(current);
    search.push(current);
    pos = next;
  }
  return { sha256: hash.digest("hex"), bytes: pos, hits: search.result() };
};

/**
 * The worker's script: next to this module, as tsc and the bundle
 * (scripts/bundle-cli.mjs) both lay it out. Absent (running from the
 * TypeScript sources), passes run on this thread.
 */
function workerScript(): URL | null {
  const url = new URL("./pass-worker.js", import.meta.url);
  return url.protocol === "file:" && existsSync(fileURLToPath(url)) ? url : null;
}

/** The worker thread failed or ended: not a problem with the file. */
class WorkerGone extends Error {
  constructor(why: string) {
    super(`the audit's worker thread is gone (${why})`);
  }
}

interface Waiter {
  resolve: (r: PassResult) => void;
  reject: (e: Error) => void;
}

/**
 * One worker thread making passes, one after another in the order asked:
 * a caller may ask for the next pass before the last one is done, so the
 * thread goes from one file to the next without waiting for this thread.
 */
export class PassWorker {
  private readonly worker: Worker;
  private seq = 0;
  private readonly waiting = new Map<number, Waiter>();
  private failed: Error | null = null;

  private constructor(WorkerThread: typeof Worker, script: URL) {
    this.worker = new WorkerThread(script);
    // Idle between files: it must not keep the process alive.
    this.worker.unref();
    this.worker.on("message", (res: PassResponse) => this.answer(res));
    this.worker.on("error", (err) => this.fail(new WorkerGone(err.message)));
    this.worker.on("exit", (code) => this.fail(new WorkerGone(`exit code ${code}`)));
  }

  /**
   * A worker, or null when there is no worker script (the passes then run on
   * this thread). Node's worker module is loaded here, not at start-up: an
   * audit of one file never starts a worker.
   */
  static async start(): Promise<PassWorker | null> {
    const script = workerScript();
    return script ? new PassWorker((await import("node:worker_threads")).Worker, script) : null;
  }

  /** Passes asked of it and not yet answered. */
  get pending(): number {
    return this.waiting.size;
  }

  /** The pass on the worker; on this thread if the worker is gone (it failed to start or died), so the result is the same. */
  readonly pass: Pass = async (input) => {
    try {
      return await this.passOnWorker(input);
    } catch (err) {
      if (input.signal?.aborted || !(err instanceof WorkerGone)) throw err;
      return passInline(input);
    }
  };

  private async passOnWorker({ fh, size, chunk, markers, ignore, signal }: PassInput): Promise<PassResult> {
    signal?.throwIfAborted();
    if (this.failed) throw this.failed;
    const id = ++this.seq;
    const answer = new Promise<PassResult>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    if (this.waiting.size === 1) this.worker.ref();
    const req: PassRequest = { id, fd: fh.fd, size, chunk, markerIds: markers.map((m) => m.id), ignore };
    this.worker.postMessage(req);
    const onAbort = () => this.fail(signal!.reason instanceof Error ? signal!.reason : new Error("aborted"));
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await answer;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      // Stopped mid-pass: the worker may still be reading the descriptor, which the caller closes next.
      if (this.failed) await this.worker.terminate().catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    this.failed ??= new WorkerGone("stopped");
    await this.worker.terminate().catch(() => undefined);
  }

  private answer(res: PassResponse): void {
    const w = this.waiting.get(res.id);
    if (!w) return;
    this.waiting.delete(res.id);
    if (this.waiting.size === 0) this.worker.unref();
    if ("error" in res) {
      const err = Object.assign(new Error(res.error.message), res.error.code === undefined ? {} : { code: res.error.code });
      w.reject(err);
    } else w.resolve({ sha256: res.sha256, bytes: res.bytes, hits: new Map(res.hits) });
  }

  private fail(err: Error): void {
    this.failed ??= err;
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of all) w.reject(this.failed);
  }
}
