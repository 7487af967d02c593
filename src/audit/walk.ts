/**
 * Which files an audit looks at: the paths given, and inside folders (walked
 * recursively, symlinked folders not followed so loops cannot trap the walk)
 * the kubelet-named executables, or with `all` every ELF file.
 */
import type { Dirent } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { openRegular } from "../io/read.js";
import { join } from "node:path";
import { ELF_MAGIC } from "./elf.js";
import { fileKind } from "../io/read.js";
import { errnoError, notRegularError } from "./file.js";
import { PATH_MISSING, type FileError } from "./report.js";

interface Target {
  path: string;
  /** Set when the path cannot be audited; the audit reports it and goes on. */
  error?: FileError;
}

export interface WalkOptions {
  /** Every ELF file in folders, not only kubelet-named executables. */
  all: boolean;
  /** Leave out, quietly, paths given that do not exist (a fleet's list of usual folders). */
  skipMissing?: boolean;
  signal?: AbortSignal;
}

const KUBELET_NAME = /kubelet/i;

async function hasElfMagic(path: string): Promise<boolean> {
  let fh;
  try {
    ({ fh } = await openRegular(path));
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    return bytesRead === 4 && buf.equals(ELF_MAGIC);
  } catch {
    return false;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

export async function expandTargets(paths: readonly string[], options: WalkOptions): Promise<Target[]> {
  const out: Target[] = [];
  const seen = new Set<string>();
  const add = (t: Target) => {
    if (seen.has(t.path)) return;
    seen.add(t.path);
    out.push(t);
  };
  for (const p of paths) {
    options.signal?.throwIfAborted();
    let st;
    try {
      st = await stat(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") {
        // A path the user named that is not there: a typo must not pass a gate.
        if (!options.skipMissing) add({ path: p, error: pathMissing(p) });
      } else add({ path: p, error: errnoError(p, err) });
      continue;
    }
    // A path given by name is audited whatever it is named; auditFile reports what it is.
    if (st.isDirectory()) await walk(p, options, add);
    else add({ path: p });
  }
  return out;
}

function pathMissing(path: string): FileError {
  return { code: PATH_MISSING, message: `expected ${path} to exist, found nothing there (check the path, or pass --skip-missing to leave out paths absent on this machine)` };
}

async function walk(dir: string, options: WalkOptions, add: (t: Target) => void): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    // A folder that vanished or cannot be read is one error; its siblings go on.
    add({ path: dir, error: errnoError(dir, err) });
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    options.signal?.throwIfAborted();
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      await walk(path, options, add);
      continue;
    }
    const named = KUBELET_NAME.test(e.name);
    if (!options.all && !named) continue;
    let st;
    try {
      st = await stat(path);
    } catch (err) {
      // A kubelet-named entry that vanished or loops is worth a line; any other is not.
      if (named) add({ path, error: errnoError(path, err) });
      continue;
    }
    if (st.isDirectory()) continue; // a symlink to a folder: not followed
    if (!st.isFile()) {
      if (named) add({ path, error: notRegularError(path, fileKind(st)) });
      continue;
    }
    if (options.all ? await hasElfMagic(path) : (st.mode & 0o111) !== 0 || (await hasElfMagic(path))) add({ path });
  }
}
