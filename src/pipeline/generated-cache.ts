/**
 * Reusing what code generation made, across fresh staged trees.
 *
 * A Kubernetes `make` runs `generated_files` before it compiles anything
 * (build/root/Makefile.generated_files from 1.9 on): it builds the
 * deepcopy/defaulter/conversion/openapi generators and go-bindata into
 * `_output/`, runs them, and writes `zz_generated.*.go`, `bindata.go`, the
 * violation reports and its own bookkeeping under `.make/`. Every build
 * stages a fresh tree, so every build paid for that again (about half of a
 * cold 1.20 build, almost all of a warm one: the Go build cache does not
 * help a generator that runs). make decides what to redo from file times
 * alone: outputs that exist and are no older than their inputs are left as
 * they are.
 *
 * So after a successful make the files it created or changed (never the
 * kubelet itself) are kept in an entry under `<cache-dir>/generated/<key>`,
 * and a later build whose key is the same puts them back into its fresh tree
 * before make, all dated one instant after everything else in the tree: make
 * then finds them up to date and goes straight to the compile.
 *
 * The key is a digest of everything the generated files can depend on: the
 * release and the strategy's series, the staged tree's content digest (every
 * file, src/source/digest.ts), the patches applied, the commit, the image id
 * (the whole toolchain), and make's command, environment and working folder.
 * A different input is a different key, so nothing is reused for it.
 *
 * An entry is written into a temporary folder and renamed into place whole,
 * its files content-addressed by sha256. Restoring checks everything before
 * it trusts it: the entry folder, its index and every blob are regular
 * files reached without a symlink, each blob's size and sha256 are the
 * index's, every path stays inside the tree (src/io/confine.ts) and away from
 * `.git`, the Go cache and the build's outputs, a symlink may only point
 * inside the tree, and only generated sources (`zz_generated.*`,
 * `bindata.go`) may replace a file the source shipped. Anything else refuses
 * the entry and the build generates cold, as if there were none. A refused
 * restore leaves only whole files it had verified, whose content is what this
 * key's make produced: the cold make regenerates them as it would any file.
 * The entry is as trusted as the rest of --cache-dir (git mirrors, work
 * folders): corruption is caught, a forger with write access to the cache
 * folder is out of scope (docs/threat-model.md).
 */
