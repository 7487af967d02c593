/**
 * Which files an audit looks at: the paths given, and inside folders (walked
 * recursively, symlinked folders not followed so loops cannot trap the walk)
 * the kubelet-named executables, or with `all` every ELF file. With a root,
 * the paths are a node's paths resolved under it (src/io/root.ts), links
 * followed inside the root, and the targets are named by their node paths.
 */
import type { Dirent } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { openRegular } from "../io/read.js";
import { locateUnderRoot } from "../io/root.js";
import { join } from "node:path";
import { ELF_MAGIC } from "./elf.js";
import { fileKind } from "../io/read.js";
import { errnoError, notRegularError } from "./file.js";
import { PATH_MISSING, type FileError } from "./report.js";

interface Target {
  /** The path as given or found in a folder (with a root: the node's path). */
  path: string;
  /** Where the file is on this machine, when that differs from path (under a root). */
  file?: string;
  /** Set when the path cannot be audited; the audit reports it and goes on. */
  error?: FileError;
}

export interface WalkOptions {
  /** Every ELF file in folders, not only kubelet-named executables. */
  all: boolean;
  /** Leave out, quietly, paths given that do not exist (a fleet's list of usual folders). */
  skipMissing?: boolean;
  signal?: AbortSignal;
  /** A node's file system mounted here: paths are node paths, links are followed inside it. */
  root?: string;
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
    let st, local;
    try {
      local = await locate(p, options);
      st = await stat(local);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") {
        // A path the user named that is not there: a typo must not pass a gate.
        if (!options.skipMissing) add({ path: p, error: pathMissing(p) });
      } else add({ path: p, error: errnoError(p, err) });
      continue;
    }
    // A path given by name is audited whatever it is named; auditFile reports what it is.
    if (st.isDirectory()) await walk(local, p, options, add);
    else add(target(p, local));
  }
  return out;
}

/** Where a path is on this machine: itself, unless under a root ("/" resolves nothing). */
function locate(path: string, options: WalkOptions): Promise<string> {
  return locateUnderRoot(options.root ?? "/", path);
}

function target(path: string, local: string): Target {
  return local === path ? { path } : { path, file: local };
}

function pathMissing(path: string): FileError {
  return {
    code: PATH_MISSING,
    message: `expected ${path} to exist, found nothing there (check the path, or pass --skip-missing to leave out paths absent on this machine)`,
  };
}

/** Walk `local`, the folder a target names `dir` (the same path unless under a root). */
async function walk(local: string, dir: string, options: WalkOptions, add: (t: Target) => void): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(local, { withFileTypes: true });
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
      await walk(join(local, e.name), path, options, add);
      continue;
    }
    const named = KUBELET_NAME.test(e.name);
    if (!options.all && !named) continue;
    let st, file;
    try {
      file = e.isSymbolicLink() ? await locate(path, options) : join(local, e.name);
      st = await stat(file);
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
    if (options.all ? await hasElfMagic(file) : (st.mode & 0o111) !== 0 || (await hasElfMagic(file))) add(target(path, file));
  }
}
