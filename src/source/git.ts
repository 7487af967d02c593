/**
 * The one door to git, through simple-git (nothing else in the program
 * imports it), with one environment policy (gitEnv).
 *
 * Reading a checkout (tree inspection, the version stamp): the commit, the
 * `git describe` name hack/lib/version.sh would stamp, and the changed paths.
 *
 * Fetching sources for a build:
 * One bare mirror per URL lives in the cache folder. A build fetches only the
 * ref it needs, shallow (depth 1) where the server allows, and a tag already in
 * the mirror is not fetched again: tags of released versions do not move, so a
 * second build of v1.16.15 needs no network at all. The build then gets its own
 * working copy via `git worktree add --detach`, removed afterwards.
 */
import { createHash } from "node:crypto";
import { mkdir, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import type { SimpleGit } from "simple-git";
import { EnvironmentError, TreeError, UsageError } from "../errors.js";
import { acquireLock } from "../io/lock.js";

interface FetchedRef {
  mirror: string;
  commit: string;
  time: number;
  gitTree: string;
}

/** The mirror folder for a URL: readable name plus a hash, so two URLs never share one. */
export function mirrorPath(cacheDir: string, url: string): string {
  const slug =
    basename(url.replace(/\/+$/, ""))
      .replace(/\.git$/, "")
      .replace(/[^\w.-]+/g, "_")
      .slice(0, 40) || "repo";
  const hash = createHash("sha256").update(url).digest("hex").slice(0, 12);
  return join(cacheDir, "git", `${slug}-${hash}.git`);
}

/** simple-git is loaded on first use, so commands without git start faster. */
async function git(baseDir: string, signal?: AbortSignal): Promise<SimpleGit> {
  const { simpleGit } = await import("simple-git");
  return simpleGit({ baseDir, maxConcurrentProcesses: 4, ...(signal ? { abort: signal } : {}) }).env(gitEnv());
}

/**
 * The environment every git run gets: only what git needs to find itself,
 * the user's configuration (safe.directory lives there), credentials agents
 * and proxies. A caller's GIT_DIR or GIT_WORK_TREE (set inside git hooks)
 * must not redirect it, EDITOR/PAGER/askpass programs must not run, a remote
 * asking for a password fails instead of hanging (GIT_TERMINAL_PROMPT=0),
 * `git status` on a tree it only reads never writes its index
 * (GIT_OPTIONAL_LOCKS=0), and messages are in English so they can be read.
 */
function gitEnv(source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const keep =
    /^(PATH|HOME|USER|LOGNAME|TMPDIR|XDG_CONFIG_HOME|GIT_CONFIG_NOSYSTEM|GIT_CONFIG_GLOBAL|GIT_CONFIG_SYSTEM|GIT_CEILING_DIRECTORIES|SSH_AUTH_SOCK|SSL_CERT_FILE|SSL_CERT_DIR|(HTTPS?|ALL|NO)_PROXY|(https?|all|no)_proxy)$/;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) if (v !== undefined && keep.test(k)) env[k] = v;
  return { ...env, LC_ALL: "C", GIT_OPTIONAL_LOCKS: "0", GIT_TERMINAL_PROMPT: "0" };
}

const FULL_SHA = /^[0-9a-f]{40}$/;

/** Refspec candidates for a ref, in the order tried. */
function refspecsFor(ref: string): { remote: string; local: string }[] {
  if (FULL_SHA.test(ref)) return [{ remote: ref, local: `refs/kubelet-nokmem/commits/${ref}` }];
  if (ref.startsWith("refs/")) return [{ remote: ref, local: ref }];
  return [
    { remote: `refs/tags/${ref}`, local: `refs/tags/${ref}` },
    { remote: `refs/heads/${ref}`, local: `refs/kubelet-nokmem/heads/${ref}` },
  ];
}

/**
 * Make sure the mirror of `url` holds `ref`; return its commit, commit time and tree.
 * Mirrors are shared between concurrent builds, so fetching holds a lock.
 */
