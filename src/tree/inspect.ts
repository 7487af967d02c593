/**
 * The outer layer of tree inspection: reads the dozen files that tell a
 * Kubernetes tree's release, vendored runc and kmem layout (never the whole
 * tree: a real one has 20,000 files), then hands them to the pure detectors.
 */
import { readdir, stat } from "node:fs/promises";
import { fileKind, FileTooLargeError, formatBytes, readRegularText } from "../io/read.js";
import { join, resolve as resolvePath } from "node:path";
import type { Catalog } from "../catalog/types.js";
import { TreeError } from "../errors.js";
import { readGitFacts } from "../source/git.js";
import { assessTree, parseVersionFlag, type TreeFacts, type TreeReport } from "./assess.js";
import { BUILD_IMAGE_FILES, parseBuildImage, type TreeBuildImage } from "./build-image.js";
import { detectKmemLayout, RUNC_FS_DIR } from "./kmem-layout.js";
import { goVersionFromCross, goVersionFromDotFile, parseArchiveVersionSh } from "./release-version.js";
import { runcFromGodeps, runcFromGoMod, runcFromModulesTxt, type RuncRecord } from "./runc-version.js";

/** Paths that never make a checkout dirty: the build writes them (upstream ignores them too). */
const BUILD_OUTPUT_PREFIXES = ["_output/"];

/** What marks a directory as a Kubernetes source tree. */
const MARKERS = [
  { path: "hack/lib/version.sh", type: "file" },
  { path: "cmd/kubelet", type: "dir" },
] as const;

interface InspectOptions {
  catalog: Catalog;
  /** The release, when the user knows it (--version). The tree's own is still read and compared. */
  version?: string;
}

export async function inspectTree(root: string, opts: InspectOptions): Promise<TreeReport> {
  // A bad --version is the user's typo: say so before reading anything.
  if (opts.version !== undefined) parseVersionFlag(opts.version);
  const facts = await readTreeFacts(root);
  return assessTree(opts.catalog, facts, { version: opts.version });
}

/**
 * The one reader of a tree's facts (inspect, patch and build take them as
 * input): release, vendored runc, kmem layout, Go version. Throws TreeError
 * when it is not a readable Kubernetes tree. `status: false` skips
 * `git status`, which stats every file, when the changed paths are not needed.
 */
export async function readTreeFacts(rootArg: string, opts: { status?: boolean } = {}): Promise<TreeFacts> {
  const root = resolvePath(rootArg);
  await checkRoot(root, rootArg);
  await checkMarkers(root);
  const tree = new TreeFiles(root);

  const fsNames = await tree.list(RUNC_FS_DIR);
  if (!fsNames) {
    throw new TreeError(
      "E_TREE_NO_RUNC",
      `expected the vendored runc package ${RUNC_FS_DIR}/ in ${root}, found no such directory`,
      "inspect a release checkout with its vendor/ folder (hack/update-vendor.sh restores it)",
    );
  }
  const fsFiles: Record<string, string> = {};
  for (const name of fsNames.filter((n) => n.endsWith(".go") && !n.endsWith("_test.go"))) {
    const text = await tree.read(`${RUNC_FS_DIR}/${name}`);
    if (text !== null) fsFiles[name] = text;
  }
  const kmem = detectKmemLayout(fsFiles);

  const versionSh = (await tree.read("hack/lib/version.sh")) ?? "";
  const git = await readGitFacts(root, { status: opts.status });
  const archive = git ? null : parseArchiveVersionSh(versionSh);
  const changed = git ? git.changed.filter((p) => !BUILD_OUTPUT_PREFIXES.some((pre) => p === pre.slice(0, -1) || p.startsWith(pre))) : [];

  return { root, git, changed, archive, runc: await readRunc(tree), kmem, go: await readGo(tree), buildImage: await readBuildImage(tree) };
}

/** The vendored runc version: vendor/modules.txt (what is vendored) over go.mod over Godeps/Godeps.json. */
async function readRunc(tree: TreeFiles): Promise<TreeFacts["runc"]> {
  const sources: [string, (t: string) => RuncRecord | null][] = [
    ["vendor/modules.txt", runcFromModulesTxt],
    ["go.mod", runcFromGoMod],
    ["Godeps/Godeps.json", runcFromGodeps],
  ];
  const found: { source: string; record: RuncRecord }[] = [];
  for (const [file, parse] of sources) {
    const text = await tree.read(file);
    const record = text === null ? null : parse(text);
    if (record) found.push({ source: file, record });
  }
  const first = found[0];
  if (!first) return { version: null, source: null, notes: [] };
  const notes = found.flatMap((f) => f.record.notes);
  const other = found.find((f) => f.record.version && first.record.version && f.record.version !== first.record.version);
  if (other)
    notes.push(`${other.source} names runc ${other.record.version} but ${first.source} names ${first.record.version}; ${first.source} is what is vendored`);
  return { version: first.record.version, source: first.source, replacedBy: first.record.replacedBy, notes: [...new Set(notes)] };
}

/** The image the tree's dockerized build names (build/build-image/Dockerfile FROM + cross/VERSION). */
async function readBuildImage(tree: TreeFiles): Promise<TreeBuildImage | null> {
  return parseBuildImage({
    dockerfile: await tree.read(BUILD_IMAGE_FILES.dockerfile),
    cross: await tree.read(BUILD_IMAGE_FILES.cross),
    common: await tree.read(BUILD_IMAGE_FILES.common),
  });
}

