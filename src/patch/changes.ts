/**
 * Change records: what a patch does to one file, as plain data, and the one
 * function that carries a record out on a file's content in either
 * direction. Pure: content in, content (or the problems found) out.
 */
import { applyPatch, reversePatch, type StructuredPatch, type StructuredPatchHunk } from "diff";
import { assertNever, PatchError } from "../errors.js";
import { buildConstraintHeader, findFunctions, fixImports, functionBody, maskGo, replaceBody } from "../tree/go-source.js";
import { hunkSide, sha256, type PatchFile } from "./patch-file.js";

interface ChangeBase {
  /** The patch (or `--edit-version-sh`, or the applied record) this change comes from. */
  patch: string;
  /** Tree-relative path of the file changed. */
  path: string;
}

/** Apply the hunks of a unified diff where they match (creation and deletion included). */
export interface HunksChange extends ChangeBase {
  kind: "hunks";
  diff: StructuredPatch;
  creates: boolean;
  deletes: boolean;
}

/** Replace the bodies of named Go functions, found by their declarations. */
export interface FunctionBodiesChange extends ChangeBase {
  kind: "function-bodies";
  bodies: { name: string; body: string }[];
  /** Packages the new bodies call (imports the file must have). */
  needs: string[];
  /** The patch's diff against its reference file, for reverting a tree with no record. */
  reference: StructuredPatch;
}

/** Replace the whole file, keeping its build-constraint lines. */
export interface WholeFileChange extends ChangeBase {
  kind: "whole-file";
  /** The new content after the constraint lines, or null to take it from `from`. */
  content: string | null;
  /** Tree-relative path of a file whose content (after its constraint lines) becomes this one's. */
  from: string | null;
  /** Declarations the target must have. */
  requires: string[];
  /** A word the target's build constraint must contain (e.g. `!nokmem`). */
  constraintMustHave: string | null;
  reference: StructuredPatch;
}

/** Set KUBE_GIT_TREE_STATE to clean in hack/lib/version.sh, as operators do by hand. */
export interface TreeStateCleanChange extends ChangeBase {
  kind: "tree-state-clean";
}

/** Undo a change recorded at apply time: exact bytes, checked by sha256 on both sides. */
export interface RestoreChange extends ChangeBase {
  kind: "restore";
  diff: StructuredPatch;
  before: string | null;
  after: string | null;
}

export type Change = HunksChange | FunctionBodiesChange | WholeFileChange | TreeStateCleanChange | RestoreChange;

export interface Problem {
  path: string;
  patch: string;
  /** 1-based hunk number, when one hunk is at fault. */
  hunk?: number;
  hunkHeader?: string;
  /** 1-based line in the file where the mismatch starts. */
  line?: number;
  message: string;
  expected?: string[];
  found?: string[];
}

type CarryOutcome = { ok: true; content: string | null } | { ok: false; problems: Problem[] };

interface CarryOptions {
  fuzz: number;
  /** Content of other files a change reads (whole-file `from`), by tree-relative path. */
  sibling?: (path: string) => string | null;
}

const fail = (c: Change, message: string, extra: Partial<Problem> = {}): CarryOutcome => ({
  ok: false,
  problems: [{ path: c.path, patch: c.patch, message, ...extra }],
});

/** Build the change records of one patch file (of series `seriesId`). Throws E_PATCH_FORMAT for a malformed patch. */
export function changesOf(patch: PatchFile, seriesId?: string): Change[] {
  const malformed = (found: string) =>
    new PatchError("E_PATCH_FORMAT", `${seriesId ? `${seriesId}/` : ""}${patch.name}: ${found}`, "regenerate the patch from its reference file");
  return patch.files.map((f): Change => {
    const path = (f.newPath ?? f.oldPath)!;
    switch (patch.mode) {
      case "hunks":
        return { kind: "hunks", patch: patch.name, path, diff: f.diff, creates: f.oldPath === null, deletes: f.newPath === null };
      case "function-bodies": {
        const newSide = f.diff.hunks.map((h) => hunkSide(h, "new").join("\n")).join("\n");
        const bodies = patch.functions.map((name) => {
          const spans = findFunctions(newSide, name);
          if (spans.length !== 1)
            throw malformed(`expected the new side of the diff to hold the whole of func ${name}, found ${spans.length} complete declarations`);
          return { name, body: functionBody(newSide, spans[0]!) };
        });
        const bodyText = maskGo(bodies.map((b) => b.body).join("\n"));
        const needs = [...new Set([...bodyText.matchAll(/(?<![\w.])(errors|fmt)\s*\./g)].map((m) => m[1]!))];
        return { kind: "function-bodies", patch: patch.name, path, bodies, needs, reference: f.diff };
      }
      case "whole-file": {
        const from = patch.headers.From?.trim() || null;
        const hunk = f.diff.hunks[0];
        let content: string | null = null;
        if (!from) {
          if (f.diff.hunks.length !== 1 || !hunk || hunk.newStart > 1)
            throw malformed(`expected Apply: whole-file to carry the whole new file in one hunk, found ${f.diff.hunks.length} hunks`);
          content = buildConstraintHeader(`${hunkSide(hunk, "new").join("\n")}\n`).rest;
        }
        const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "";
        return {
          kind: "whole-file",
          patch: patch.name,
          path,
          content,
          from: from ? `${dir}${from}` : null,
          requires: patch.requires,
          constraintMustHave: patch.headers["Requires-Constraint"]?.trim() || null,
          reference: f.diff,
        };
      }
      default:
        return assertNever(patch.mode, "apply mode");
    }
  });
}

