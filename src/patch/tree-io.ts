/**
 * Reading and writing files of a source tree, confined to it. Every path a
 * patch names is checked before anything is read or written: absolute paths
 * and `..` are refused on the text, and the real path (after symlinks) must
 * lie inside the tree's real path. Writes go through writeFileAtomic, so a
 * file is always replaced by a new inode and a hard-linked copy of the tree
 * never sees the change.
 */
import { access, constants, open, realpath, rm, stat } from "node:fs/promises";
import { confine as confinePath, ConfinementError, type ConfinedRoot } from "../io/confine.js";
import { ensureDirectory } from "../io/directory.js";
import { describeReadFailure, fileKind, FileTooLargeError, formatBytes, NotRegularFileError, readRegularFile } from "../io/read.js";
import { dirname } from "node:path";
import { PatchError, TreeError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { pathProblem } from "./patch-file.js";

export interface TreeHandle {
  /** As the user gave it. */
  root: string;
  /** After symlinks. */
  real: string;
}

export async function openTree(root: string): Promise<TreeHandle> {
  let real: string;
  try {
    real = await realpath(root);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TreeError(
      "E_TREE_MISSING",
      `expected a Kubernetes source tree at ${root}, found ${code === "ENOENT" ? "nothing" : describeReadFailure(err)}`,
      "pass the folder that holds hack/ and vendor/",
    );
  }
  if (!(await stat(real)).isDirectory()) {
    throw new TreeError("E_TREE_NOT_DIR", `expected a Kubernetes source tree at ${root}, found a file`, "unpack the tarball first and pass its folder");
  }
  return { root, real };
}

/**
 * The absolute path to read and write for a tree-relative path a patch
 * names, after the symlinks on the way (io/confine.ts); PatchError if it is
 * not inside the tree.
 */
export async function confine(tree: TreeHandle, rel: string, patch: string): Promise<string> {
  const problem = pathProblem(rel);
  if (problem) {
    throw new PatchError(
      "E_PATCH_ESCAPE",
      `${patch}: expected a path inside the tree, found ${problem}; nothing was changed`,
      "fix the patch's --- / +++ lines to name files relative to the tree root",
    );
  }
  try {
    return await confinePath(rootOf(tree), rel, "follow");
  } catch (err) {
    if (!(err instanceof ConfinementError)) throw err;
    throw new PatchError(
      "E_PATCH_ESCAPE",
      `${patch}: expected ${rel} to resolve inside the tree, found ${err.problem}; nothing was changed`,
      `replace the symlink on the way to ${rel} with the real folder or file`,
    );
  }
}

/** The tree as a confinement root. */
export const rootOf = (tree: TreeHandle): ConfinedRoot => ({ given: tree.root, real: tree.real });
/**
 * The largest file the patch engine reads. The files a series names (runc's
 * memory.go and kmem.go, hack/lib/version.sh) are a few KiB in every release;
 * a 32 MiB one is not source, and diffing it in memory took 1.6 GB.
 */
const MAX_PATCHED_FILE_BYTES = 1024 * 1024;

/** A file's text, or null when it does not exist. Refuses what cannot be read back byte for byte. */
export async function readText(abs: string, rel: string): Promise<string | null> {
  let buf: Buffer;
  try {
    // Never a FIFO, socket or device (src/io/read.ts): reading one would block or never end.
    buf = await readRegularFile(abs, { maxBytes: MAX_PATCHED_FILE_BYTES });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (err instanceof NotRegularFileError)
      throw new PatchError(
        "E_PATCH_UNREADABLE",
        `expected a regular file at ${rel}, found ${err.found}; nothing was changed`,
        `restore ${rel} from the release's source`,
      );
    if (err instanceof FileTooLargeError)
      throw new PatchError(
        "E_PATCH_TOO_LARGE",
        `expected ${rel} to be source of at most ${formatBytes(err.limit)}, found more; nothing was changed`,
        `restore ${rel} from the release's source`,
      );
    if (code === "EACCES" || code === "EPERM")
      throw new PatchError(
        "E_PATCH_UNREADABLE",
        `expected to read ${rel}, found permission denied; nothing was changed`,
        `make ${rel} readable (chmod u+r) or run as its owner`,
      );
    throw new PatchError("E_PATCH_UNREADABLE", `expected to read ${rel}, found ${describeReadFailure(err)}; nothing was changed`, `check ${rel}`);
  }
  const text = buf.toString("utf8");
  if (!Buffer.from(text, "utf8").equals(buf)) {
    throw new PatchError(
      "E_PATCH_ENCODING",
      `expected ${rel} to be UTF-8 text, found bytes that are not; nothing was changed`,
      `restore ${rel} from the release's source`,
    );
  }
  return text;
}

/**
 * Refuse before writing anything if a file cannot be replaced: the folder
 * must take a new file (not a read-only file system, not a folder without
 * write permission) and an existing file must open for writing (not
 * immutable). Opening for writing changes nothing.
 */
export async function checkWritable(abs: string, rel: string): Promise<void> {
  const why = (code: string | undefined) =>
    code === "EROFS"
      ? "a read-only file system"
      : code === "EPERM"
        ? "a file that may not be changed (immutable?)"
        : code === "EACCES"
          ? "no write permission"
          : (code ?? "an error");
  let dir = dirname(abs);
  for (;;) {
    try {
      await access(dir, constants.W_OK);
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") {
        dir = dirname(dir);
        continue;
      }
      throw new PatchError(
        "E_PATCH_READONLY",
        `expected to be able to write ${rel}, found ${why(code)}; nothing was changed`,
        "copy the tree somewhere writable (or remount it read-write) and run the patch there",
      );
    }
  }
  try {
    // Opening a FIFO for writing would wait for a reader: only regular files are probed.
    const st = await stat(abs);
    if (!st.isFile())
      throw new PatchError(
        "E_PATCH_UNREADABLE",
        `expected a regular file at ${rel}, found ${fileKind(st)}; nothing was changed`,
        `remove ${rel}, or pass a path to a regular file`,
      );
    const fh = await open(abs, constants.O_WRONLY | constants.O_NONBLOCK);
    await fh.close();
  } catch (err) {
    if (err instanceof PatchError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    throw new PatchError(
      "E_PATCH_READONLY",
      `expected to be able to write ${rel}, found ${why(code)}; nothing was changed`,
      `make ${rel} writable (chattr -i / chmod u+w) and run the patch again`,
    );
  }
}

/** Replace (or, with null, remove) a file. Always a new inode: hard links keep the old bytes. */
export async function putText(abs: string, text: string | null): Promise<void> {
  if (text === null) {
    await rm(abs, { force: true });
    return;
  }
  await ensureDirectory(dirname(abs));
  await writeFileAtomic(abs, text);
}