async function readGo(tree: TreeFiles): Promise<TreeFacts["go"]> {
  const cross = await tree.read("build/build-image/cross/VERSION");
  if (cross !== null) {
    const version = goVersionFromCross(cross);
    if (version) return { version, source: "build/build-image/cross/VERSION", raw: cross.trim() };
  }
  const dot = await tree.read(".go-version");
  if (dot !== null) {
    const version = goVersionFromDotFile(dot);
    if (version) return { version, source: ".go-version", raw: dot.trim() };
  }
  return null;
}

async function checkRoot(root: string, shown: string): Promise<void> {
  let st;
  try {
    st = await stat(root);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new TreeError(
        "E_TREE_MISSING",
        `expected a Kubernetes source tree at ${shown}, found nothing there`,
        "check the path; clone or extract the tree first",
      );
    }
    if (code === "ELOOP")
      throw new TreeError(
        "E_TREE_UNREADABLE",
        `expected a Kubernetes source tree directory at ${shown}, found a symbolic link loop (ELOOP)`,
        "replace the looping symbolic link on the way to the tree",
      );
    throw new TreeError(
      "E_TREE_UNREADABLE",
      `expected a readable directory at ${shown}, found ${code ?? "an error"} (${(err as Error).message.split(",")[0]})`,
      "fix the path or its permissions",
    );
  }
  if (!st.isDirectory()) {
    const hint = /\.(tar(\.\w+)?|tgz)$/.test(root) ? `extract it first: mkdir src && tar -xf ${shown} -C src` : "pass the tree's top directory";
    throw new TreeError("E_TREE_NOT_DIR", `expected a Kubernetes source tree directory at ${shown}, found a file`, hint);
  }
  try {
    await readdir(root);
  } catch (err) {
    throw new TreeError(
      "E_TREE_UNREADABLE",
      `expected a readable directory at ${shown}, found ${(err as NodeJS.ErrnoException).code ?? "an error"}`,
      "fix its permissions (the tree must be readable by this user)",
    );
  }
}

async function checkMarkers(root: string): Promise<void> {
  const missing: string[] = [];
  const present: string[] = [];
  const wrong: string[] = [];
  for (const m of MARKERS) {
    const st = await stat(join(root, m.path)).catch(() => null);
    const ok = st !== null && (m.type === "dir" ? st.isDirectory() : st.isFile());
    (ok ? present : missing).push(m.type === "dir" ? `${m.path}/` : m.path);
    // A FIFO or device where a marker belongs is named, never opened.
    if (st && !ok) wrong.push(`${m.path} is ${st.isFile() ? "a file" : fileKind(st)}`);
  }
  if (!missing.length) return;
  const found = wrong.length ? `${wrong.join(", ")}; nothing was changed` : present.length ? `only ${present.join(", ")}` : "neither";
  // A common slip: the folder a tarball was extracted into, one level above the tree.
  const nested = await childTree(root);
  throw new TreeError(
    "E_TREE_NOT_KUBERNETES",
    `expected a Kubernetes source tree at ${root} (with ${MARKERS.map((m) => (m.type === "dir" ? `${m.path}/` : m.path)).join(" and ")}), found ${found}`,
    nested ? `did you mean ${nested}?` : "pass the top directory of a kubernetes/kubernetes checkout or source tarball",
  );
}

async function childTree(root: string): Promise<string | null> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const hits: string[] = [];
  for (const e of entries.filter((e) => e.isDirectory()).slice(0, 50)) {
    if (
      await stat(join(root, e.name, "hack/lib/version.sh")).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      hits.push(join(root, e.name));
  }
  return hits.length === 1 ? hits[0]! : null;
}

/** Reads files of one tree; missing files are null, unreadable ones a TreeError. */
class TreeFiles {
  constructor(readonly root: string) {}

  async read(rel: string): Promise<string | null> {
    const path = join(this.root, rel);
    const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT" || err.code === "ENOTDIR") return null;
      throw unreadable(rel, err);
    });
    if (!st) return null;
    // Never open a FIFO or device: reading one could block forever.
    if (!st.isFile())
      throw new TreeError(
        "E_TREE_UNREADABLE",
        `expected a regular file at ${rel}, found ${fileKind(st)}; nothing was changed`,
        `restore it: git checkout -- ${rel}`,
      );
    try {
      return await readRegularText(path, { maxBytes: 16 * 1024 * 1024 });
    } catch (err) {
      throw unreadable(rel, err as NodeJS.ErrnoException);
    }
  }

  /** Entry names of a folder, sub-folders left out (go build skips them too); null when there is no such folder. */
  async list(rel: string): Promise<string[] | null> {
    try {
      return (await readdir(join(this.root, rel), { withFileTypes: true }))
        .filter((e) => !e.isDirectory())
        .map((e) => e.name)
        .sort();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      throw unreadable(rel, err as NodeJS.ErrnoException);
    }
  }
}

function unreadable(rel: string, err: NodeJS.ErrnoException): TreeError {
  if (err instanceof FileTooLargeError)
    return new TreeError(
      "E_TREE_UNREADABLE",
      `expected ${rel} to be source of at most ${formatBytes(err.limit)}, found more; nothing was changed`,
      `restore it: git checkout -- ${rel}`,
    );
  return new TreeError(
    "E_TREE_UNREADABLE",
    `expected to read ${rel}, found ${err.code ?? "an error"}`,
    "fix its permissions (the tree must be readable by this user)",
  );
}
