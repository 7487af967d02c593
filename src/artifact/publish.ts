/**
 * Publishing into `--out`. Everything is written under OUT/.staging-<random>
 * (same filesystem, so the final renames are atomic), then renamed into
 * place, binaries first and SHA256SUMS last. OUT/.lock (see io/lock.ts) keeps
 * two builds from publishing into the same folder at once; an interrupted
 * build removes its staging folder and publishes nothing.
 *
 * Layout, the same for one platform or many:
 *   OUT/linux/amd64/kubelet
 *   OUT/SHA256SUMS       names relative to OUT: `sha256sum -c SHA256SUMS` in OUT
 *   OUT/manifest.json    in-toto Statement with SLSA provenance
 *   OUT/build.log
 *
 * Each rename is atomic, a series of them is not: a process killed between
 * two would leave a new kubelet beside the old SHA256SUMS. So, as the patch
 * engine does for source trees (patch/journal.ts), the series is journalled:
 * every staged file is fsynced and hashed, then OUT/.publish-journal.json
 * (the staging folder, each file with its sha256 in rename order, the old
 * kubelets to drop) is written atomically, then the renames run, then the
 * journal goes. The next build into OUT takes the lock, finds the journal and
 * ROLLS FORWARD: it renames whatever is still staged. Readers (`verify`,
 * `pin`, `audit --manifest`) never finish a publication: a verifier is
 * read-only, and an out dir handed to an auditor is not theirs to change.
 * They refuse the folder instead (checkPublicationFinished). Forward, not back, because
 * once the journal exists the new build is complete, verified and durable in
 * staging, while the old files are already partly overwritten (keeping them
 * would mean stashing the whole old build first: more renames, and a window
 * with fewer files in OUT); and the new build is what was asked for.
 * Only when the staged bytes are gone or damaged (removed by hand, a broken
 * disk) is forward impossible; then every file the journal names is removed,
 * SHA256SUMS and manifest.json first, so OUT holds neither build rather than
 * a mix, and the recovery says "discarded".
 *
 * A journal comes from the folder, and the folder may come from anyone: it is
 * checked (shape, plain names, digests) before anything is done with it, and
 * every name it holds is confined to OUT (io/confine.ts), so a crafted
 * journal naming `escape/…` beside a symlink `escape -> /victim` is refused.
 * The names a publication itself writes are confined the same way.
 */
