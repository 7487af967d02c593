/** What `--source` can be, and what staging one yields. */

export const UPSTREAM_URL = "https://github.com/kubernetes/kubernetes.git";

export type SourceSpec =
  /** A git repository by URL (https, ssh, git, file) or a local repository path. */
  | { kind: "git"; url: string; display: string }
  /** A plain directory, staged by copy and hard links. */
  | { kind: "directory"; path: string }
  /** A `.tar.gz` / `.tgz` source tarball. */
  | { kind: "archive"; path: string };

export type SourceKind = SourceSpec["kind"];

export interface TreeDigest {
  /** `sha256:<hex>` over every file's path, type, executable bit and content (see digest.ts). */
  digest: string;
  /** in-toto DigestSet `dirHash`: lowercase hex of Go's dirhash Hash1 over the regular files (see digest.ts). */
  dirHash: string;
  files: number;
  bytes: number;
  /** Newest modification time in the tree, seconds since the epoch. */
  newestMtime: number;
}

export interface StagedSource {
  kind: SourceKind;
  /** What the user passed, resolved: a URL or an absolute path. */
  origin: string;
  /** The staged working copy the build uses (never the user's own files). */
  tree: string;
  /** The git ref that was asked for (git sources). */
  ref: string | null;
  /** Full commit id when known: git sources, and `git archive` tarballs (pax comment, a claim of the archive, not a digest of it). */
  commit: string | null;
  /** Archives: sha256 of the archive file (the same before and after extraction). */
  archiveSha256: string | null;
  /** Commit time (seconds), the default SOURCE_DATE_EPOCH. Archives: the archive's time; directories: the newest file. */
  time: number;
  /** Where `time` came from, for the manifest and for people. */
  timeFrom: "commit" | "archive" | "newest-file";
  /** git's tree object id (git sources). */
  gitTree: string | null;
  digest: TreeDigest;
  /** How the tree was staged: `worktree`, `extract`, or a count of linked vs copied files. */
  staging: { method: "worktree" | "extract" | "link" | "copy"; linked: number; copied: number };
  /** Remove the staged copy (and any git bookkeeping for it). Safe to call twice. */
  cleanup(): Promise<void>;
}

export interface StageOptions {
  /** Cache folder: git mirrors and work folders live here. */
  cacheDir: string;
  /** Folder to stage into (must not exist yet). */
  into: string;
  /** Git ref to build (a tag such as v1.16.15, a branch or a commit id). */
  ref: string;
  /** Files (relative) the patch step will rewrite: always copied, never hard-linked. */
  willModify: string[];
  /** Directory staging: link read-only parts (auto), link nothing (copy), or link everything but willModify (link). */
  linkMode?: LinkMode;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
}

export type LinkMode = "auto" | "copy" | "link";
