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
import { lstat, mkdir, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { PatchError, TreeError } from "../errors.js";
import { pauseForTests } from "../io/test-pause.js";
import { fsyncDir, removeStaleTemps, writeFileAtomic } from "../io/atomic.js";
import { confine, ConfinementError, readConfined } from "../io/confine.js";
import { acquireLock } from "../io/lock.js";
import { pathProblem, sha256, STATE_DIR } from "./patch-file.js";
import { putText, rootOf, type TreeHandle } from "./tree-io.js";

export const JOURNAL = `${STATE_DIR}/journal.json`;
const TXN = `${STATE_DIR}/txn`;
const LOCK = `${STATE_DIR}/lock`;
/** The record of what was applied (engine.ts); the only file inside STATE_DIR a journal may name. */
const APPLIED = `${STATE_DIR}/applied.json`;
/** The only stash names a journal this tool wrote can hold: `<TXN>/<index>.<side>`. */
const STASH_NAME = /^\.kubelet-nokmem\/txn\/(0|[1-9]\d{0,5})\.(before|after)$/;
const HEX64 = /^[0-9a-f]{64}$/;

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
  operation: "apply" | "revert";
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

/**
 * The tool's folder inside the tree, refused when it is anything but a real
 * folder of the tree (a tree shipping `.kubelet-nokmem -> /somewhere` must
 * not make the lock, stash or journal land there). Created when asked.
 */
export async function stateDir(tree: TreeHandle, create: boolean): Promise<string | null> {
  const abs = join(tree.real, STATE_DIR);
  const st = await lstat(abs).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return null;
    throw err;
  });
  if (st && !st.isDirectory()) {
    throw new TreeError(
      "E_STATE_DIR",
      `expected ${STATE_DIR} in ${tree.root} to be a folder of the tree, found ${st.isSymbolicLink() ? "a symlink" : "a file"}; nothing was changed`,
      `remove ${join(tree.root, STATE_DIR)} (the tool recreates it)`,
    );
  }
  if (!st && !create) return null;
  if (!st) await mkdir(abs);
  return abs;
}

/** Take the tree's lock (the shared lock file, stale-lock takeover included); returns the function that releases it. */
export async function lockTree(tree: TreeHandle, signal?: AbortSignal): Promise<() => Promise<void>> {
  const dir = (await stateDir(tree, true))!;
  const lock = await acquireLock(join(tree.real, LOCK), {
    what: `the tree ${tree.root}`,
    purpose: "patch",
    signal,
    hint: "wait for the other kubelet-nokmem run on this tree to finish",
  });
  return async () => {
    await lock.release();
    await rmdir(dir).catch(() => undefined); // only if nothing else is kept there
  };
}

