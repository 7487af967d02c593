/**
 * Source tarballs (.tar.gz). Extracting is a copy by nature, so the user's
 * file is only read. A tarball made by `git archive` names its commit in a pax
 * global header (what `git get-tar-commit-id` reads) and carries the commit
 * time as every entry's mtime: both are read here without git.
 */
import { createHash } from "node:crypto";
import { openRegular, streamRegularFile } from "../io/read.js";
import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { createGunzip } from "node:zlib";
import { TreeError } from "../errors.js";
import { run } from "../process/exec.js";

interface ArchiveHeader {
  /** From a `git archive` pax comment, else null. */
  commit: string | null;
  /** mtime of the first header, seconds. */
  mtime: number | null;
}

/** Parse the first tar header block(s). Pure over bytes. */
export function parseTarHead(buf: Buffer): ArchiveHeader {
  if (buf.length < 512) return { commit: null, mtime: null };
  const type = String.fromCharCode(buf[156]!);
  const mtime = octal(buf.subarray(136, 148));
  if (type !== "g") return { commit: null, mtime };
  const size = octal(buf.subarray(124, 136)) ?? 0;
  const data = buf.subarray(512, 512 + size).toString("utf8");
  const m = /\d+ comment=([0-9a-f]{40,64})\n/.exec(data);
  return { commit: m?.[1] ?? null, mtime };
}

function octal(field: Buffer): number | null {
  const s = field.toString("ascii").replace(/\0.*$/s, "").trim();
  return /^[0-7]+$/.test(s) ? parseInt(s, 8) : null;
}

const unreadable = (file: string, err: Error) =>
  new TreeError(
    "E_ARCHIVE",
    `expected a gzip-compressed tar file at ${file}, found unreadable data (${err.message})`,
    "pass a .tar.gz made by `tar czf` or `git archive --format=tar.gz`",
  );

export async function readArchiveHeader(file: string): Promise<ArchiveHeader> {
  const chunks: Buffer[] = [];
  let have = 0;
  const failed = (err: Error) => unreadable(file, err);
  // Through the reading door: a FIFO or device named as the archive is refused, never opened.
  const { fh } = await openRegular(file).catch((err: Error) => Promise.reject(failed(err)));
  await new Promise<void>((resolve, reject) => {
    const input = fh.createReadStream({ start: 0 }); // closes the handle when done or destroyed
    const gunzip = createGunzip();
    const stop = () => {
      input.destroy();
      gunzip.destroy();
      resolve();
    };
    gunzip.on("data", (c: Buffer) => {
      chunks.push(c);
      have += c.length;
      if (have >= 2048) stop();
    });
    gunzip.on("end", resolve);
    gunzip.on("error", (err) => (have >= 512 ? resolve() : reject(err)));
    input.on("error", reject);
    input.pipe(gunzip);
  }).catch((err: Error) => {
    throw failed(err);
  });
  return parseTarHead(Buffer.concat(chunks));
}

/** sha256 of the archive file itself: the digest a third party can check against the file its URI names. */
export async function archiveSha256(file: string, signal?: AbortSignal): Promise<string> {
  const h = createHash("sha256");
  // A source archive that cannot be read is the source's fault (exit 6), as in readArchiveHeader; an interruption stays one.
  await streamRegularFile(file, (chunk) => h.update(chunk), { signal }).catch((err: Error) => Promise.reject(signal?.aborted ? err : unreadable(file, err)));
  return h.digest("hex");
}

/**
 * Extract into `into` (which must not exist) and return the tree root: the
 * single top-level folder if the archive has one (kubernetes/ in upstream's
 * kubernetes-src.tar.gz, name-version/ in most others), else `into` itself.
 */
export async function extractArchive(file: string, into: string, signal?: AbortSignal): Promise<string> {
  await mkdir(into, { recursive: true });
  try {
    await run({ file: "tar", args: ["-xzf", file, "-C", into, "--no-same-owner"] }, { signal });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new TreeError("E_ARCHIVE", `expected ${file} to extract, found tar failing: ${(err as Error).message}`, "check the file with `tar -tzf`");
  }
  const top = (await readdir(into, { withFileTypes: true })).filter((d) => d.name !== "pax_global_header");
  if (top.length === 1 && top[0]!.isDirectory()) return join(into, top[0]!.name);
  return into;
}
