/**
 * One patch file of a series: a short header (DEP-3 style `Key: value`
 * lines saying what it changes, why, and which upstream issue it answers)
 * followed by a unified diff. Parsed from content; nothing here reads disk.
 *
 * The `Apply:` header says how the engine carries the diff out:
 * - `hunks` (default): the hunks are applied where they match, with no fuzz
 *   unless asked for; what `patch -p1` or `git apply` would do.
 * - `function-bodies`: the functions named by `Functions:` are found in the
 *   target by their Go declarations and their bodies replaced by the bodies
 *   the diff's new side gives them; imports are adjusted. The diff itself
 *   applies as hunks to the reference file it was made from, so it can be
 *   read and checked like any patch.
 * - `whole-file`: the target becomes the diff's new side, keeping the target's
 *   own build-constraint lines; `Requires:` names declarations the target
 *   must have for the replacement to make sense.
 */
import { createHash } from "node:crypto";
import { parsePatch, type StructuredPatch } from "diff";
import { PatchError } from "../errors.js";
import { nameProblem } from "../io/confine.js";

const APPLY_MODES = ["hunks", "function-bodies", "whole-file"] as const;
export type ApplyMode = (typeof APPLY_MODES)[number];

export interface FileDiff {
  /** Tree-relative path before the change, null for a file the patch creates. */
  oldPath: string | null;
  /** Tree-relative path after the change, null for a file the patch deletes. */
  newPath: string | null;
  diff: StructuredPatch;
}

export interface PatchFile {
  /** As listed in the series, e.g. `0001-stub-kmem-functions.patch`. */
  name: string;
  sha256: string;
  /** The patch file as read (the build's SBOMs carry it). */
  text: string;
  subject: string;
  headers: Record<string, string>;
  mode: ApplyMode;
  /** function-bodies: the functions whose bodies are replaced. */
  functions: string[];
  /** whole-file: declarations the target must contain. */
  requires: string[];
  files: FileDiff[];
}

export const sha256 = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex");

/**
 * Why a path named by a patch may not be touched, or null if it may: any name
 * confinement refuses (src/io/confine.ts), and anything in `.git/` or the
 * tool's own state. Checked on the text alone; symlinks are checked against
 * the disk later.
 */
export function pathProblem(path: string): string | null {
  const top = path.split("/")[0];
  return nameProblem(path) ?? (top === ".git" || top === STATE_DIR ? `the name ${path} inside ${top}/` : null);
}

/** Where the tool keeps its journal and records inside a tree. */
export const STATE_DIR = ".kubelet-nokmem";

function stripPrefix(name: string | undefined): string | null {
  if (!name || name === "/dev/null") return null;
  return name.replace(/^[ab]\//, "");
}

/** Parse one patch file. `name` is used in messages. */
export function parsePatchFile(text: string, name: string): PatchFile {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => /^(--- |diff |Index: )/.test(l));
  if (start === -1) {
    throw new PatchError(
      "E_PATCH_FORMAT",
      `${name}: expected a unified diff after the header, found no \`---\` line`,
      `regenerate the patch with \`diff -u\` or \`git diff\``,
    );
  }
  const headers: Record<string, string> = {};
  let last: string | null = null;
  for (const line of lines.slice(0, start)) {
    const kv = /^([A-Za-z][\w-]*):\s*(.*)$/.exec(line);
    if (kv) {
      last = kv[1]!;
      headers[last] = headers[last] ? `${headers[last]} ${kv[2]}` : kv[2]!;
    } else if (/^\s+\S/.test(line) && last) {
      headers[last] += ` ${line.trim()}`;
    } else {
      last = null;
    }
  }
  let parsed: StructuredPatch[];
  try {
    parsed = parsePatch(lines.slice(start).join("\n"));
  } catch (err) {
    throw new PatchError(
      "E_PATCH_FORMAT",
      `${name}: expected a valid unified diff, found ${(err as Error).message}`,
      "regenerate the patch with `diff -u` or `git diff`",
    );
  }
  const files: FileDiff[] = parsed
    .filter((p) => p.hunks.length > 0 || p.oldFileName || p.newFileName)
    .map((diff) => ({ oldPath: stripPrefix(diff.oldFileName), newPath: stripPrefix(diff.newFileName), diff }));
  if (!files.length) {
    throw new PatchError("E_PATCH_FORMAT", `${name}: expected at least one file in the diff, found none`, "regenerate the patch");
  }
  for (const f of files) {
    if (f.oldPath && f.newPath && f.oldPath !== f.newPath) {
      throw new PatchError(
        "E_PATCH_FORMAT",
        `${name}: expected the same path on --- and +++, found a rename of ${f.oldPath} to ${f.newPath}`,
        "split the rename into a deletion and a creation",
      );
    }
    if (!f.oldPath && !f.newPath) {
      throw new PatchError("E_PATCH_FORMAT", `${name}: expected a file name on --- or +++, found /dev/null on both`, "regenerate the patch");
    }
  }
  const modeText = (headers.Apply ?? "hunks").trim();
  if (!(APPLY_MODES as readonly string[]).includes(modeText)) {
    throw new PatchError("E_PATCH_FORMAT", `${name}: expected Apply: ${APPLY_MODES.join(" | ")}, found ${JSON.stringify(modeText)}`, "fix the Apply: header");
  }
  const mode = modeText as ApplyMode;
  const words = (v: string | undefined) => (v ?? "").split(/[\s,]+/).filter(Boolean);
  const functions = words(headers.Functions);
  if (mode === "function-bodies" && !functions.length) {
    throw new PatchError(
      "E_PATCH_FORMAT",
      `${name}: expected a Functions: header naming the functions to replace, found none`,
      "add `Functions: NAME NAME` to the header",
    );
  }
  if (mode !== "hunks" && files.length !== 1) {
    throw new PatchError("E_PATCH_FORMAT", `${name}: expected one file for Apply: ${mode}, found ${files.length}`, "split the patch into one file per patch");
  }
  return {
    name,
    sha256: sha256(text),
    text,
    subject: headers.Subject ?? headers.Description ?? name,
    headers,
    mode,
    functions,
    requires: words(headers.Requires),
    files,
  };
}

/** The text of a hunk's old or new side, as lines without their prefix. */
export function hunkSide(hunk: StructuredPatch["hunks"][number], side: "old" | "new"): string[] {
  const keep = side === "old" ? "-" : "+";
  return hunk.lines.filter((l) => l[0] === " " || l[0] === keep).map((l) => l.slice(1));
}