/** Files other than the targets a change reads. */
export function inputsOf(change: Change): string[] {
  return change.kind === "whole-file" && change.from ? [change.from] : [];
}

/**
 * Carry a change out on `content` (null: the file does not exist).
 * `forward` applies it, `backward` undoes it. A transform that finds its
 * work already done returns the content unchanged.
 */
export function carry(change: Change, content: string | null, direction: "forward" | "backward", opts: CarryOptions): CarryOutcome {
  switch (change.kind) {
    case "hunks":
      return carryHunks(change, change.diff, content, direction, opts.fuzz);
    case "function-bodies":
      if (direction === "backward") return carryHunks(change, change.reference, content, "backward", opts.fuzz);
      return stubBodies(change, content);
    case "whole-file":
      if (direction === "backward") return carryHunks(change, change.reference, content, "backward", opts.fuzz);
      return replaceWholeFile(change, content, opts);
    case "tree-state-clean":
      if (direction === "backward") return fail(change, "expected the record written when hack/lib/version.sh was edited, found none to undo the edit from");
      return cleanTreeState(change, content);
    case "restore":
      return restore(change, content, direction);
    default:
      return assertNever(change, "change");
  }
}

function missing(change: Change): CarryOutcome {
  return fail(change, `expected ${change.path} to exist, found no such file`);
}

function carryHunks(change: Change, diff: StructuredPatch, content: string | null, direction: "forward" | "backward", fuzz: number): CarryOutcome {
  const d = direction === "forward" ? diff : reversePatch(diff);
  const creates = direction === "forward" ? diff.oldFileName === "/dev/null" : diff.newFileName === "/dev/null";
  const deletes = direction === "forward" ? diff.newFileName === "/dev/null" : diff.oldFileName === "/dev/null";
  if (content === null && !creates) return missing(change);
  if (content !== null && creates) return fail(change, `expected no file at ${change.path} (the patch creates it), found one`);
  const result = applyPatch(content ?? "", d, { fuzzFactor: fuzz });
  if (result === false) return { ok: false, problems: diagnoseHunks(change, d, content ?? "", fuzz) };
  if (deletes) {
    if (result !== "") return fail(change, `expected ${change.path} to hold only what the patch deletes, found more`);
    return { ok: true, content: null };
  }
  return { ok: true, content: result };
}

/** Say which hunks do not match, and where, with the expected and found lines. */
function diagnoseHunks(change: Change, diff: StructuredPatch, content: string, fuzz: number): Problem[] {
  const problems: Problem[] = [];
  const lines = content.split("\n");
  diff.hunks.forEach((hunk: StructuredPatchHunk, i) => {
    const one = { ...diff, hunks: [hunk] };
    if (applyPatch(content, one, { fuzzFactor: fuzz }) !== false) return;
    const header = `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`;
    const base = { path: change.path, patch: change.patch, hunk: i + 1, hunkHeader: header };
    if (applyPatch(content, reversePatch(one), { fuzzFactor: 0 }) !== false) {
      problems.push({ ...base, message: `hunk ${i + 1} ${header} is already applied` });
      return;
    }
    const expected = hunkSide(hunk, "old");
    const at = Math.max(0, hunk.oldStart - 1);
    const found = lines.slice(at, at + expected.length);
    const k = expected.findIndex((e, j) => found[j] !== e);
    const first = k === -1 ? 0 : k;
    problems.push({
      ...base,
      line: at + first + 1,
      message: `hunk ${i + 1} ${header} does not match at line ${at + first + 1}`,
      expected: expected.slice(first, first + 3),
      found: found.slice(first, first + 3),
    });
  });
  if (!problems.length) {
    problems.push({
      path: change.path,
      patch: change.patch,
      message: "every hunk matches on its own, but not all together (hunks overlap or are out of order)",
    });
  }
  return problems;
}

