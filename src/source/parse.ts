/** Classify a `--source` argument. Looks at the disk, changes nothing. */
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { UsageError } from "../errors.js";
import { UPSTREAM_URL, type SourceSpec } from "./types.js";

const URL_LIKE = /^(https?|git|ssh|file):\/\//i;
const SCP_LIKE = /^[\w.-]+@[\w.-]+:/;
const TARBALL = /\.(tar\.gz|tgz)$/i;

/**
 * - nothing: the upstream repository
 * - a URL (https://, ssh://, git://, file://, user@host:path): git
 * - `dir:PATH`: a plain directory even if it is a git checkout (builds its files as they are)
 * - a `.tar.gz` / `.tgz` file: archive
 * - a directory holding a git repository: git (the ref is fetched from it; its working files are not used)
 * - any other directory: plain directory
 */
export function parseSource(input: string | undefined, cwd = process.cwd()): SourceSpec {
  if (!input) return { kind: "git", url: UPSTREAM_URL, display: UPSTREAM_URL };
  if (URL_LIKE.test(input) || SCP_LIKE.test(input)) return { kind: "git", url: input, display: input };
  if (input.startsWith("dir:")) {
    const path = resolve(cwd, input.slice(4));
    if (!isDir(path)) throw missing(input, "a directory");
    return { kind: "directory", path };
  }
  const path = resolve(cwd, input);
  if (!existsSync(path)) throw missing(input, "a git URL, a directory or a .tar.gz file");
  if (isDir(path)) {
    if (existsSync(join(path, ".git")) || (existsSync(join(path, "HEAD")) && isDir(join(path, "objects")))) {
      return { kind: "git", url: pathToFileURL(path).href, display: path };
    }
    return { kind: "directory", path };
  }
  if (TARBALL.test(path)) return { kind: "archive", path };
  throw new UsageError(
    "E_SOURCE",
    `expected --source to be a git URL, a directory or a .tar.gz file, found the file ${input}`,
    "pass a kubernetes source tarball ending in .tar.gz, or a directory",
  );
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function missing(input: string, what: string): UsageError {
  return new UsageError(
    "E_SOURCE_MISSING",
    `expected --source to be ${what}, found nothing at ${input}`,
    "check the path, or omit --source to use the upstream repository",
  );
}
