/**
 * What git says about a checkout, for tree inspection: the commit, the
 * `git describe` name hack/lib/version.sh would stamp, and the changed paths.
 * Read-only; the one place outside the rest of src/source/ that talks to git.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { EnvironmentError, TreeError } from "../errors.js";

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
  // Loaded on first use, so commands without git start faster.
  const { simpleGit } = await import("simple-git");
  const git = simpleGit({ baseDir: root }).env(gitEnv());
  try {
    const commit = await git.raw(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]).then((s) => s.trim() || null, () => null);
    const describe = commit
      ? await git.raw(["describe", "--tags", "--match", "v*", "--abbrev=14", "HEAD^{commit}"]).then((s) => s.trim() || null, () => null)
      : null;
    // `git status` stats every file of the tree; the patch step only needs the release and commit.
    const status = opts.status === false ? "" : await git.raw(["status", "--porcelain", "--untracked-files=normal"]);
    return { commit, describe, changed: parsePorcelain(status) };
  } catch (err) {
    throw gitError(root, err);
  }
}

/**
 * The environment git runs with: only what it needs to find itself and the
 * user's configuration (safe.directory lives there). A caller's GIT_DIR or
 * GIT_WORK_TREE (set inside git hooks) must not redirect it elsewhere, and
 * GIT_OPTIONAL_LOCKS=0 keeps `git status` from writing the index of a tree
 * it only reads.
 */
function gitEnv(source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const keep = /^(PATH|HOME|USER|LOGNAME|TMPDIR|XDG_CONFIG_HOME|GIT_CONFIG_NOSYSTEM|GIT_CONFIG_GLOBAL|GIT_CONFIG_SYSTEM|GIT_CEILING_DIRECTORIES)$/;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) if (v !== undefined && keep.test(k)) env[k] = v;
  return { ...env, LC_ALL: "C", GIT_OPTIONAL_LOCKS: "0", GIT_TERMINAL_PROMPT: "0" };
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
    return new EnvironmentError("E_GIT_MISSING", `expected git to read the checkout at ${root}, found no git program`, "install git, or inspect a copy without .git and pass --version");
  }
  const first = message.split("\n").find((l) => l.trim()) ?? "unknown error";
  const hint = /dubious ownership/.test(message) ? `git config --global --add safe.directory ${root}` : "check the repository with `git status`";
  return new TreeError("E_TREE_GIT", `expected a readable git checkout at ${root}, found git failing: ${first.replace(/^fatal:\s*/, "")}`, hint);
}
