/**
 * Confinement: turning a name that came from an untrusted file (a journal
 * entry, a stash name, a publish-journal name, a path a source tree implies)
 * into a path that is certainly inside a root folder.
 *
 * A name is refused on its text when it is empty, absolute, holds a NUL or a
 * backslash, or climbs with `..`. Then every component that exists is
 * resolved through the file system (realpath), and the result must still lie
 * inside the root's real path: a symlink on the way that leads out (a tree
 * shipping `_output -> /etc`, an out dir with `escape -> /victim`) is refused.
 *
 * The final component is not followed by default ("nofollow"): the path
 * returned names the entry itself, so a rename replaces a symlink there
 * instead of writing through it, a removal removes the link, and
 * `openConfined` opens with O_NOFOLLOW so a symlink swapped in after the
 * check fails the open instead of being followed. "follow" resolves the final
 * component too (a patched source file may be a symlink to another file of
 * the same tree), still refusing anything that leaves the root.
 *
 * What this does not defend against: another process racing to replace a
 * checked folder with a symlink between the check and the use. The threat
 * model (docs/threat-model.md) is hostile content, not a hostile concurrent
 * writer on the same machine.
 */
import { constants } from "node:fs";
import { lstat, open, realpath, type FileHandle } from "node:fs/promises";
import { basename, dirname, join, sep } from "node:path";
import { fileKind, readToEnd, streamToEnd, type OpenedFile } from "./read.js";

export interface ConfinedRoot {
  /** As given (for messages). */
  given: string;
  /** After symlinks: what every confined path must lie inside. */
  real: string;
}

/** Why a name may not be used under a root, from its text alone; null when it may. */
export function nameProblem(name: string): string | null {
  if (typeof name !== "string") return "a value that is not a name";
  if (name === "") return "an empty name";
  if (name.includes("\0")) return "a name with a NUL byte";
  if (name.startsWith("/") || /^[A-Za-z]:[\\/]/.test(name)) return `the absolute path ${name}`;
  if (name.includes("\\")) return `the name ${name} with a backslash`;
  const parts = name.split("/");
  if (parts.includes("..")) return `the name ${name}, which climbs out with ..`;
  if (parts.some((p) => p === "" || p === ".")) return `the name ${name} with an empty or . component`;
  return null;
}

export const isInside = (root: string, p: string): boolean => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);

/** Thrown when a name leaves its root; callers turn it into their own error class (tree, patch, verification). */
export class ConfinementError extends Error {
  constructor(
    /** The name as found. */
    readonly subject: string,
    /** "the name ../x, which climbs out with .." / "a symlink on the way that leads out of …" */
    readonly problem: string,
  ) {
    super(`${subject}: ${problem}`);
    this.name = "ConfinementError";
  }
}

export async function confinedRoot(given: string): Promise<ConfinedRoot> {
  return { given, real: await realpath(given) };
}

type Final = "follow" | "nofollow";

/**
 * The absolute path of `name` under `root`, with every existing component
 * resolved; components that do not exist yet are appended as named.
 * ConfinementError when the name is refused or leads out of the root.
 */
export async function confine(root: ConfinedRoot, name: string, final: Final = "nofollow"): Promise<string> {
  const problem = nameProblem(name);
  if (problem) throw new ConfinementError(String(name), problem);
  const full = join(root.real, name);
  const head = final === "follow" ? full : dirname(full);
  const tail = final === "follow" ? [] : [basename(full)];
  let probe = head;
  const rest: string[] = [];
  for (;;) {
    let real: string;
    try {
      real = await realpath(probe);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === "ENOENT" || code === "ENOTDIR") && probe !== root.real && isInside(root.real, probe)) {
        // A dangling symlink: whatever is created through it lands where it points.
        if ((await lstat(probe).catch(() => null))?.isSymbolicLink()) throw new ConfinementError(name, `a dangling symlink on the way (${probe})`);
        rest.unshift(basename(probe));
        probe = dirname(probe);
        continue;
      }
      if (code === "ELOOP") throw new ConfinementError(name, "a symlink loop on the way");
      throw err;
    }
    const resolved = join(real, ...rest, ...tail);
    if (!isInside(root.real, real) || !isInside(root.real, resolved)) {
      throw new ConfinementError(name, `a path that leads through a symlink out of ${root.given}, to ${resolved}`);
    }
    return resolved;
  }
}

/**
 * Open a confined name without following a symlink at its last component
 * (O_NOFOLLOW) and, for reading, without blocking on a FIFO; the caller gets
 * null for a name that does not exist. Only regular files are returned.
 */
async function openConfined(root: ConfinedRoot, name: string, flags: "read" | number = "read", mode = 0o644): Promise<FileHandle | null> {
  const abs = await confine(root, name, "nofollow");
  const f = flags === "read" ? constants.O_RDONLY | constants.O_NONBLOCK : flags;
  let fh: FileHandle;
  try {
    fh = await open(abs, f | constants.O_NOFOLLOW, mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ELOOP") throw new ConfinementError(name, "a symlink where a file was expected");
    throw err;
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new ConfinementError(name, `${fileKind(st)} where a regular file was expected`);
  }
  return fh;
}

/** The bytes of a confined regular file, or null when it does not exist; FileTooLargeError past `maxBytes` (default: read.ts's). */
export async function readConfined(root: ConfinedRoot, name: string, opts: { maxBytes?: number } = {}): Promise<Buffer | null> {
  const fh = await openConfined(root, name, "read");
  if (!fh) return null;
  try {
    return await readToEnd(await opened(fh), join(root.given, name), opts);
  } finally {
    await fh.close();
  }
}

/**
 * Every chunk of a confined regular file to `onChunk` (a hash of a binary of
 * any size), or null when it does not exist; the number of bytes otherwise.
 */
export async function streamConfined(
  root: ConfinedRoot,
  name: string,
  onChunk: (chunk: Buffer) => void,
  opts: { maxBytes?: number; signal?: AbortSignal } = {},
): Promise<number | null> {
  const fh = await openConfined(root, name, "read");
  if (!fh) return null;
  try {
    return await streamToEnd(await opened(fh), join(root.given, name), onChunk, opts);
  } finally {
    await fh.close();
  }
}

async function opened(fh: FileHandle): Promise<OpenedFile> {
  const stats = await fh.stat();
  return { fh, size: stats.size, stats };
}