import { createHash, randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { link, lstat, lutimes, mkdir, open, readdir, readlink, rename, rm, stat, symlink, utimes } from "node:fs/promises";
import { basename, dirname, join, posix } from "node:path";
import { fsyncDir, pidAlive, tempNameFor, writeFileAtomic, writeNewFile } from "../io/atomic.js";
import { confine, confinedRoot, ConfinementError, nameProblem, readConfined, type ConfinedRoot } from "../io/confine.js";
import { ensureDirectory } from "../io/directory.js";
import { readRegularFile } from "../io/read.js";
import { walk } from "../source/walk.js";
import type { Facts } from "./facts.js";
import { pending, TREE_GO_CACHE, type Later, type MakeInvocation, type Runner } from "./make-invocation.js";

/** Bumped when the entry layout or the key's inputs change: old entries are then never found. */
const FORMAT = 1;
/** Entries kept per cache folder, newest use first (an entry of a 1.20 tree is about 60 MB). */
const KEEP_ENTRIES = 4;
/** Bounds on what an entry index may claim (a real 1.20 entry: about 500 paths, 110 MB). */
const MAX_PATHS = 50_000;
const MAX_FILE_BYTES = 1024 * 1024 * 1024;
const INDEX = "entry.json";
const BLOBS = "blobs";

/** The part of the make step the plan shows: where entries live, this build's entry, and what its key is a digest of. */
export interface GeneratedReuse {
  dir: string;
  /** `<dir>/<key>`: the key is bound by the make step, once the tree is staged and patched and the image is known. */
  entry: Later<string>;
  keyOf: readonly string[];
}

const KEY_OF = [
  "release",
  "strategy and patch series",
  "staged tree digest",
  "patches applied (sha256)",
  "commit",
  "image id",
  "make command, env and workdir",
] as const;

/**
 * The plan's reuse for a make step: Docker builds only. The image id pins
 * the whole toolchain there; a host toolchain (`--runner local`) has no such
 * identity, so a local build always generates.
 */
export function generatedReuse(cacheDir: string, runner: Runner): GeneratedReuse | null {
  if (runner !== "docker") return null;
  const dir = posix.join(cacheDir, "generated");
  return { dir, entry: pending("generatedKey", posix.join(dir, "{}")), keyOf: KEY_OF };
}

export interface KeyInputs {
  version: string;
  strategy: string;
  series: string | null;
  treeDigest: string;
  patches: { name: string; sha256: string }[];
  commit: string | null;
  imageId: string;
  command: string[];
  env: [string, string][];
  workdir: string;
}

/** The entry's key: sha256 over the inputs in a fixed order. Pure. */
export function generatedKey(k: KeyInputs): string {
  const ordered = [
    FORMAT,
    k.version,
    k.strategy,
    k.series,
    k.treeDigest,
    k.patches.map((p) => [p.name, p.sha256]),
    k.commit,
    k.imageId,
    k.command,
    k.env,
    k.workdir,
  ];
  return createHash("sha256").update(JSON.stringify(ordered)).digest("hex");
}

/** One path of an entry: a regular file (its blob is `blobs/<sha256>`) or a symlink. */
export type EntryPath = { path: string; type: "file"; mode: number; size: number; sha256: string } | { path: string; type: "symlink"; target: string };

interface EntryIndex {
  format: typeof FORMAT;
  key: string;
  paths: EntryPath[];
}

/** What the build did with generated files: in the build's result and its log. */
export type GeneratedOutcome =
  | { reuse: "off"; why: string }
  | { reuse: "restored"; key: string; files: number; bytes: number; refreshed: number }
  | { reuse: "generated"; key: string; why: string; saved: "saved" | "already" | "failed"; files: number; detail?: string };

/** What the tree must never receive from an entry, and what a capture leaves out. */
interface Excluded {
  /** Relative paths whose subtree is never cached (the Go cache mount). */
  subtrees: string[];
  /** Relative files never cached (the kubelets make leaves, the version file). */
  files: string[];
  /** Base names never cached under `_output/` (the kubelet as go install leaves it in GOPATH/bin). */
  outputNames: string[];
}

/**
 * Why an index may not be used for this tree, or null. Pure: text rules
 * only; what the file system says is checked while restoring.
 */
export function indexProblem(index: unknown, key: string, workdir: string, ex: Excluded): string | null {
  if (!index || typeof index !== "object") return "an index that is not an object";
  const i = index as Partial<EntryIndex>;
  if (i.format !== FORMAT) return `format ${String(i.format)} instead of ${FORMAT}`;
  if (i.key !== key) return `the key ${String(i.key).slice(0, 16)}… instead of ${key.slice(0, 16)}…`;
  if (!Array.isArray(i.paths)) return "no list of paths";
  if (i.paths.length > MAX_PATHS) return `${i.paths.length} paths, more than ${MAX_PATHS}`;
  const seen = new Set<string>();
  const symlinks: string[] = [];
  for (const p of i.paths as unknown[]) {
    const problem = pathProblem(p, workdir, ex);
    if (problem) return problem;
    const e = p as EntryPath;
    if (seen.has(e.path)) return `${e.path} named twice`;
    seen.add(e.path);
    if (e.type === "symlink") symlinks.push(e.path);
  }
  // Nothing may be written through a path the entry itself makes: no file under a symlink or under another file.
  for (const path of seen) {
    for (let up = posix.dirname(path); up !== "."; up = posix.dirname(up)) {
      if (seen.has(up)) return `${path} lies under ${up}, which the entry also names`;
    }
  }
  return null;
}

function pathProblem(p: unknown, workdir: string, ex: Excluded): string | null {
  if (!p || typeof p !== "object") return "a path entry that is not an object";
  const e = p as Record<string, unknown>;
  if (typeof e.path !== "string") return "a path entry without a path";
  const named = nameProblem(e.path);
  if (named) return named;
  const excluded = excludedWhy(e.path, ex);
  if (excluded) return `${e.path}: ${excluded}`;
  if (e.type === "file") {
    if (typeof e.mode !== "number" || !Number.isInteger(e.mode) || e.mode < 0 || (e.mode & ~0o777) !== 0) return `${e.path}: mode ${String(e.mode)}`;
    if (typeof e.size !== "number" || !Number.isInteger(e.size) || e.size < 0 || e.size > MAX_FILE_BYTES) return `${e.path}: size ${String(e.size)}`;
    if (typeof e.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(e.sha256)) return `${e.path}: sha256 ${String(e.sha256)}`;
    return Object.keys(e).every((k) => ["path", "type", "mode", "size", "sha256"].includes(k)) ? null : `${e.path}: unknown fields`;
  }
  if (e.type === "symlink") {
    if (typeof e.target !== "string") return `${e.path}: a symlink without a target`;
    const t = symlinkProblem(e.path, e.target, workdir);
    if (t) return `${e.path}: ${t}`;
    return Object.keys(e).every((k) => ["path", "type", "target"].includes(k)) ? null : `${e.path}: unknown fields`;
  }
  return `${e.path}: the type ${String(e.type)}`;
}

/**
 * A symlink may point inside the tree only: relative, or absolute under the
 * folder make runs in (`_output/bin -> /src/_output/local/bin/linux/amd64`,
 * as the build itself links it).
 */
export function symlinkProblem(path: string, target: string, workdir: string): string | null {
  if (target === "" || target.includes("\0") || target.length > 4096) return "an unusable symlink target";
  let inTree: string;
  if (target.startsWith("/")) {
    if (target === workdir) return null;
    if (!target.startsWith(`${workdir}/`)) return `a symlink to ${target}, outside ${workdir}`;
    inTree = target.slice(workdir.length + 1);
  } else {
    inTree = posix.normalize(posix.join(posix.dirname(path), target));
  }
  if (inTree === ".") return null;
  return inTree.startsWith("../") || inTree === ".." || inTree.startsWith("/") || nameProblem(inTree.replace(/\/+$/, ""))
    ? `a symlink to ${target}, which leads out of the tree`
    : null;
}

function excludedWhy(path: string, ex: Excluded): string | null {
  const top = path.split("/")[0];
  if (top === ".git") return "git's own data";
  if (ex.subtrees.some((s) => path === s || path.startsWith(`${s}/`))) return "inside a folder never kept (the Go build cache, the patch step's own)";
  if (ex.files.includes(path)) return "a file the build itself makes or the patch step writes";
  if (top === "_output" && ex.outputNames.includes(basename(path))) return "the product binary";
  return null;
}

/** Only these may replace a file the source shipped: what Kubernetes' code generation writes into source folders. */
function mayReplaceSource(path: string): boolean {
  const name = basename(path);
  return name.startsWith("zz_generated.") || name === "bindata.go";
}

/** The exclusions for a bound make step. */
export function excludedFor(inv: Pick<MakeInvocation, "outputs" | "versionFile">): Excluded {
  return {
    subtrees: [TREE_GO_CACHE, ".kubelet-nokmem"],
    files: [...inv.outputs.map((o) => o.path), inv.versionFile],
    outputNames: [...new Set(inv.outputs.map((o) => posix.basename(o.path)))],
  };
}

/** Refused: the reason goes into the log, the build generates cold. */
class Refused extends Error {}

/**
 * Put the entry's files into the tree, all dated one instant after
 * everything else in it. Returns the number of files and bytes, or the
 * reason the entry was not used ("no entry" when there is none).
 */
export async function restoreGenerated(
  entryDir: string,
  tree: string,
  o: { key: string; workdir: string; excluded: Excluded; signal?: AbortSignal },
): Promise<{ ok: true; files: number; bytes: number; index: EntryIndex } | { ok: false; why: string }> {
  const st = await lstat(entryDir).catch(() => null);
  if (!st) return { ok: false, why: "no entry for this key" };
  const written: string[] = [];
  try {
    if (!st.isDirectory()) throw new Refused(`the entry ${entryDir} is not a folder (a symlink or a file)`);
    const entry = await confinedRoot(entryDir);
    let index: unknown;
    try {
      const raw = await readConfined(entry, INDEX);
      if (!raw) throw new Refused(`the entry has no ${INDEX} (an unfinished or damaged entry)`);
      index = JSON.parse(raw.toString("utf8"));
    } catch (err) {
      if (err instanceof Refused) throw err;
      throw new Refused(`its ${INDEX} does not read: ${(err as Error).message}`);
    }
    const problem = indexProblem(index, o.key, o.workdir, o.excluded);
    if (problem) throw new Refused(`its index: ${problem}`);
    const paths = (index as EntryIndex).paths;
    const root = await confinedRoot(tree);
    // Every blob is copied next to its place and checked before anything is renamed into the tree.
    const staged: { temp: string; dest: string }[] = [];
    let bytes = 0;
    for (const p of paths) {
      o.signal?.throwIfAborted();
      if (p.type !== "file") continue;
      const dest = await placeFor(root, p.path);
      await ensureDirectory(dirname(dest));
      const temp = tempNameFor(dest);
      written.push(temp);
      await copyBlob(entry, p, temp);
      staged.push({ temp, dest });
      bytes += p.size;
    }
    for (const s of staged) {
      await rename(s.temp, s.dest);
      written.splice(written.indexOf(s.temp), 1);
    }
    for (const p of paths) {
      if (p.type !== "symlink") continue;
      const dest = await placeFor(root, p.path);
      const there = await lstat(dest).catch(() => null);
      if (there?.isSymbolicLink() && (await readlink(dest)) === p.target) continue;
      if (there) throw new Refused(`${p.path} exists in the tree; the entry has a symlink there`);
      await ensureDirectory(dirname(dest));
      await symlink(p.target, dest);
    }
    // One instant after every write above (file times come from a coarse clock: wait it out), so each is no older than anything it was made from.
    await new Promise((r) => setTimeout(r, 20));
    const now = new Date();
    for (const p of paths) {
      const dest = join(root.real, p.path);
      if (p.type === "file") await utimes(dest, now, now);
      else await lutimes(dest, now, now);
    }
    // Used now: the newest entries are the ones kept.
    await utimes(entryDir, now, now).catch(() => undefined);
    return { ok: true, files: paths.length, bytes, index: index as EntryIndex };
  } catch (err) {
    await Promise.all(written.map((t) => rm(t, { force: true }).catch(() => undefined)));
    if (err instanceof Refused) return { ok: false, why: err.message };
    if (err instanceof ConfinementError) return { ok: false, why: `a path of the entry: ${err.message}` };
    if (o.signal?.aborted) throw err;
    const e = err as NodeJS.ErrnoException;
    return { ok: false, why: `restoring failed: ${e.code ? `${e.code} ` : ""}${e.message}` };
  }
}

/** Where a path of the entry goes in the tree: confined, and never onto a folder or over a shipped source file that generation does not write. */
async function placeFor(root: ConfinedRoot, path: string): Promise<string> {
  const dest = await confine(root, path, "nofollow");
  const there = await lstat(dest).catch(() => null);
  if (there?.isDirectory()) throw new Refused(`${path} is a folder in the tree`);
  if (there && !mayReplaceSource(path) && !path.startsWith("_output/") && !path.startsWith(".make/"))
    throw new Refused(`${path} would replace a file of the source, which only generated sources may`);
  return dest;
}

/** Copy `blobs/<sha256>` to `temp` (exclusive create, never through a symlink), checking size and digest first. */
async function copyBlob(entry: ConfinedRoot, p: Extract<EntryPath, { type: "file" }>, temp: string): Promise<void> {
  let data: Buffer | null;
  try {
    data = await readConfined(entry, `${BLOBS}/${p.sha256}`, { maxBytes: MAX_FILE_BYTES });
  } catch (err) {
    if (err instanceof ConfinementError) throw new Refused(`the blob of ${p.path}: ${err.problem}`);
    throw new Refused(`the blob of ${p.path} does not read: ${(err as Error).message}`);
  }
  if (!data) throw new Refused(`the blob of ${p.path} is missing`);
  if (data.length !== p.size) throw new Refused(`the blob of ${p.path} has ${data.length} bytes, the index says ${p.size} (a partial write)`);
  if (createHash("sha256").update(data).digest("hex") !== p.sha256)
    throw new Refused(`the blob of ${p.path} does not have the sha256 the index names (a damaged entry)`);
  const fh = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, p.mode);
  try {
    await fh.writeFile(data);
    await fh.chmod(p.mode);
  } finally {
    await fh.close();
  }
}

