/**
 * What git says about a checkout: the release tag HEAD sits on and the
 * commit. The one place outside source fetching that asks git anything.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { simpleGit } from "simple-git";

export interface GitInfo {
  /** `git describe --tags --match v*` of HEAD, e.g. `v1.16.15` or `v1.16.15-3-gabc…`. */
  describe: string | null;
  commit: string | null;
}

/** Null when `root` is not itself the top of a git checkout. */
export async function gitInfo(root: string): Promise<GitInfo | null> {
  if (!existsSync(join(root, ".git"))) return null;
  const git = simpleGit({ baseDir: root });
  const commit = (await git.raw(["rev-parse", "HEAD^{commit}"]).catch(() => "")).trim() || null;
  const describe = (await git.raw(["describe", "--tags", "--match", "v*", "--abbrev=14", "HEAD"]).catch(() => "")).trim() || null;
  return { describe, commit };
}
