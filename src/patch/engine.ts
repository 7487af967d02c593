/**
 * The patch engine: decide first, act second. `planChanges` reads the files
 * a series names (confined to the tree) and works out, in memory, what each
 * becomes; nothing is written until every change of every file is known to
 * apply. Then one transaction (journal.ts) writes them all, together with
 * the record of what was applied, which `--revert` and `build` read.
 */
import { rm, rmdir, stat, statfs } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import { createTwoFilesPatch, FILE_HEADERS_ONLY, parsePatch, type StructuredPatch } from "diff";
import type { KmemLayout, StrategyId } from "../catalog/types.js";
import { PatchError, TreeError, UsageError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { confine as confineName, ConfinementError, isInside, readConfined } from "../io/confine.js";
import { ensureDirectory } from "../io/directory.js";
import { asTeardown } from "../process/teardown.js";
import { describeReadFailure, fileKind, readRegularTextIfExists } from "../io/read.js";
import { strategyFor } from "../strategy/index.js";
import { carry, changesOf, inputsOf, type Change, type Problem } from "./changes.js";
import { cleanStateDir, commit, JOURNAL, lockTree, readJournal, recover, stateDir, type FileWrite, type Recovery } from "./journal.js";
import { sha256, STATE_DIR } from "./patch-file.js";
import { loadSeries, PATCHES_ROOT, type PatchSeries } from "./series.js";
import { checkWritable, confine, openTree, readText, rootOf, type TreeHandle } from "./tree-io.js";
import { DEFAULT_VERSION_FILE, renderVersionFile, versionFileTarget, versionStamp, type VersionStamp } from "./version-stamp.js";
import { treeRelease, type TreeFacts } from "../tree/assess.js";
import { readTreeFacts } from "../tree/inspect.js";

export { DEFAULT_VERSION_FILE };
const APPLIED_RECORD = `${STATE_DIR}/applied.json`;
/** What apply did to the version file, so that revert can undo it. */
const VERSION_RECORD = `${STATE_DIR}/version-file.json`;

interface VersionRecord {
  schemaVersion: 1;
  /** Absolute path of the version file. */
  path: string;
  /** Its content before the first apply wrote it; null when there was none. */
  before: string | null;
  /** What apply wrote. */
  after: string;
  /** Folders apply created for it, deepest first. */
  createdDirs: string[];
}

interface PlannedFile {
  /** Tree-relative, as the patch names it. */
  path: string;
  abs: string;
  before: string | null;
  after: string | null;
  /** The patches (or records) that change this file. */
  patches: string[];
}

interface ChangePlan {
  files: PlannedFile[];
  problems: Problem[];
}

/**
 * Work out what every change does to its file, in order, in memory.
 * forward: a change that applies is pending; one whose transform is a no-op,
 * or whose reverse applies, is already applied. backward: the mirror.
 */
async function planChanges(
  tree: TreeHandle,
  changes: Change[],
  direction: "forward" | "backward",
  fuzz = 0,
  recorded: ReadonlyMap<string, string | null> = new Map(),
): Promise<ChangePlan> {
  const files = new Map<string, PlannedFile>();
  const load = async (rel: string, patch: string): Promise<PlannedFile> => {
    let f = files.get(rel);
    if (!f) {
      const abs = await confine(tree, rel, patch);
      const text = await readText(abs, rel);
      f = { path: rel, abs, before: text, after: text, patches: [] };
      files.set(rel, f);
    }
    return f;
  };
  const problems: Problem[] = [];
  const ordered = direction === "forward" ? changes : [...changes].reverse();
  const other = direction === "forward" ? "backward" : "forward";
  for (const change of ordered) {
    for (const input of inputsOf(change)) await load(input, change.patch);
    const file = await load(change.path, change.patch);
    // A file left exactly as the recorded apply left it is done: a hunk
    // whose context still matches after it was applied must not apply twice.
    if (direction === "forward" && file.after === file.before && recorded.has(change.path) && recorded.get(change.path) === hash(file.after)) continue;
    const opts = { fuzz, sibling: (p: string) => files.get(p)?.after ?? null };
    const there = carry(change, file.after, direction, opts);
    if (there.ok && there.content !== file.after) {
      file.after = there.content;
      file.patches.push(change.patch);
      continue;
    }
    if (there.ok) continue; // already done
    const back = carry(change, file.after, other, opts);
    if (back.ok && back.content !== file.after) continue; // the other side: already done
    problems.push(...there.problems);
  }
  return { files: [...files.values()], problems };
}

/** The exact unified diff of a plan (what --dry-run prints). */
function planDiff(files: PlannedFile[]): string {
  return files
    .filter((f) => f.before !== f.after)
    .map((f) =>
      createTwoFilesPatch(
        f.before === null ? "/dev/null" : `a/${f.path}`,
        f.after === null ? "/dev/null" : `b/${f.path}`,
        f.before ?? "",
        f.after ?? "",
        undefined,
        undefined,
        {
          headerOptions: FILE_HEADERS_ONLY,
        },
      ),
    )
    .join("");
}

/** What `.kubelet-nokmem/applied.json` holds: enough to undo every change byte for byte. */
interface AppliedState {
  schemaVersion: 1;
  strategy: StrategyId;
  series: string | null;
  version: string | null;
  patches: { name: string; sha256: string }[];
  files: { path: string; before: string | null; after: string | null; diff: string }[];
}

async function readAppliedState(tree: TreeHandle): Promise<AppliedState | null> {
  if (!(await stateDir(tree, false))) return null;
  let text: string | null;
  try {
    text = (await readConfined(rootOf(tree), APPLIED_RECORD))?.toString("utf8") ?? null;
  } catch (err) {
    if (!(err instanceof ConfinementError)) throw err;
    throw new TreeError(
      "E_RECORD_ESCAPE",
      `expected ${APPLIED_RECORD} in ${tree.root} to be the record of an applied series, found ${err.problem}; it was not followed and nothing was changed`,
      `restore the tree from its source, then remove ${join(tree.root, APPLIED_RECORD)}`,
    );
  }
  if (text === null) return null;
  try {
    const s = JSON.parse(text) as AppliedState;
    if (s.schemaVersion !== 1 || !Array.isArray(s.files)) throw new Error("unknown shape");
    return s;
  } catch (err) {
    throw new PatchError(
      "E_RECORD_INVALID",
      `expected a readable record at ${APPLIED_RECORD}, found ${(err as Error).message}`,
      `restore the tree from its source, then remove ${join(tree.root, APPLIED_RECORD)}`,
    );
  }
}

function restoreChanges(state: AppliedState): Change[] {
  return state.files.map((f) => ({
    kind: "restore",
    patch: APPLIED_RECORD,
    path: f.path,
    diff: parsePatch(f.diff)[0] as StructuredPatch,
    before: f.before,
    after: f.after,
  }));
}

/** Drift: every failing file and hunk, with expected and found lines. */
export class PatchDriftError extends PatchError {
  constructor(
    readonly problems: Problem[],
    readonly operation: "apply" | "revert",
    series: string,
  ) {
    const files = [...new Set(problems.map((p) => p.path))];
    const hunks = problems.filter((p) => p.hunk).length;
    super(
      "E_PATCH_DRIFT",
      `expected ${series} to ${operation === "apply" ? "apply" : "revert"} cleanly, found ${problems.length} problem${problems.length === 1 ? "" : "s"}${hunks ? ` (${hunks} hunk${hunks === 1 ? "" : "s"})` : ""} in ${files.join(", ")}; nothing was changed`,
      operation === "revert"
        ? "restore the listed files from the release's source (git checkout -- FILE), then remove .kubelet-nokmem/applied.json"
        : hunks
          ? "check the tree is the release you named (--version); restore locally changed files from the release, or read `--dry-run --fuzz 1` and re-run with --fuzz 1"
          : "restore the listed files from the release's source (git checkout -- FILE), or check the tree is the release you named (--version)",
    );
  }

  /** The report a person reads: one block per problem. */
  report(): string[] {
    const out: string[] = [];
    for (const p of this.problems) {
      out.push(`${p.path}: ${p.patch}: ${p.message}`);
      for (const l of p.expected ?? []) out.push(`    expected: ${l}`);
      for (const l of p.found ?? []) out.push(`    found:    ${l}`);
      if (p.expected && p.found && !p.found.length) out.push("    found:    (nothing)");
    }
    return out;
  }

  override toJSON() {
    return { ...super.toJSON(), problems: this.problems };
  }
}

export type Operation = "apply" | "revert";

interface PatchOptions {
  operation?: Operation;
  /** false for --check and --dry-run: plan and report, write nothing. */
  write?: boolean;
  fuzz?: number;
  /** Also set KUBE_GIT_TREE_STATE clean in hack/lib/version.sh. */
  editVersionSh?: boolean;
  /** Build metadata for the version: `nokmem.1` → `v1.16.15+nokmem.1`. */
  versionSuffix?: string;
  /** Where to write the version file (absolute, or relative to the tree). */
  versionFile?: string;
  /** The commit to stamp when the tree cannot say (plain folders, tarballs). */
  commit?: string;
  /** A folder of series to use instead of the bundled patches/. */
  patchesRoot?: string;
  /** The tree's facts (src/tree/), if the caller read them already; read here otherwise. */
  facts?: TreeFacts;
  progress?: (line: string) => void;
  /** SIGINT/SIGTERM: ends a wait for the tree's lock; honoured between steps, never in the middle of the journalled write. */
  signal?: AbortSignal;
}

export interface FileOutcome {
  path: string;
  /** changed: written now (or would be, without write); unchanged: already in the wanted state. */
  state: "changed" | "unchanged";
  before: string | null;
  after: string | null;
  patches: string[];
}

export interface VersionFileOutcome {
  path: string;
  /** Relative to the tree when the file lies inside it (the build mounts the tree at /src). */
  treePath: string | null;
  sha256: string;
  gitVersion: string;
  commit: string | null;
  written: boolean;
}

export interface PatchOutcome {
  strategy: StrategyId;
  series: string | null;
  version: string;
  operation: Operation;
  /** This run wrote the series into the tree. */
  applied: boolean;
  /** The series was already in the tree; nothing was changed. */
  alreadyApplied: boolean;
  /** This run took the series out of the tree. */
  reverted: boolean;
  /** There was nothing to take out. */
  alreadyReverted: boolean;
  /** Files were (or, with write off, would be) written. */
  written: boolean;
  files: FileOutcome[];
  patches: { name: string; sha256: string }[];
  /** The same patches with their text as read (for the build; not in `patch --json`). */
  patchTexts: AppliedPatch[];
  diff: string;
  versionFile: VersionFileOutcome | null;
  recovered: Recovery | null;
}

/**
 * What to patch a tree for: the release and its strategy's series. `patch`
 * passes the catalog's resolution; a build passes its plan's patch step.
 */
export interface PatchTarget {
  /** "1.16.15"; null for a bare line (refused when a version file is to be stamped). */
  version: string | null;
  line: string;
  strategy: StrategyId;
  /** The series under patches/, or null when the strategy changes no source. */
  patchSeries: string | null;
}

/** A patch of the series as read: the build's SBOMs carry its text. */
interface AppliedPatch {
  name: string;
  sha256: string;
  text: string;
}

/** What `build` copies into its manifest. */
interface PatchRecord {
  strategy: StrategyId;
  series: string | null;
  version: string;
  patches: AppliedPatch[];
  files: { path: string; before: string | null; after: string | null }[];
  versionFile: VersionFileOutcome | null;
  alreadyApplied: boolean;
}

/** Check that the catalog's strategy fits the tree's vendored runc. */
function confirmStrategy(resolution: PatchTarget, layout: KmemLayout): void {
  const strategy = strategyFor(resolution.strategy);
  if (strategy.layouts.includes(layout)) return;
  throw new TreeError(
    "E_TREE_LAYOUT",
    `expected a tree with the ${strategy.layouts.join(" or ")} kmem layout for ${resolution.version ? `v${resolution.version}` : `line ${resolution.line}`} (strategy ${resolution.strategy}), found the ${layout} layout; nothing was changed`,
    "check --version names the release this tree is (git describe --tags), or patch a tree of that release",
  );
}

/** Finish an interrupted run, if one left a journal (checked before anything is done with it). */
async function recoverTree(tree: TreeHandle, progress?: (line: string) => void, signal?: AbortSignal): Promise<Recovery | null> {
  if (!(await readJournal(tree))) return null;
  const unlock = await lockTree(tree, signal);
  try {
    const r = await recover(tree);
    if (r) progress?.(`recovered an interrupted ${r.operation}: ${r.action} (${r.files.length ? r.files.join(", ") : "no file needed writing"})`);
    return r;
  } finally {
    await unlock();
  }
}

/** Everything a run will change, decided from what the tree holds before anything is written. */
interface PatchDecision {
  operation: Operation;
  series: PatchSeries | null;
  changes: Change[];
  plan: ChangePlan;
  /** The planned files whose content changes. */
  pending: PlannedFile[];
  diff: string;
  patches: { name: string; sha256: string }[];
  /** The applied-state record as found, and after the run (null when nothing is left applied). */
  state: AppliedState | null;
  nextState: AppliedState | null;
}

/**
 * Decide a run: the series' change records (or, for a revert, the recorded
 * ones), each file's content after them, the diff and the next applied-state
 * record. Reads the tree, writes nothing; drift is thrown here, before any write.
 */
async function decidePatch(tree: TreeHandle, resolution: PatchTarget, operation: Operation, fuzz: number, opts: PatchOptions): Promise<PatchDecision> {
  const series: PatchSeries | null = resolution.patchSeries ? loadSeries(resolution.patchSeries, opts.patchesRoot ?? PATCHES_ROOT) : null;
  const seriesName = series?.id ?? `strategy ${resolution.strategy}`;
  const seriesChanges: Change[] = series ? series.patches.flatMap((p) => changesOf(p, series.id)) : [];
  if (opts.editVersionSh) seriesChanges.push({ kind: "tree-state-clean", patch: "--edit-version-sh", path: "hack/lib/version.sh" });

  const state = await readAppliedState(tree);
  let changes: Change[];
  if (operation === "apply") {
    changes = seriesChanges;
  } else {
    const recorded = state ? restoreChanges(state) : [];
    const covered = new Set(recorded.map((c) => c.path));
    changes = [...seriesChanges.filter((c) => !covered.has(c.path) && c.kind !== "tree-state-clean"), ...recorded];
  }
  const recorded = new Map((state?.files ?? []).map((f) => [f.path, f.after] as const));
  const plan = await planChanges(tree, changes, operation === "apply" ? "forward" : "backward", fuzz, recorded);
  if (plan.problems.length) throw new PatchDriftError(plan.problems, operation, seriesName);

  const pending = plan.files.filter((f) => f.before !== f.after);
  const patches = series?.patches.map((p) => ({ name: p.name, sha256: p.sha256 })) ?? [];
  let nextState: AppliedState | null = state;
  if (pending.length) {
    const old = new Map((state?.files ?? []).map((f) => [f.path, f]));
    if (operation === "apply") {
      for (const f of pending) old.set(f.path, { path: f.path, before: hash(f.before), after: hash(f.after), diff: planDiff([f]) });
      nextState = {
        schemaVersion: 1,
        strategy: resolution.strategy,
        series: series?.id ?? null,
        version: resolution.version,
        patches,
        files: [...old.values()],
      };
    } else {
      for (const f of pending) old.delete(f.path);
      nextState = old.size && state ? { ...state, files: [...old.values()] } : null;
    }
  }
  return { operation, series, changes, plan, pending, diff: planDiff(plan.files), patches, state, nextState };
}

/** Carry out a decided run: the journalled write of its files and the applied-state record (or, for a revert, the tool's folder). */
async function commitPatch(tree: TreeHandle, d: PatchDecision, versionPlan: VersionFilePlan | null, opts: PatchOptions): Promise<void> {
  const { operation, pending, nextState } = d;
  if (pending.length) {
    for (const f of pending) await checkWritable(f.abs, f.path);
    await checkWritable(join(tree.real, APPLIED_RECORD), APPLIED_RECORD);
    // The version file is written after the series: it must be writable before the series goes in.
    if (versionPlan && versionPlan.existing !== versionPlan.content) await checkWritable(versionPlan.target, versionPlan.treePath ?? versionPlan.target);
    const unlock = await lockTree(tree, opts.signal);
    try {
      for (const f of pending) {
        if ((await readText(f.abs, f.path)) !== f.before) {
          throw new PatchError(
            "E_TREE_CHANGED",
            `expected ${f.path} to stay as read while the patch was planned, found it changed; nothing was changed`,
            "run the patch again when nothing else writes the tree",
          );
        }
      }
      const stateAbs = join(tree.real, APPLIED_RECORD);
      const writes: FileWrite[] = pending.map((f) => ({ path: relativePosix(tree.real, f.abs), abs: f.abs, before: f.before, after: f.after }));
      const stateBefore = await readText(stateAbs, APPLIED_RECORD);
      writes.push({ path: APPLIED_RECORD, abs: stateAbs, before: stateBefore, after: nextState ? `${JSON.stringify(nextState, null, 2)}\n` : null });
      // Once the journal is written the series goes in whole, signal or not (it takes milliseconds); the signal is honoured after.
      opts.signal?.throwIfAborted();
      await asTeardown(() => commit(tree, operation, writes));
      if (operation === "revert") await cleanStateDir(tree);
    } finally {
      await unlock();
    }
  } else if (operation === "revert" && (await stateDir(tree, false))) {
    // Nothing to revert, but a crash may have left the tool's folder behind: take it away too.
    const unlock = await lockTree(tree, opts.signal);
    try {
      await cleanStateDir(tree);
    } finally {
      await unlock();
    }
  }
}

export async function runPatch(root: string, resolution: PatchTarget, opts: PatchOptions = {}): Promise<PatchOutcome> {
  const operation = opts.operation ?? "apply";
  const write = opts.write ?? true;
  const fuzz = opts.fuzz ?? 0;
  const tree = await openTree(root);
  // Every argument is checked before the first write: a bad --commit,
  // --version-suffix or --version-file must never fail after the series is in.
  const facts = opts.facts ?? (await readTreeFacts(tree.real, { status: false }));
  const versionPlan = operation === "apply" ? await planVersionFile(tree, resolution, facts, opts) : null;
  opts.signal?.throwIfAborted();
  let recovered: Recovery | null = null;
  if (write) {
    recovered = await recoverTree(tree, opts.progress, opts.signal);
  } else {
    // --check and --dry-run write nothing, so they do not finish an interrupted run either: they say so.
    const pending = await readJournal(tree);
    if (pending) {
      throw new TreeError(
        "E_JOURNAL_PENDING",
        `expected no unfinished patch run in ${tree.root}, found ${JOURNAL} left by an interrupted ${pending.operation}; nothing was changed`,
        `run \`kubelet-nokmem patch ${tree.root}${pending.operation === "revert" ? " --revert" : ""}\` (without --check / --dry-run) to finish it first`,
      );
    }
  }

  confirmStrategy(resolution, facts.kmem.layout);
  const decided = await decidePatch(tree, resolution, operation, fuzz, opts);
  const { series, changes, plan, pending, diff, patches, state } = decided;
  const version = resolution.version ?? "";

  opts.signal?.throwIfAborted();
  if (write) await commitPatch(tree, decided, versionPlan, opts);

  const versionFile = versionPlan ? await stampVersion(tree, versionPlan, opts, write) : null;
  if (operation === "revert" && write) await unstampVersion(tree, opts.progress);
  opts.signal?.throwIfAborted();

  const files: FileOutcome[] = plan.files
    .filter((f) => changes.some((c) => c.path === f.path))
    .map((f) => {
      const changed = f.before !== f.after;
      // An already-patched file: its original is known from the record, if any.
      const recorded = !changed && operation === "apply" ? state?.files.find((r) => r.path === f.path) : undefined;
      return {
        path: f.path,
        state: changed ? "changed" : "unchanged",
        before: recorded ? recorded.before : hash(f.before),
        after: hash(f.after),
        patches: f.patches,
      };
    });
  const nothing = pending.length === 0;
  return {
    strategy: resolution.strategy,
    series: series?.id ?? null,
    version,
    operation,
    applied: operation === "apply" && write && !nothing,
    alreadyApplied: operation === "apply" && nothing && changes.length > 0,
    reverted: operation === "revert" && write && !nothing,
    alreadyReverted: operation === "revert" && nothing,
    written: write && !nothing,
    files,
    patches,
    patchTexts: series?.patches.map((p) => ({ name: p.name, sha256: p.sha256, text: p.text })) ?? [],
    diff,
    versionFile,
    recovered,
  };
}

const hash = (t: string | null) => (t === null ? null : sha256(t));
const relativePosix = (from: string, to: string) => relative(from, to).split(sep).join("/");

/** The version file a run will write: decided, and its place checked, before anything is written. */
interface VersionFilePlan {
  target: string;
  treePath: string | null;
  content: string;
  stamp: VersionStamp;
  existing: string | null;
}

/** File systems where a version file can never be made (and Node's recursive mkdir spins). */
const PSEUDO_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, "procfs"],
  [0x62656572, "sysfs"],
  [0x1cd1, "devpts"],
  [0x27e0eb, "cgroupfs"],
  [0x63677270, "cgroup2fs"],
]);

