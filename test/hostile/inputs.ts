/**
 * Hostile inputs, generated: what a source tree or an out dir someone else
 * made can hold to turn the tool against the machine it runs on. Each case
 * names what it plants; the tests run the real CLI on it and check the exit
 * code, the one-line error, and that nothing outside the target changed.
 */
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

const sha = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");

/**
 * Every entry under `dir` (hidden ones too) → mode and content, symlinks as
 * `-> target`, folders as `dir`; `skip` leaves one child out (the target the
 * command may legitimately change).
 */
export function snapshotTree(dir: string, skip?: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const abs = join(d, name);
      if (abs === skip) continue;
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(abs);
      if (st.isSymbolicLink()) out[r] = `-> ${readlinkSync(abs)}`;
      else if (st.isDirectory()) {
        out[r] = `dir ${(st.mode & 0o7777).toString(8)}`;
        walk(abs, r);
      } else out[r] = `${(st.mode & 0o7777).toString(8)} ${sha(readFileSync(abs))}`;
    }
  };
  walk(dir, "");
  return out;
}

/** A folder beside the target that must never change: what an escape would hit. */
export function plantVictim(parent: string): string {
  const victim = join(parent, "victim");
  mkdirSync(join(victim, "amd64"), { recursive: true });
  writeFileSync(join(victim, "keep"), "precious\n");
  writeFileSync(join(victim, "amd64/kubelet"), "someone else's kubelet\n");
  return victim;
}

const STATE = ".kubelet-nokmem";
const PAYLOAD = "written by a hostile journal\n";

export const PATCH_MODES = ["--check", "--dry-run", "write", "--revert"] as const;
type PatchMode = (typeof PATCH_MODES)[number];

interface TreeCase {
  name: string;
  /** Plants the hostile state into `tree` (its parent holds `victim/`). */
  plant(tree: string, victim: string): void;
  /** The error code each patch mode ends with; null: the run succeeds (whatever it did stayed inside the tree). */
  expect: Record<PatchMode, string | null>;
}

const all = (code: string, over: Partial<Record<PatchMode, string | null>> = {}): Record<PatchMode, string | null> => ({
  "--check": code,
  "--dry-run": code,
  write: code,
  "--revert": code,
  ...over,
});
/** A journal of the right shape is only reported by --check / --dry-run (they never recover); writing runs check it entry by entry. */
const pending = (write: string | null, revert: string | null = write) => all("E_JOURNAL_PENDING", { write, "--revert": revert });

function journal(tree: string, files: unknown[]): void {
  mkdirSync(join(tree, STATE, "txn"), { recursive: true });
  writeFileSync(join(tree, STATE, "txn/0.after"), PAYLOAD);
  writeFileSync(join(tree, STATE, "journal.json"), JSON.stringify({ schemaVersion: 1, operation: "apply", pid: 1, files }));
}
const after = (stash = `${STATE}/txn/0.after`) => ({ sha256: sha(PAYLOAD), stash });

/** Patch crash journals (and the tool's folder) a source tree can ship. */
export const TREE_CASES: TreeCase[] = [
  {
    name: "a journal entry climbing out with ..",
    plant: (t) => journal(t, [{ path: "../escaped", before: null, after: after() }]),
    expect: all("E_JOURNAL_INVALID"),
  },
  {
    name: "a journal entry with an absolute path",
    plant: (t, v) => journal(t, [{ path: join(v, "keep"), before: null, after: after() }]),
    expect: all("E_JOURNAL_INVALID"),
  },
  {
    name: "a journal entry through a symlinked folder",
    plant: (t, v) => {
      symlinkSync(v, join(t, "hack/escape"));
      journal(t, [{ path: "hack/escape/keep", before: null, after: after() }]);
    },
    expect: pending("E_JOURNAL_INVALID"),
  },
  {
    name: "a journal entry whose file is a symlink out",
    plant: (t, v) => {
      symlinkSync(join(v, "keep"), join(t, "hack/keep"));
      journal(t, [{ path: "hack/keep", before: null, after: after() }]);
    },
    expect: pending("E_JOURNAL_INVALID"),
  },
  {
    name: "a stash name climbing out with ..",
    plant: (t) => journal(t, [{ path: "hack/new", before: null, after: after("../../victim/keep") }]),
    expect: all("E_JOURNAL_INVALID"),
  },
  {
    name: "an absolute stash name",
    plant: (t, v) => journal(t, [{ path: "hack/new", before: null, after: after(join(v, "keep")) }]),
    expect: all("E_JOURNAL_INVALID"),
  },
  {
    name: "a stash that is a symlink out of the tree (never read: the run rolls back inside the tree)",
    plant: (t, v) => {
      journal(t, [{ path: "hack/new", before: null, after: after() }]);
      writeFileSync(join(v, "payload"), PAYLOAD);
      rmSync(join(t, STATE, "txn/0.after"));
      symlinkSync(join(v, "payload"), join(t, STATE, "txn/0.after"));
    },
    expect: pending(null),
  },
  {
    name: "a journal that is a symlink",
    plant: (t, v) => {
      mkdirSync(join(t, STATE));
      writeFileSync(join(v, "j.json"), "{}");
      symlinkSync(join(v, "j.json"), join(t, STATE, "journal.json"));
    },
    expect: all("E_JOURNAL_INVALID"),
  },
  {
    name: "a journal that is not JSON",
    plant: (t) => {
      mkdirSync(join(t, STATE));
      writeFileSync(join(t, STATE, "journal.json"), "\u0000garbage{");
    },
    expect: all("E_JOURNAL_INVALID"),
  },
  {
    name: "a journal of an unknown shape",
    plant: (t) => {
      mkdirSync(join(t, STATE));
      writeFileSync(join(t, STATE, "journal.json"), JSON.stringify({ schemaVersion: 1, operation: "rm -rf", files: [] }));
    },
    expect: all("E_JOURNAL_INVALID"),
  },
  {
    name: "the tool's folder as a symlink out of the tree",
    plant: (t, v) => {
      mkdirSync(join(v, "state"));
      writeFileSync(join(v, "state/journal.json"), "{}");
      symlinkSync(join(v, "state"), join(t, STATE));
    },
    expect: all("E_STATE_DIR"),
  },
  {
    name: "_output as a symlink out of the tree (where the version file goes)",
    plant: (t, v) => symlinkSync(v, join(t, "_output")),
    expect: all("E_VERSION_FILE_ESCAPE", { "--revert": null }),
  },
  {
    name: "_output as a dangling symlink",
    plant: (t, v) => symlinkSync(join(v, "not-yet"), join(t, "_output")),
    expect: all("E_VERSION_FILE_ESCAPE", { "--revert": null }),
  },
];