export async function fetchRef(
  cacheDir: string,
  url: string,
  ref: string,
  opts: { signal?: AbortSignal; onProgress?: (l: string) => void } = {},
): Promise<FetchedRef> {
  const mirror = mirrorPath(cacheDir, url);
  await mkdir(join(cacheDir, "git"), { recursive: true });
  const lock = await acquireLock(`${mirror}.lock`, {
    what: `the git mirror ${mirror}`,
    purpose: `fetch ${ref}`,
    wait: true,
    waitMs: 60 * 60_000, // a first fetch of the whole upstream repository can take this long
    signal: opts.signal,
    onWait: () => opts.onProgress?.(`waiting for another fetch into ${mirror}`),
  });
  try {
    await mkdir(mirror, { recursive: true });
    const g = await git(mirror, opts.signal);
    if (!(await g.checkIsRepo().catch(() => false))) {
      await guard(() => g.init(true), url);
      await guard(() => g.addConfig("remote.origin.url", url), url);
    }
    const specs = refspecsFor(ref);
    // Tags and commit ids never move: reuse what the mirror has.
    for (const s of specs.filter((s) => s.local.startsWith("refs/tags/") || s.local.startsWith("refs/kubelet-nokmem/commits/"))) {
      const have = await commitOf(g, s.local);
      if (have) return { mirror, ...(await describe(g, have)) };
    }
    const errors: string[] = [];
    for (const s of specs) {
      opts.onProgress?.(`fetching ${s.remote} from ${url}`);
      const fetched = (await tryFetch(g, url, s, true, errors)) || (await tryFetch(g, url, s, false, errors));
      if (fetched) {
        const commit = await commitOf(g, s.local);
        if (commit) return { mirror, ...(await describe(g, commit)) };
      }
    }
    throw fetchFailure(url, ref, errors);
  } finally {
    await lock.release();
  }
}

async function tryFetch(g: SimpleGit, url: string, s: { remote: string; local: string }, shallow: boolean, errors: string[]): Promise<boolean> {
  const args = ["fetch", "--no-tags", "--force", ...(shallow ? ["--depth", "1"] : []), url, `+${s.remote}:${s.local}`];
  try {
    await g.raw(args);
    return true;
  } catch (err) {
    errors.push(lastLine(String((err as Error).message)));
    return false;
  }
}

function fetchFailure(url: string, ref: string, errors: string[]): Error {
  const text = errors.join(" | ");
  if (/couldn't find remote ref|not our ref|no such remote ref|unadvertised object/i.test(text)) {
    return new UsageError(
      "E_REF_MISSING",
      `expected ${url} to have ${ref}, found no such tag, branch or commit`,
      "check the version, or pass --ref with the tag or commit to build",
    );
  }
  if (/ENOENT|spawn git/i.test(text)) return gitMissing();
  return new EnvironmentError(
    "E_GIT_FETCH",
    `expected to fetch ${ref} from ${url}, found: ${errors.at(-1) ?? "an error"}`,
    "check the network or the URL, or pass --source with a local clone, directory or tarball",
  );
}

function gitMissing(): EnvironmentError {
  return new EnvironmentError("E_GIT_MISSING", "expected the `git` program on PATH, found nothing", "install git (`apt-get install git`)");
}

async function guard<T>(fn: () => Promise<T>, url: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (/ENOENT|spawn git/i.test(String((err as Error).message))) throw gitMissing();
    throw new EnvironmentError(
      "E_GIT",
      `expected to prepare a git mirror of ${url}, found: ${lastLine(String((err as Error).message))}`,
      "remove the mirror under the cache folder and retry",
    );
  }
}