async function planVersionFile(tree: TreeHandle, resolution: PatchTarget, facts: TreeFacts, opts: PatchOptions): Promise<VersionFilePlan> {
  if (!resolution.version) {
    throw new UsageError(
      "E_VERSION_NEEDED",
      `expected an exact release to stamp (e.g. 1.16.15), found only the line ${resolution.line}`,
      "pass --version MAJOR.MINOR.PATCH",
    );
  }
  const tv = treeRelease(facts);
  const stamp = versionStamp(resolution.version, opts.commit ?? tv.commit, opts.versionSuffix);
  // Inside the tree the place is confined: a tree shipping _output as a symlink out of itself is refused.
  const { abs: target, treePath } = await versionFileTarget(rootOf(tree), opts.versionFile);
  const shown = opts.versionFile ? `--version-file ${opts.versionFile}` : DEFAULT_VERSION_FILE;
  const refuse = (found: string, fix: string) =>
    new UsageError("E_VERSION_FILE", `expected ${shown} to name a regular file (or nothing yet) in a folder, found ${found}; nothing was changed`, fix);
  let existing: string | null;
  try {
    existing = await readRegularTextIfExists(target, { maxBytes: 64 * 1024 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOTDIR")
      throw refuse(`${target} is ${describeReadFailure(err)}`, "pass --version-file a file path, e.g. _output/kubelet-nokmem/version.env");
    existing = null;
  }
  // The nearest folder that exists must be a real, writable folder on a real file system.
  let dir = dirname(target);
  for (;;) {
    const st = await stat(dir).catch((err: NodeJS.ErrnoException) => (err.code === "ENOENT" ? null : Promise.reject(err)));
    if (st) {
      if (!st.isDirectory()) throw refuse(`${dir} is ${st.isFile() ? "a file" : fileKind(st)}`, "pass --version-file a path whose folders are folders");
      const fs = PSEUDO_FILE_SYSTEMS.get(Number((await statfs(dir)).type));
      if (fs) throw refuse(`${dir} is on ${fs}, where no file can be made`, "pass --version-file a path on a real file system");
      break;
    }
    dir = dirname(dir);
  }
  return { target, treePath, content: renderVersionFile(stamp), stamp, existing };
}

async function stampVersion(tree: TreeHandle, p: VersionFilePlan, opts: PatchOptions, write: boolean): Promise<VersionFileOutcome> {
  if (!p.stamp.commit)
    opts.progress?.(
      "note: no commit known (not a git checkout or archive export): gitCommit and gitTreeState stay unset in the binary; pass --commit to stamp them",
    );
  let written = false;
  if (write && p.existing !== p.content) {
    await checkWritable(p.target, p.treePath ?? p.target);
    const recorded = await readVersionRecord(tree);
    const first = recorded?.path === p.target ? recorded : null;
    const createdDirs = first ? first.createdDirs : await missingFolders(dirname(p.target));
    await ensureDirectory(dirname(p.target));
    await writeFileAtomic(p.target, p.content);
    const record: VersionRecord = { schemaVersion: 1, path: p.target, before: first ? first.before : p.existing, after: p.content, createdDirs };
    await ensureDirectory(join(tree.real, STATE_DIR));
    await writeFileAtomic(join(tree.real, VERSION_RECORD), `${JSON.stringify(record, null, 2)}\n`);
    written = true;
  }
  return { path: p.target, treePath: p.treePath, sha256: sha256(p.content), gitVersion: p.stamp.gitVersion, commit: p.stamp.commit, written };
}

/** `dir` and its parents that do not exist yet, deepest first: what `mkdir -p` would create. */
async function missingFolders(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (
    let d = dir;
    !(await stat(d).then(
      () => true,
      () => false,
    ));
    d = dirname(d)
  ) {
    out.push(d);
    if (dirname(d) === d) break;
  }
  return out;
}

async function readVersionRecord(tree: TreeHandle): Promise<VersionRecord | null> {
  const bytes = await readConfined(rootOf(tree), VERSION_RECORD).catch(() => null);
  if (bytes === null) return null;
  try {
    const r = JSON.parse(bytes.toString("utf8")) as VersionRecord;
    const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((d) => typeof d === "string");
    return r.schemaVersion === 1 &&
      typeof r.path === "string" &&
      typeof r.after === "string" &&
      (r.before === null || typeof r.before === "string") &&
      strings(r.createdDirs)
      ? r
      : null;
  } catch {
    return null;
  }
}

/**
 * Revert's half of the version stamp: put back what was there before apply
 * wrote the version file (nothing, usually) and remove the folders apply
 * created for it. A file changed since apply wrote it is left as it is.
 */
async function unstampVersion(tree: TreeHandle, progress?: (line: string) => void): Promise<void> {
  const r = await readVersionRecord(tree);
  if (r) {
    // The record lies in the tree, and a tree is not trusted: only a path that
    // stays inside it after symlinks is touched (docs/threat-model.md).
    const target = await confinedRecordPath(tree, r.path);
    if (!target) {
      progress?.(`note: the version file ${r.path} is outside the tree; left as it is (remove it yourself if you named it with --version-file)`);
    } else {
      const current = await readText(target, relativePosix(tree.real, target)).catch(() => null);
      if (current === r.after) {
        if (r.before === null) await rm(target, { force: true });
        else await writeFileAtomic(target, r.before);
        for (const d of r.createdDirs) {
          if (isInside(tree.real, d) && d !== tree.real && isInside(d, dirname(target))) await rmdir(d).catch(() => undefined); // only when empty
        }
      } else if (current !== null) {
        progress?.(`note: ${r.path} changed since the patch wrote it; left as it is`);
      }
    }
    await rm(join(tree.real, VERSION_RECORD), { force: true });
  }
  // The tool's own folder goes when nothing is left in it.
  await rmdir(join(tree.real, STATE_DIR)).catch(() => undefined);
}

/** The record's path, if it names a file inside the tree with no symlink out of it on the way; else null. */
async function confinedRecordPath(tree: TreeHandle, path: string): Promise<string | null> {
  if (!isAbsolute(path) || !isInside(tree.real, path) || path === tree.real) return null;
  try {
    return await confineName(rootOf(tree), relativePosix(tree.real, path), "nofollow");
  } catch (err) {
    if (err instanceof ConfinementError) return null;
    throw err;
  }
}

/** The step `build` calls: apply (or find applied) the strategy's series and stamp the version. */
export async function applyStrategy(root: string, resolution: PatchTarget, opts: Omit<PatchOptions, "operation" | "write"> = {}): Promise<PatchRecord> {
  const o = await runPatch(root, resolution, { ...opts, operation: "apply", write: true });
  return {
    strategy: o.strategy,
    series: o.series,
    version: o.version,
    patches: o.patchTexts,
    files: o.files.map((f) => ({ path: f.path, before: f.before, after: f.after })),
    versionFile: o.versionFile,
    alreadyApplied: o.alreadyApplied,
  };
}