interface OutCase {
  name: string;
  /** Plants the hostile publication into `out` (its parent holds `victim/`). */
  plant(out: string, victim: string): void;
  /** What a reader (verify, pin, audit --manifest) ends with. */
  readerCode: string;
  /** What the next build into the folder ends with (null: it may finish it, confined). */
  writerCode: string | null;
}

const STAGING = ".staging-AbC123";
function publishJournal(out: string, files: { name: string; sha256: string }[], remove: string[] = [], staging = STAGING): void {
  writeFileSync(join(out, ".publish-journal.json"), JSON.stringify({ schemaVersion: 1, pid: 1, staging, files, remove }));
}
function staged(out: string, name: string): string {
  const p = join(out, STAGING, name);
  mkdirSync(join(p, ".."), { recursive: true });
  writeFileSync(p, PAYLOAD);
  return sha(PAYLOAD);
}

/** Publish journals an out dir handed to an auditor can hold. */
export const OUT_CASES: OutCase[] = [
  {
    name: "a file renamed through a symlinked folder",
    plant: (o, v) => {
      symlinkSync(v, join(o, "escape"));
      publishJournal(o, [{ name: "escape/planted", sha256: staged(o, "escape/planted") }]);
    },
    readerCode: "E_PUBLISH_UNFINISHED",
    writerCode: "E_PUBLISH_ESCAPE",
  },
  {
    name: "an old kubelet removed through a symlinked folder",
    plant: (o, v) => {
      rmSync(join(o, "linux"), { recursive: true });
      symlinkSync(v, join(o, "linux"));
      publishJournal(o, [{ name: "SHA256SUMS", sha256: staged(o, "SHA256SUMS") }], ["linux/amd64/kubelet"]);
    },
    readerCode: "E_PUBLISH_UNFINISHED",
    writerCode: "E_PUBLISH_ESCAPE",
  },
  {
    name: "a staging folder that is a symlink out",
    plant: (o, v) => {
      writeFileSync(join(v, "planted"), PAYLOAD);
      symlinkSync(v, join(o, STAGING));
      publishJournal(o, [{ name: "keep", sha256: sha(PAYLOAD) }]);
    },
    readerCode: "E_PUBLISH_UNFINISHED",
    writerCode: "E_PUBLISH_ESCAPE",
  },
  {
    name: "a name climbing out with ..",
    plant: (o) => publishJournal(o, [{ name: "../victim/keep", sha256: staged(o, "x") }]),
    readerCode: "E_PUBLISH_JOURNAL",
    writerCode: "E_PUBLISH_JOURNAL",
  },
  {
    name: "an absolute name",
    plant: (o, v) => publishJournal(o, [{ name: join(v, "keep"), sha256: staged(o, "x") }]),
    readerCode: "E_PUBLISH_JOURNAL",
    writerCode: "E_PUBLISH_JOURNAL",
  },
  {
    name: "a removal that is not a kubelet",
    plant: (o) => publishJournal(o, [], ["../victim/keep"]),
    readerCode: "E_PUBLISH_JOURNAL",
    writerCode: "E_PUBLISH_JOURNAL",
  },
  {
    name: "a staging name that climbs out",
    plant: (o) => publishJournal(o, [], [], "../victim"),
    readerCode: "E_PUBLISH_JOURNAL",
    writerCode: "E_PUBLISH_JOURNAL",
  },
  {
    name: "a journal that is a symlink",
    plant: (o, v) => {
      writeFileSync(join(v, "j.json"), "{}");
      symlinkSync(join(v, "j.json"), join(o, ".publish-journal.json"));
    },
    readerCode: "E_PUBLISH_JOURNAL",
    writerCode: "E_PUBLISH_JOURNAL",
  },
  {
    name: "a journal that is not JSON",
    plant: (o) => writeFileSync(join(o, ".publish-journal.json"), "]["),
    readerCode: "E_PUBLISH_JOURNAL",
    writerCode: "E_PUBLISH_JOURNAL",
  },
];

/** Lock files a crash, a full disk or a hand edit can leave. */
export const STALE_LOCKS: { name: string; content: (deadPid: number) => string }[] = [
  { name: "empty (ENOSPC while it was written)", content: () => "" },
  { name: "garbage", content: () => "\u0000\u0001 not a lock" },
  { name: "truncated JSON", content: () => '{"pid":12' },
  {
    name: "held by a dead process on this host",
    content: (pid) => JSON.stringify({ pid, host: hostname(), startedAt: "2020-01-01T00:00:00Z", purpose: "patch" }),
  },
];