/** Write every file or, if this process dies midway, leave what the next run needs to finish. */
export async function commit(tree: TreeHandle, operation: Journal["operation"], writes: FileWrite[]): Promise<void> {
  await stateDir(tree, true);
  const txn = join(tree.real, TXN);
  await rm(txn, { recursive: true, force: true });
  await mkdir(txn);
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

/**
 * Check a journal's text before anything is done with it: the shape this
 * tool writes, each path a plain tree-relative name (or the applied record),
 * each stash exactly the name this tool gives it, each digest a sha256.
 * Returns the journal or says what is wrong with it. Pure.
 */
function parseJournal(text: string): Journal | string {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (err) {
    return `a syntax error (${(err as Error).message})`;
  }
  const o = j as Partial<Journal> | null;
  if (!o || typeof o !== "object" || Array.isArray(o)) return "something that is not a journal object";
  if (o.schemaVersion !== 1) return `schemaVersion ${JSON.stringify(o.schemaVersion)}`;
  if (o.operation !== "apply" && o.operation !== "revert") return `operation ${JSON.stringify(o.operation)}`;
  if (!Array.isArray(o.files) || o.files.length > 10_000) return "no list of files";
  const seen = new Set<string>();
  for (const [i, f] of o.files.entries()) {
    if (!f || typeof f !== "object" || typeof f.path !== "string") return `file entry ${i} without a path`;
    if (f.path !== APPLIED) {
      const problem = pathProblem(f.path);
      if (problem) return `file entry ${i} naming ${problem}`;
    }
    if (seen.has(f.path)) return `${f.path} named twice`;
    seen.add(f.path);
    for (const side of ["before", "after"] as const) {
      const s = f[side] as Stashed | null | undefined;
      if (s === null) continue;
      if (!s || typeof s !== "object" || typeof s.sha256 !== "string" || !HEX64.test(s.sha256))
        return `file entry ${i} with a ${side} that is not {sha256, stash}`;
      const m = typeof s.stash === "string" ? STASH_NAME.exec(s.stash) : null;
      if (!m || Number(m[1]) !== i || m[2] !== side) return `file entry ${i} with the stash name ${JSON.stringify(s.stash)} (expected ${TXN}/${i}.${side})`;
    }
  }
  return o as Journal;
}

/** The journal an interrupted run left in the tree, checked; null when there is none. TreeError when it is not one this tool could have written. */
export async function readJournal(tree: TreeHandle): Promise<Journal | null> {
  if (!(await stateDir(tree, false))) return null;
  const root = rootOf(tree);
  let bytes: Buffer | null;
  try {
    bytes = await readConfined(root, JOURNAL);
  } catch (err) {
    if (!(err instanceof ConfinementError)) throw err;
    throw invalid(tree, err.problem);
  }
  if (bytes === null) return null;
  const j = parseJournal(bytes.toString("utf8"));
  if (typeof j === "string") throw invalid(tree, j);
  return j;
}

const invalid = (tree: TreeHandle, found: string) =>
  new TreeError(
    "E_JOURNAL_INVALID",
    `expected ${JOURNAL} in ${tree.root} to be a journal of an interrupted kubelet-nokmem patch, found ${found}; it was not followed and nothing was changed`,
    `restore the tree from its source (a source tree must not ship ${STATE_DIR}/), or remove ${join(tree.root, STATE_DIR)} if you know the tree is intact`,
  );

/** The bytes of a name inside the tree, confined; null when missing, undefined when it cannot be read as a regular file inside the tree. */
async function readInTree(tree: TreeHandle, name: string): Promise<Buffer | null | undefined> {
  try {
    return await readConfined(rootOf(tree), name);
  } catch (err) {
    if (err instanceof ConfinementError) return undefined;
    throw err;
  }
}

/**
 * Finish (or roll back) the run a journal describes. Null when there is no
 * journal. The caller holds the lock. Every name is confined to the tree and
 * every stashed byte is checked against its digest before it is written.
 */
export async function recover(tree: TreeHandle): Promise<Recovery | null> {
  const journal = await readJournal(tree);
  if (!journal) {
    if (await stateDir(tree, false)) await rm(join(tree.real, TXN), { recursive: true, force: true }); // staged by a run that died before its journal
    return null;
  }
  const root = rootOf(tree);
  const targets: string[] = [];
  for (const f of journal.files) {
    try {
      targets.push(await confine(root, f.path, "nofollow"));
    } catch (err) {
      if (!(err instanceof ConfinementError)) throw err;
      throw invalid(tree, `an entry for ${f.path} that leads through ${err.problem}`);
    }
  }
  const current = await Promise.all(
    journal.files.map(async (f) => {
      const bytes = await readInTree(tree, f.path);
      if (bytes === undefined) throw invalid(tree, `an entry for ${f.path}, which is not a regular file inside the tree`);
      return bytes === null ? null : sha256(bytes);
    }),
  );
  const conflicts = journal.files.filter((f, i) => current[i] !== (f.after?.sha256 ?? null) && current[i] !== (f.before?.sha256 ?? null));
  if (conflicts.length) {
    throw new PatchError(
      "E_JOURNAL_CONFLICT",
      `expected the files of an interrupted ${journal.operation} to hold either their old or their new bytes, found other content in ${conflicts.map((f) => f.path).join(", ")}; nothing was changed`,
      `compare them with the stashed copies in ${join(tree.root, TXN)}, put back the right ones, then remove ${join(tree.root, JOURNAL)}`,
    );
  }
  const load = async (s: Stashed | null): Promise<string | null | undefined> => {
    if (!s) return null;
    const bytes = await readInTree(tree, s.stash);
    if (!bytes || sha256(bytes) !== s.sha256) return undefined;
    return bytes.toString("utf8");
  };
  const afters = await Promise.all(journal.files.map((f) => load(f.after)));
  const forward = afters.every((a) => a !== undefined);
  const plan: { i: number; text: string | null }[] = [];
  for (const [i, f] of journal.files.entries()) {
    const want = forward ? (f.after?.sha256 ?? null) : (f.before?.sha256 ?? null);
    if (current[i] === want) continue;
    const text = forward ? afters[i]! : await load(f.before);
    if (text === undefined) {
      throw new PatchError(
        "E_JOURNAL_DAMAGED",
        `expected the stashed bytes of ${f.path} in ${TXN}, found them missing or damaged; nothing was changed`,
        `restore ${f.path} by hand (git checkout or the release tarball), then remove ${join(tree.root, JOURNAL)}`,
      );
    }
    plan.push({ i, text });
  }
  // Decided: every write is known to be confined and its bytes verified. Now act.
  for (const { i, text } of plan) await putText(targets[i]!, text);
  await finish(tree);
  return { operation: journal.operation, action: forward ? "finished" : "rolled-back", files: plan.map(({ i }) => journal.files[i]!.path) };
}

/**
 * What a crash can leave in STATE_DIR besides a journal: a staged txn/ and
 * temporary files of interrupted atomic writes. Removed by `--revert`, which
 * then removes the folder itself when nothing else is kept there. The caller
 * holds the lock.
 */
export async function cleanStateDir(tree: TreeHandle): Promise<void> {
  const dir = await stateDir(tree, false);
  if (!dir) return;
  await rm(join(tree.real, TXN), { recursive: true, force: true });
  await removeStaleTemps(dir, { anyName: true });
}