import { lstat, mkdir, mkdtemp, open, readdir, rename, rm, rmdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { BusyError, VerificationError } from "../errors.js";
import { pauseForTests } from "../io/test-pause.js";
import { fsyncDir, writeFileAtomic } from "../io/atomic.js";
import { confine, confinedRoot, ConfinementError, nameProblem, readConfined, type ConfinedRoot } from "../io/confine.js";
import { acquireLock, lockState, type Lock, type LockHolder } from "../io/lock.js";
import { parseSha256Sums, sha256File } from "./checksums.js";

const LOCK_NAME = ".lock";
const STAGING_PREFIX = ".staging-";
export const JOURNAL_NAME = ".publish-journal.json";
const KUBELET_NAME = /^[a-z0-9]+\/[a-z0-9]+\/kubelet$/;
/** What a publication may remove of an earlier one: its kubelets, their SBOMs, and signature envelopes an unsigned build must not leave behind. */
const REMOVABLE = /^(?:[a-z0-9]+\/[a-z0-9]+\/(?:kubelet|sbom\.cdx\.json)|manifest\.dsse\.json|verdict\.dsse\.json)$/;
/** mkdtemp's six characters after the prefix. */
const STAGING_NAME = /^\.staging-[A-Za-z0-9]{6}$/;
/** Files a reader trusts the rest by: removed first when a publication is discarded. */
const INDEX_FILES = ["SHA256SUMS", "manifest.json", "manifest.dsse.json", "verdict.json", "verdict.dsse.json"];

/** Where a platform's binary of a product is published, relative to --out: `linux/amd64/kubelet`, `linux/amd64/runc`. */
export function binaryName(platform: string, program: "kubelet" | "runc" = "kubelet"): string {
  return `${platform}/${program}`;
}

interface PublishJournal {
  schemaVersion: 1;
  pid: number;
  /** Name of the staging folder inside OUT. */
  staging: string;
  /** In rename order; names relative to OUT (and to the staging folder). */
  files: { name: string; sha256: string }[];
  /** Kubelets of the earlier publication this one does not have. */
  remove: string[];
}

export interface PublishRecovery {
  /** "finished": OUT now holds the interrupted build entirely; "discarded": its staged bytes were lost and OUT holds no build. */
  action: "finished" | "discarded";
  /** Files renamed (finished) or removed (discarded) by the recovery. */
  files: string[];
}

/** Test hook: stop after this many renames and wait to be killed. */
const PAUSE_ENV = "KUBELET_NOKMEM_PAUSE_AFTER_RENAMES";

/** --wait waits this long for another build into the same --out: a cold multi-platform build takes minutes, not hours. */
const BUILD_WAIT_MS = 60 * 60_000;

interface BeginOptions {
  wait?: boolean;
  /** How long --wait waits for another build before giving up (exit 9). */
  waitMs?: number;
  signal?: AbortSignal;
  onWait?: (holder: LockHolder | null) => void;
  purpose?: string;
}

export class Publication {
  private done = false;

  private constructor(
    readonly out: string,
    readonly staging: string,
    private readonly lock: Lock,
    private readonly createdOut: boolean,
    /** What was done about a publication into OUT that an earlier process left half-way. */
    readonly recovered: PublishRecovery | null,
  ) {}

  /** Lock OUT, finish any publication left half-way, and open a staging folder in it. */
  static async begin(outArg: string, opts: BeginOptions = {}): Promise<Publication> {
    const out = resolve(outArg);
    const createdOut = (await mkdir(out, { recursive: true })) !== undefined;
    let lock: Lock;
    try {
      lock = await acquireLock(join(out, LOCK_NAME), {
        what: `the output folder ${out}`,
        purpose: opts.purpose,
        wait: opts.wait,
        waitMs: opts.waitMs ?? BUILD_WAIT_MS,
        signal: opts.signal,
        onWait: opts.onWait,
        hint: "wait for the other build, re-run with --wait, or pick another --out",
      });
    } catch (err) {
      if (createdOut) await rmdir(out).catch(() => undefined);
      throw err;
    }
    try {
      // We hold the lock: a journal or staging folders still here belong to builds that died.
      const recovered = await recoverLocked(out);
      for (const name of await readdir(out)) {
        if (name.startsWith(STAGING_PREFIX)) await rm(join(out, name), { recursive: true, force: true });
      }
      const staging = await mkdtemp(join(out, STAGING_PREFIX));
      return new Publication(out, staging, lock, createdOut, recovered);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /** A path inside the staging folder (parents created). */
  async stagedPath(rel: string): Promise<string> {
    const p = join(this.staging, rel);
    await mkdir(dirname(p), { recursive: true });
    return p;
  }

  /**
   * Rename the staged files into OUT in the given order (put SHA256SUMS last),
   * drop kubelets of an earlier publication that this one does not have, and
   * release the lock. Journalled: a process killed midway leaves what the
   * next run needs to finish it. `known` holds digests the caller already
   * computed (the kubelets), so 100 MB files are not read again.
   */
  async commit(files: readonly string[], known: ReadonlyMap<string, string> = new Map()): Promise<string[]> {
    if (this.done) throw new Error("publication already finished");
    const previous = await this.previousBinaries();
    const entries: PublishJournal["files"] = [];
    for (const name of files) {
      const staged = join(this.staging, name);
      await fsyncFile(staged);
      entries.push({ name, sha256: known.get(name) ?? (await sha256File(staged)) });
    }
    // The staged files' own names must be durable too (binaries arrive by rename).
    for (const dir of new Set(files.map((f) => dirname(join(this.staging, f))))) await fsyncDir(dir);
    const journal: PublishJournal = {
      schemaVersion: 1,
      pid: process.pid,
      staging: this.staging.slice(this.out.length + 1),
      files: entries,
      remove: previous.filter((old) => !files.includes(old)),
    };
    await confineJournal(this.out, journal); // decided before the journal exists: every name stays inside OUT
    await writeFileAtomic(join(this.out, JOURNAL_NAME), `${JSON.stringify(journal, null, 2)}\n`, { mode: 0o644 });
    await applyJournal(this.out, journal, new Set());
    await this.finish(false);
    return files.map((rel) => join(this.out, rel));
  }

  /** Remove the staging folder and publish nothing. Safe to call after commit. */
  async abandon(): Promise<void> {
    if (this.done) return;
    await this.finish(true);
  }

  private async finish(abandoned: boolean): Promise<void> {
    this.done = true;
    await rm(this.staging, { recursive: true, force: true });
    await this.lock.release();
    if (abandoned && this.createdOut) await rmdir(this.out).catch(() => undefined);
  }

  /** Kubelets of the earlier publication, with the files that describe only them (SBOM) or the whole build (envelopes). */
  private async previousBinaries(): Promise<string[]> {
    let kubelets: string[];
    try {
      // Confined like every out-dir read: a SHA256SUMS that is a symlink is not followed (it throws, and counts as none).
      kubelets = parseSha256Sums((await readConfined(await confinedRoot(this.out), "SHA256SUMS"))?.toString("utf8") ?? "")
        .map((e) => e.name)
        .filter((n) => KUBELET_NAME.test(n));
    } catch {
      return [];
    }
    // An unsigned build must not leave the last signed build's envelopes beside its Statements.
    const described = [...kubelets.map((k) => k.replace(/kubelet$/, "sbom.cdx.json")), "manifest.dsse.json", "verdict.dsse.json"];
    return [
      ...kubelets,
      ...(await Promise.all(described.map(async (n) => ((await exists(join(this.out, n))) ? n : null)))).filter((n): n is string => n !== null),
    ];
  }
}

/**
 * For readers of OUT (verify, pin, audit --manifest): read-only. Null when
 * no publication was left half-way; otherwise BusyError when a build is
 * publishing into OUT right now, and VerificationError when one was
 * interrupted (or the journal is not one a build wrote): the reader reports
 * it and changes nothing; the next build into OUT finishes it.
 */
export async function checkPublicationFinished(outArg: string): Promise<void> {
  const out = resolve(outArg);
  const journal = await readJournal(out);
  if (!journal) return;
  const lock = await lockState(join(out, LOCK_NAME));
  if (lock.state === "held") {
    const h = lock.holder;
    throw new BusyError(
      "E_BUSY",
      `expected ${out} to hold a finished build, found a build publishing into it right now${h ? ` (process ${h.pid} on ${h.host}${h.purpose ? `, ${h.purpose}` : ""})` : ""}`,
      "re-run once that build has finished",
    );
  }
  throw new VerificationError(
    "E_PUBLISH_UNFINISHED",
    `expected ${out} to hold a finished build, found an unfinished publication (${JOURNAL_NAME}) that a build left half-way; nothing was read or changed`,
    `re-run the build with --out ${out} (it finishes or discards the interrupted publication first), or remove the folder`,
  );
}

/** Finish (or, with its staged bytes lost, discard) the publication a journal in OUT describes. The caller holds the lock. */
async function recoverLocked(out: string): Promise<PublishRecovery | null> {
  const journal = await readJournal(out);
  if (!journal) return null;
  const { staging, targets } = await confineJournal(out, journal);
  const inPlace = new Set<string>();
  let forward = staging !== null;
  for (const f of journal.files) {
    if (!forward) break;
    if ((await digestOf(join(staging!, f.name))) === f.sha256) continue;
    if ((await digestOf(targets.get(f.name)!)) === f.sha256) {
      inPlace.add(f.name);
      continue;
    }
    forward = false;
  }
  if (forward) {
    const renamed = journal.files.map((f) => f.name).filter((n) => !inPlace.has(n));
    await applyJournal(out, journal, inPlace);
    await rm(staging!, { recursive: true, force: true });
    return { action: "finished", files: renamed };
  }
  const names = journal.files.map((f) => f.name);
  const order = [...INDEX_FILES.filter((n) => names.includes(n)), ...names.filter((n) => !INDEX_FILES.includes(n)), ...journal.remove];
  const removed: string[] = [];
  for (const name of order) {
    const abs = targets.get(name)!;
    const st = await lstat(abs).catch(() => null);
    if (!st || st.isDirectory()) continue;
    await rm(abs, { force: true });
    await removeEmptyParents(abs, out);
    removed.push(name);
  }
  await fsyncDir(out);
  await rm(join(out, JOURNAL_NAME), { force: true });
  await fsyncDir(out);
  if (staging) await rm(staging, { recursive: true, force: true });
  return { action: "discarded", files: removed };
}

/**
 * Every name of a journal, confined to OUT (and, for staged files, to the
 * staging folder, which must be a real folder of OUT): the paths to act on.
 * VerificationError when any name leads out. `staging` is null when the
 * staging folder is gone.
 */
async function confineJournal(out: string, journal: PublishJournal): Promise<{ staging: string | null; targets: Map<string, string> }> {
  const root = await confinedRoot(out);
  const refuse = (name: string, problem: string) =>
    new VerificationError(
      "E_PUBLISH_ESCAPE",
      `expected every file of the publication in ${out} to stay inside it, found ${name}: ${problem}; nothing was changed`,
      `remove the symlinks in ${out} (or the folder) and rebuild into it`,
    );
  const targets = new Map<string, string>();
  for (const name of [...journal.files.map((f) => f.name), ...journal.remove]) {
    try {
      targets.set(name, await confine(root, name, "nofollow"));
    } catch (err) {
      if (err instanceof ConfinementError) throw refuse(name, err.problem);
      throw err;
    }
  }
  const st = await lstat(join(root.real, journal.staging)).catch(() => null);
  if (st && !st.isDirectory()) throw refuse(journal.staging, "a staging folder that is not a folder of its own");
  if (!st) return { staging: null, targets };
  const stagingRoot: ConfinedRoot = { given: join(out, journal.staging), real: join(root.real, journal.staging) };
  for (const f of journal.files) {
    try {
      await confine(stagingRoot, f.name, "nofollow");
    } catch (err) {
      if (err instanceof ConfinementError) throw refuse(`${journal.staging}/${f.name}`, err.problem);
      throw err;
    }
  }
  return { staging: stagingRoot.real, targets };
}

/** The renames, the removals, then the journal goes. Idempotent: a recovery runs it again over what is left. */
async function applyJournal(out: string, journal: PublishJournal, inPlace: ReadonlySet<string>): Promise<void> {
  const { staging, targets } = await confineJournal(out, journal);
  const touched = new Set<string>([out]);
  let renamed = 0;
  for (const f of journal.files) {
    if (inPlace.has(f.name)) continue;
    const to = targets.get(f.name)!;
    await mkdir(dirname(to), { recursive: true });
    await rename(join(staging ?? join(out, journal.staging), f.name), to);
    touched.add(dirname(to));
    await pauseForTests(PAUSE_ENV, ++renamed, "rename(s)");
  }
  for (const old of journal.remove) {
    const abs = targets.get(old)!;
    if ((await lstat(abs).catch(() => null))?.isDirectory()) continue;
    await rm(abs, { force: true });
    await removeEmptyParents(abs, out);
  }
  // The renames must be on disk before the journal that could redo them is gone.
  for (const dir of touched) await fsyncDir(dir);
  await rm(join(out, JOURNAL_NAME), { force: true });
  await fsyncDir(out);
}

/**
 * The journal in OUT, checked before anything is done with it: the shape a
 * build writes, a staging folder named as mkdtemp names it, plain relative
 * names (no `..`, no absolute path, no hidden component), sha256 digests, and
 * only what a build may drop of an earlier one to remove. Null when there is none.
 */
async function readJournal(out: string): Promise<PublishJournal | null> {
  const path = join(out, JOURNAL_NAME);
  const bad = (found: string) =>
    new VerificationError(
      "E_PUBLISH_JOURNAL",
      `expected ${path} to describe an interrupted publication, found ${found}; it was not followed`,
      `remove ${out} and rebuild into it: its files cannot be trusted to belong to one build`,
    );
  let bytes: Buffer | null;
  try {
    bytes = await readConfined(await confinedRoot(out), JOURNAL_NAME);
  } catch (err) {
    if (err instanceof ConfinementError) throw bad(err.problem);
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null; // no OUT at all
    throw err;
  }
  if (bytes === null) return null;
  let j: PublishJournal;
  try {
    j = JSON.parse(bytes.toString("utf8")) as PublishJournal;
  } catch (err) {
    throw bad(`a syntax error (${(err as Error).message})`);
  }
  const problem = journalProblem(j);
  if (problem) throw bad(problem);
  return j;
}

/** What is wrong with a parsed publish journal, or null. Pure. */
function journalProblem(j: PublishJournal): string | null {
  const plain = (n: unknown): string | null => {
    if (typeof n !== "string") return "a name that is not a string";
    const p = nameProblem(n);
    if (p) return p;
    return n.split("/").some((c) => c.startsWith(".")) ? `the hidden name ${n}` : null;
  };
  if (!j || typeof j !== "object" || Array.isArray(j)) return "something that is not a journal object";
  if (j.schemaVersion !== 1) return `schemaVersion ${JSON.stringify(j.schemaVersion)}`;
  if (typeof j.staging !== "string" || !STAGING_NAME.test(j.staging))
    return `the staging folder ${JSON.stringify(j.staging)} (expected ${STAGING_PREFIX}XXXXXX)`;
  if (!Array.isArray(j.files) || !Array.isArray(j.remove)) return "no lists of files and removals";
  const seen = new Set<string>();
  for (const f of j.files) {
    const p = plain(f?.name);
    if (p) return `a file entry naming ${p}`;
    if (typeof f.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(f.sha256)) return `a file entry for ${f.name} without a sha256`;
    if (seen.has(f.name)) return `${f.name} named twice`;
    seen.add(f.name);
  }
  for (const n of j.remove)
    if (typeof n !== "string" || !REMOVABLE.test(n))
      return `a removal of ${JSON.stringify(n)}, which is not a kubelet, its SBOM or an envelope of an earlier build`;
  return null;
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => null)) !== null;
}

async function digestOf(path: string): Promise<string | null> {
  try {
    return await sha256File(path);
  } catch {
    return null;
  }
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function removeEmptyParents(file: string, stopAt: string): Promise<void> {
  let dir = dirname(file);
  while (dir.startsWith(`${stopAt}/`)) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
    dir = dirname(dir);
  }
}
