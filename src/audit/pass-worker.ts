/**
 * A worker thread of the folder audit's pool (./pass.ts): given a file the
 * main thread opened and checked (src/io/read.ts openRegular: never a FIFO,
 * device or socket), it makes the one pass over the bytes — large
 * sequential reads, sha256 and the marker search on the same chunks — and
 * answers with the digest and the hits. It opens nothing itself: it reads
 * only the descriptor it is given, which the main thread keeps open until
 * the answer comes.
 */
import { createHash } from "node:crypto";
import { readSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import { MARKERS } from "./markers.js";
import { MarkerSearch } from "./scan.js";
import type { PassRequest, PassResponse } from "./pass.js";

function pass(req: PassRequest): PassResponse {
  const ids = new Set(req.markerIds);
  const search = new MarkerSearch(
    MARKERS.filter((m) => ids.has(m.id)),
    { ignore: req.ignore },
  );
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(req.chunk);
  let pos = 0;
  while (pos < req.size) {
    const bytesRead = readSync(req.fd, buf, 0, Math.min(req.chunk, req.size - pos), pos);
    if (bytesRead === 0) break;
    const current = buf.subarray(0, bytesRead);
    hash.update(current);
    search.push(current);
    pos += bytesRead;
  }
  return { id: req.id, sha256: hash.digest("hex"), bytes: pos, hits: [...search.result()] };
}

parentPort?.on("message", (req: PassRequest) => {
  let res: PassResponse;
  try {
    res = pass(req);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    res = { id: req.id, error: { message: e.message, ...(e.code === undefined ? {} : { code: e.code }) } };
  }
  parentPort!.postMessage(res);
});