function stubBodies(change: FunctionBodiesChange, content: string | null): CarryOutcome {
  if (content === null) return missing(change);
  const problems: Problem[] = [];
  let out = content;
  for (const { name, body } of change.bodies) {
    const spans = findFunctions(out, name);
    if (spans.length !== 1) {
      problems.push({
        path: change.path,
        patch: change.patch,
        message: spans.length ? `expected one declaration of func ${name}, found ${spans.length}` : `expected a declaration \`func ${name}(\`, found none`,
        expected: [`func ${name}(…) … {`],
        found: [],
      });
      continue;
    }
    out = replaceBody(out, spans[0]!, body);
  }
  if (problems.length) return { ok: false, problems };
  try {
    return { ok: true, content: fixImports(content, out, change.needs).src };
  } catch (err) {
    return fail(change, `expected an import list the engine can adjust, found ${(err as Error).message}`);
  }
}

function replaceWholeFile(change: WholeFileChange, content: string | null, opts: CarryOptions): CarryOutcome {
  if (content === null) return missing(change);
  const problems: Problem[] = [];
  const { header } = buildConstraintHeader(content);
  if (change.constraintMustHave && !header.split(/[\s,&|()]+/).includes(change.constraintMustHave)) {
    problems.push({
      path: change.path,
      patch: change.patch,
      message: `expected a build constraint with ${change.constraintMustHave}, found ${header.trim() ? JSON.stringify(header.trim().split("\n")) : "none"}`,
      expected: [`// +build …${change.constraintMustHave}…`],
      found: header.trim() ? header.trim().split("\n") : [],
    });
  }
  for (const name of change.requires) {
    if (!findFunctions(content, name).length)
      problems.push({ path: change.path, patch: change.patch, message: `expected a declaration \`func ${name}(\`, found none` });
  }
  let rest = change.content;
  if (change.from) {
    const sibling = opts.sibling?.(change.from) ?? null;
    if (sibling === null)
      problems.push({ path: change.from, patch: change.patch, message: `expected ${change.from} (the replacement's source) to exist, found no such file` });
    else rest = buildConstraintHeader(sibling).rest;
  }
  if (problems.length) return { ok: false, problems };
  return { ok: true, content: header + rest! };
}

const TREE_STATE = /^(\s*KUBE_GIT_TREE_STATE=)(["']?)(dirty|archive)\2(\s*)$/gm;

function cleanTreeState(change: TreeStateCleanChange, content: string | null): CarryOutcome {
  if (content === null) return missing(change);
  const out = content.replace(TREE_STATE, (_m, lead: string, q: string, _state: string, tail: string) => `${lead}${q}clean${q}${tail}`);
  if (out === content && !/^\s*KUBE_GIT_TREE_STATE=(["']?)clean\1\s*$/m.test(content)) {
    return fail(change, 'expected KUBE_GIT_TREE_STATE="dirty" or "archive" assignments in hack/lib/version.sh, found none', {
      expected: ['KUBE_GIT_TREE_STATE="dirty"'],
      found: [],
    });
  }
  return { ok: true, content: out };
}

function restore(change: RestoreChange, content: string | null, direction: "forward" | "backward"): CarryOutcome {
  const want = direction === "backward" ? change.after : change.before;
  const give = direction === "backward" ? change.before : change.after;
  const have = content === null ? null : sha256(content);
  if (have === give) return { ok: true, content };
  if (have !== want) {
    return fail(
      change,
      `expected ${change.path} as it was left by the patch (sha256 ${want ?? "absent"}), found ${have === null ? "no file" : `sha256 ${have}`}: it changed since`,
    );
  }
  const outcome = carryHunks(change, change.diff, content, direction, 0);
  if (!outcome.ok) return outcome;
  const got = outcome.content === null ? null : sha256(outcome.content);
  if (got !== give) return fail(change, `expected the restored file to have sha256 ${give ?? "(absent)"}, found ${got ?? "(absent)"}`);
  return outcome;
}