/** What the tree holds before make: path → identity, to see afterwards what make created or changed. */
type TreeSnapshot = Map<string, string>;

export async function snapshotTree(tree: string): Promise<TreeSnapshot> {
  const out: TreeSnapshot = new Map();
  for (const e of await walk(tree, new Set([".git"]))) if (e.type !== "dir") out.set(e.rel, identity(e));
  return out;
}

function identity(e: { type: string; mode: number; size: number; mtimeMs: number }): string {
  return `${e.type} ${e.mode} ${e.size} ${e.mtimeMs}`;
}

/**
 * After a successful make: keep what it created or changed (files, and
 * symlinks that stay inside the tree) as the entry for `key`. Written into
 * a temporary folder and renamed into place whole; an entry another build
 * saved meanwhile is left as it is.
 */
export async function saveGenerated(
  dir: string,
  tree: string,
  before: TreeSnapshot,
  o: { key: string; workdir: string; excluded: Excluded; signal?: AbortSignal },
): Promise<{ saved: "saved" | "already"; files: number }> {
  const entryDir = join(dir, o.key);
  if (await lstat(entryDir).catch(() => null)) return { saved: "already", files: 0 };
  await ensureDirectory(dir);
  await removeStaleEntries(dir);
  const temp = join(dir, `.${o.key}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  await mkdir(join(temp, BLOBS), { recursive: true });
  try {
    const paths: EntryPath[] = [];
    for (const e of await walk(tree, new Set([".git"]))) {
      o.signal?.throwIfAborted();
      if (e.type === "dir" || before.get(e.rel) === identity(e) || excludedWhy(e.rel, o.excluded)) continue;
      const abs = join(tree, e.rel);
      if (e.type === "symlink") {
        const target = await readlink(abs);
        // A link that leads out (the build's GOPATH link is made again by every make) is not kept.
        if (!symlinkProblem(e.rel, target, o.workdir)) paths.push({ path: e.rel, type: "symlink", target });
        continue;
      }
      const data = await readRegularFile(abs, { maxBytes: MAX_FILE_BYTES });
      const sha256 = createHash("sha256").update(data).digest("hex");
      const blob = join(temp, BLOBS, sha256);
      if (!(await stat(blob).catch(() => null))) await writeNewFile(blob, data);
      paths.push({ path: e.rel, type: "file", mode: e.mode & 0o777, size: data.length, sha256 });
    }
    const index: EntryIndex = { format: FORMAT, key: o.key, paths };
    // What a restore would refuse is never written.
    const problem = indexProblem(index, o.key, o.workdir, o.excluded);
    if (problem) throw new Error(`internal: the generated files of this build make an entry a restore refuses: ${problem}`);
    await fsyncDir(join(temp, BLOBS));
    await writeFileAtomic(join(temp, INDEX), `${JSON.stringify(index)}\n`);
    try {
      await rename(temp, entryDir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOTEMPTY" || code === "EEXIST") return { saved: "already", files: 0 };
      throw err;
    }
    await fsyncDir(dir);
    await pruneEntries(dir, KEEP_ENTRIES);
    return { saved: "saved", files: paths.length };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

const TEMP_ENTRY = /^\.[0-9a-f]{64}\.([1-9]\d{0,9})\.[0-9a-f]{8}\.tmp$/;

/** Temporary entry folders whose writer is gone (killed mid-save). */
async function removeStaleEntries(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = TEMP_ENTRY.exec(name);
    if (m && !pidAlive(Number(m[1]))) await rm(join(dir, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Keep the `keep` entries used last (a restore touches its entry). */
async function pruneEntries(dir: string, keep: number): Promise<void> {
  const entries: { name: string; mtimeMs: number }[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!/^[0-9a-f]{64}$/.test(name)) continue;
    const st = await lstat(join(dir, name)).catch(() => null);
    if (st?.isDirectory()) entries.push({ name, mtimeMs: st.mtimeMs });
  }
  entries.sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const e of entries.slice(keep)) await rm(join(dir, e.name), { recursive: true, force: true }).catch(() => undefined);
}

/**
 * After a successful make on a restored tree: the restored files make wrote
 * again with other content go into the entry. A cold make writes its
 * `.make/go-pkgdeps.mk` before it generates, so the list misses the
 * generated files; on a restored tree make lists them, finds the file
 * changed and starts over (every \$(shell) of the Makefile and go2make a
 * second time, about 6 s of a 1.20 build). Its own rewrite, kept, spares the
 * next build that. Only files the entry already names are taken, never a new
 * one. The new entry replaces the old one whole: a build that reads the
 * entry meanwhile finds its blobs gone and generates cold.
 */
export async function refreshGenerated(dir: string, tree: string, index: EntryIndex, o: { signal?: AbortSignal }): Promise<number> {
  const changed = new Map<string, Buffer>();
  for (const p of index.paths) {
    o.signal?.throwIfAborted();
    if (p.type !== "file") continue;
    const st = await lstat(join(tree, p.path)).catch(() => null);
    // Gone (make removes its .todo lists) or replaced by something else: nothing to learn.
    if (!st?.isFile()) continue;
    // By content, not by time: a file rewritten within the file system's clock tick of the restore has its time.
    const data = await readRegularFile(join(tree, p.path), { maxBytes: MAX_FILE_BYTES });
    if (createHash("sha256").update(data).digest("hex") !== p.sha256) changed.set(p.path, data);
  }
  if (!changed.size) return 0;
  const entryDir = join(dir, index.key);
  const temp = join(dir, `.${index.key}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const old = join(dir, `.${index.key}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  await mkdir(join(temp, BLOBS), { recursive: true });
  try {
    const paths: EntryPath[] = [];
    for (const p of index.paths) {
      if (p.type !== "file") {
        paths.push(p);
        continue;
      }
      const data = changed.get(p.path);
      const next = data ? { ...p, size: data.length, sha256: createHash("sha256").update(data).digest("hex") } : p;
      const blob = join(temp, BLOBS, next.sha256);
      if (!(await lstat(blob).catch(() => null))) {
        if (data) await writeNewFile(blob, data);
        else await link(join(entryDir, BLOBS, p.sha256), blob);
      }
      paths.push(next);
    }
    await fsyncDir(join(temp, BLOBS));
    await writeFileAtomic(join(temp, INDEX), `${JSON.stringify({ format: FORMAT, key: index.key, paths } satisfies EntryIndex)}\n`);
    await rename(entryDir, old);
    await rename(temp, entryDir);
    await fsyncDir(dir);
    return changed.size;
  } finally {
    await rm(temp, { recursive: true, force: true });
    await rm(old, { recursive: true, force: true });
  }
}

/** What the key takes from the stage and patch steps. */
interface KeySources {
  version: string;
  strategy: string;
  series: string | null;
  treeDigest: string;
  commit: string | null;
  patches: { name: string; sha256: string }[];
}

/** The make step as the plan has it, with its reuse. */
type MakeWithReuse = MakeInvocation & { generated: GeneratedReuse | null };

/** The make step's use of the cache, prepared: a line for the log, and what to do once make succeeded. */
interface GeneratedRun {
  note: string;
  /** After a successful make: save what a cold generation made. The outcome is the build's `generated`. */
  after(): Promise<GeneratedOutcome>;
}

/**
 * Before make: bind the key, restore its entry into the tree, or note what
 * the tree holds so that `after` can keep what make generates.
 */
export async function beforeMake(facts: Facts, step: MakeWithReuse, k: KeySources, signal?: AbortSignal): Promise<GeneratedRun> {
  const settled = (outcome: GeneratedOutcome): GeneratedRun => ({ note: describeGenerated(outcome), after: () => Promise.resolve(outcome) });
  const reuse = step.generated;
  if (!reuse) return settled({ reuse: "off", why: "a local build always generates: only an image id pins the toolchain" });
  const imageId = facts.value(step.image.id);
  const tree = facts.value(step.tree);
  const workdir = facts.value(step.workdir);
  if (!imageId) throw new Error("internal: a docker make step without an image id");
  const key = facts.set("generatedKey", generatedKey({ ...k, imageId, command: step.command, env: facts.bind(step.env), workdir }));
  const excluded = excludedFor(step);
  const restored = await restoreGenerated(facts.value(reuse.entry), tree, { key, workdir, excluded, signal });
  if (restored.ok) {
    const done = { reuse: "restored" as const, key, files: restored.files, bytes: restored.bytes };
    return {
      note: describeGenerated({ ...done, refreshed: 0 }),
      after: async () => {
        try {
          return { ...done, refreshed: await refreshGenerated(reuse.dir, tree, restored.index, { signal }) };
        } catch (err) {
          if (signal?.aborted) throw err;
          // The entry stays as it was: still right, only slower to use than it could be.
          return { ...done, refreshed: 0 };
        }
      },
    };
  }
  const before = await snapshotTree(tree);
  const cold = { reuse: "generated" as const, key, why: restored.why };
  return {
    note: `generated files: make generates them (${restored.why})`,
    after: async () => {
      try {
        return { ...cold, ...(await saveGenerated(reuse.dir, tree, before, { key, workdir, excluded, signal })) };
      } catch (err) {
        if (signal?.aborted) throw err;
        // The kubelet is built: a cache that cannot be written costs the next build time, not this one its result.
        return { ...cold, saved: "failed", files: 0, detail: (err as Error).message };
      }
    },
  };
}

/** One line for the log and the progress display. */
export function describeGenerated(o: GeneratedOutcome): string {
  switch (o.reuse) {
    case "off":
      return `generated files: not reused (${o.why})`;
    case "restored":
      return [
        `generated files: restored ${o.files} from the entry ${o.key.slice(0, 16)}… (${(o.bytes / 1e6).toFixed(1)} MB)`,
        ", dated so that make finds them up to date",
        o.refreshed ? `; ${o.refreshed} that make rewrote with other content updated in the entry` : "",
      ].join("");
    case "generated":
      return `generated files: made by make (${o.why}); ${
        o.saved === "saved"
          ? `kept ${o.files} as the entry ${o.key.slice(0, 16)}…`
          : o.saved === "already"
            ? "an entry for this key exists already"
            : `not kept: ${o.detail ?? "unknown"}`
      }`;
  }
}
