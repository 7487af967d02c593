/**
 * All or nothing across a series: the bytes of every file before and after
 * are stashed in `<tree>/.kubelet-nokmem/txn/`, then a journal naming them
 * (with their sha256) is written atomically, then the files are replaced one
 * by one, then the journal goes. A run that dies between those steps leaves
 * the journal; the next run of any patch command finishes the writes from
 * the stash (or, if the stash of the new bytes is damaged, puts the old
 * bytes back), so the tree is never left half-patched.
 *
 * A lock file keeps two runs from writing the same tree at once.
 */
import { mkdir, rm, rmdir } from "node:fs/promises";
import { readRegularText } from "../io/read.js";
import { join } from "node:path";
import { PatchError } from "../errors.js";
import { pauseForTests } from "../io/test-pause.js";
import { fsyncDir, writeFileAtomic } from "../io/atomic.js";
import { acquireLock } from "../io/lock.js";
import { sha256, STATE_DIR } from "./patch-file.js";
import { putText, readText, type TreeHandle } from "./tree-io.js";

const JOURNAL = `${STATE_DIR}/journal.json`;
const TXN = `${STATE_DIR}/txn`;
const LOCK = `${STATE_DIR}/lock`;

export interface FileWrite {
  /** Tree-relative (after symlinks). */
  path: string;
  abs: string;
  before: string | null;
  after: string | null;
}

interface Stashed {
  sha256: string;
  /** Tree-relative path of the stashed bytes. */
  stash: string;
}

interface Journal {
  schemaVersion: 1;
  operation: string;
  pid: number;
  files: { path: string; before: Stashed | null; after: Stashed | null }[];
}

export interface Recovery {
  operation: string;
  action: "finished" | "rolled-back";
  files: string[];
}

/** Test hook: stop after writing this many files and wait to be killed. */
const PAUSE_ENV = "KUBELET_NOKMEM_PAUSE_AFTER_FILES";


/** Take the tree's lock (the shared lock file, stale-lock takeover included); returns the function that releases it. */
export async function lockTree(tree: TreeHandle): Promise<() => Promise<void>> {
  await mkdir(join(tree.real, STATE_DIR), { recursive: true });
  const lock = await acquireLock(join(tree.real, LOCK), {
    what: `the tree ${tree.root}`,
    purpose: "patch",
    hint: "wait for the other kubelet-nokmem run on this tree to finish",
  });
  return async () => {
    await lock.release();
    await rmdir(join(tree.real, STATE_DIR)).catch(() => undefined); // only if nothing else is kept there
  };
}

/** Write every file or, if this process dies midway, leave what the next run needs to finish. */
export async function commit(tree: TreeHandle, operation: string, writes: FileWrite[]): Promise<void> {
  const txn = join(tree.real, TXN);
  await rm(txn, { recursive: true, force: true });
  await mkdir(txn, { recursive: true });
  const files: Journal["files"] = [];
  for (const [i, w] of writes.entries()) {
    const stash = async (text: string | null, side: string): Promise<Stashed | null> => {
      if (text === null) return null;
      const rel = `${TXN}/${i}.${side}`;
      await writeFileAtomic(join(tree.real, rel), text, { mode: 0o600 });
      return { sha256: sha256(text), stash: rel };
    };
    files.push({ path: w.path, before: await stash(w.before, "before"), after: await stash(w.after, "after") });
  }
  const journal: Journal = { schemaVersion: 1, operation, pid: process.pid, files };
  await writeFileAtomic(join(tree.real, JOURNAL), `${JSON.stringify(journal, null, 2)}\n`, { mode: 0o600 });
  let written = 0;
  for (const w of writes) {
    await putText(w.abs, w.after);
    await pauseForTests(PAUSE_ENV, ++written, "file(s)");
  }
  await finish(tree);
}

async function finish(tree: TreeHandle): Promise<void> {
  await rm(join(tree.real, JOURNAL), { force: true });
  await fsyncDir(join(tree.real, STATE_DIR));
  await rm(join(tree.real, TXN), { recursive: true, force: true });
}

export async function readJournal(tree: TreeHandle): Promise<Journal | null> {
  let text: string;
  try {
    text = await readRegularText(join(tree.real, JOURNAL));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  try {
    const j = JSON.parse(text) as Journal;
    if (j.schemaVersion !== 1 || !Array.isArray(j.files)) throw new Error("unknown shape");
    return j;
  } catch (err) {
    throw new PatchError("E_JOURNAL_INVALID", `expected a readable journal at ${JOURNAL}, found ${(err as Error).message}`, `inspect ${join(tree.root, JOURNAL)}; the stashed originals are in ${join(tree.root, TXN)}`);
  }
}

/**
 * Finish (or roll back) the run a journal describes. Null when there is no
 * journal. The caller holds the lock.
 */
export async function recover(tree: TreeHandle): Promise<Recovery | null> {
  const journal = await readJournal(tree);
  if (!journal) {
    await rm(join(tree.real, TXN), { recursive: true, force: true }); // staged by a run that died before its journal
    return null;
  }
  const current = await Promise.all(
    journal.files.map(async (f) => {
      const text = await readText(join(tree.real, f.path), f.path);
      return text === null ? null : sha256(text);
    }),
  );
  const conflicts = journal.files.filter((f, i) => current[i] !== (f.after?.sha256 ?? null) && current[i] !== (f.before?.sha256 ?? null));
  if (conflicts.length) {
    throw new PatchError(
      "E_JOURNAL_CONFLICT",
      `expected the files of an interrupted ${journal.operation} to hold either their old or their new bytes, found other content in ${conflicts.map((f) => f.path).join(", ")}`,
      `compare them with the stashed copies in ${join(tree.root, TXN)}, put back the right ones, then remove ${join(tree.root, JOURNAL)}`,
    );
  }
  const load = async (s: Stashed | null): Promise<string | null | undefined> => {
    if (!s) return null;
    const text = await readText(join(tree.real, s.stash), s.stash).catch(() => null);
    return text !== null && sha256(text) === s.sha256 ? text : undefined;
  };
  const afters = await Promise.all(journal.files.map((f) => load(f.after)));
  const forward = afters.every((a) => a !== undefined);
  const touched: string[] = [];
  for (const [i, f] of journal.files.entries()) {
    const target = forward ? afters[i]! : await load(f.before);
    const want = forward ? (f.after?.sha256 ?? null) : (f.before?.sha256 ?? null);
    if (current[i] === want) continue;
    if (target === undefined) {
      throw new PatchError("E_JOURNAL_DAMAGED", `expected the stashed bytes of ${f.path} in ${TXN}, found them missing or damaged`, `restore ${f.path} by hand (git checkout or the release tarball), then remove ${join(tree.root, JOURNAL)}`);
    }
    await putText(join(tree.real, f.path), target);
    touched.push(f.path);
  }
  await finish(tree);
  return { operation: journal.operation, action: forward ? "finished" : "rolled-back", files: touched };
}