async function commitOf(g: SimpleGit, ref: string): Promise<string | null> {
  try {
    return (await g.raw(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`])).trim() || null;
  } catch {
    return null;
  }
}

async function describe(g: SimpleGit, commit: string): Promise<{ commit: string; time: number; gitTree: string }> {
  const out = (await g.raw(["show", "-s", "--format=%H %ct %T", commit])).trim().split(" ");
  return { commit: out[0]!, time: Number(out[1]), gitTree: out[2]! };
}

/** A working copy of `commit` at `dir` (which must not exist), detached from any branch. */
export async function addWorktree(mirror: string, dir: string, commit: string, signal?: AbortSignal): Promise<() => Promise<void>> {
  const g = await git(mirror, signal);
  try {
    await g.raw(["worktree", "add", "--detach", "--force", dir, commit]);
  } catch (err) {
    throw new EnvironmentError(
      "E_GIT_WORKTREE",
      `expected a working copy of ${commit.slice(0, 12)} at ${dir}, found: ${lastLine(String((err as Error).message))}`,
      "check free space in the cache folder (--cache-dir)",
    );
  }
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    await rm(dir, { recursive: true, force: true });
    // Without an abort signal: cleanup runs after an interrupt too.
    await (await git(mirror)).raw(["worktree", "prune"]).catch(() => undefined);
  };
}

function lastLine(text: string): string {
  return text.trim().split("\n").filter(Boolean).at(-1) ?? text.trim();
}

export interface GitFacts {
  /** HEAD's commit, or null in a repository without commits. */
  commit: string | null;
  /** `git describe --tags --match 'v*' --abbrev=14 HEAD`, or null when no such tag is reachable. */
  describe: string | null;
  /** Paths `git status --porcelain` lists (tracked changes and untracked files). */
  changed: string[];
}

/**
 * Git facts for `root` when root itself holds `.git` (a checkout or a
 * worktree), else null. A tree extracted inside some other repository is not
 * a checkout of its own, so git is not asked about parents.
 */
export async function readGitFacts(root: string, opts: { status?: boolean } = {}): Promise<GitFacts | null> {
  try {
    await stat(join(root, ".git"));
  } catch {
    return null;
  }
  const g = await git(root);
  try {
    const commit = await g.raw(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]).then(
      (s) => s.trim() || null,
      () => null,
    );
    const describe = commit
      ? await g.raw(["describe", "--tags", "--match", "v*", "--abbrev=14", "HEAD^{commit}"]).then(
          (s) => s.trim() || null,
          () => null,
        )
      : null;
    // `git status` stats every file of the tree; the patch step only needs the release and commit.
    const status = opts.status === false ? "" : await g.raw(["status", "--porcelain", "--untracked-files=normal"]);
    return { commit, describe, changed: parsePorcelain(status) };
  } catch (err) {
    throw gitError(root, err);
  }
}

/** Paths from `git status --porcelain` (v1) output; a rename lists its new path. */
export function parsePorcelain(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => l.length > 3)
    .map((l) => {
      let p = l.slice(3);
      const arrow = p.indexOf(" -> ");
      if (arrow !== -1) p = p.slice(arrow + 4);
      if (p.startsWith('"') && p.endsWith('"')) p = JSON.parse(p) as string;
      return p;
    });
}

function gitError(root: string, err: unknown): Error {
  const message = (err instanceof Error ? err.message : String(err)).trim();
  if (/ENOENT/.test(message) && /spawn/.test(message)) {
    return new EnvironmentError(
      "E_GIT_MISSING",
      `expected git to read the checkout at ${root}, found no git program`,
      "install git, or inspect a copy without .git and pass --version",
    );
  }
  const first = message.split("\n").find((l) => l.trim()) ?? "unknown error";
  const hint = /dubious ownership/.test(message) ? `git config --global --add safe.directory ${root}` : "check the repository with `git status`";
  return new TreeError("E_TREE_GIT", `expected a readable git checkout at ${root}, found git failing: ${first.replace(/^fatal:\s*/, "")}`, hint);
}

/**
 * Files at `ref` of a repository on this machine (a `file://` URL), without a
 * fetch or a working copy: path → content, null when the file is not there.
 * Null as a whole when the repository is not local or does not have the ref,
 * so the caller can say the facts come once the source is staged.
 */
export async function readFilesAtRef(url: string, ref: string, paths: readonly string[]): Promise<Record<string, string | null> | null> {
  if (!url.startsWith("file://")) return null;
  const { fileURLToPath } = await import("node:url");
  const g = await git(fileURLToPath(url));
  const commit = await commitOf(g, ref);
  if (!commit) return null;
  const out: Record<string, string | null> = {};
  for (const p of paths) out[p] = await g.show([`${commit}:${p}`]).catch(() => null);
  return out;
}
