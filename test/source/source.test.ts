import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync, existsSync, mkdirSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { breakLink, digestTree, parseSource, stageSource, UPSTREAM_URL } from "../../src/source/index.js";
import { parseTarHead } from "../../src/source/archive.js";
import { mirrorPath } from "../../src/source/git.js";
import { shouldLink } from "../../src/source/stage.js";
import { git, makeGitArchive, makeTree, RUNC_FS, type Tree } from "../fixtures/k8s-tree.js";

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "kn-source-"));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const stageOpts = (into: string, extra: object = {}) => ({ cacheDir: join(tmp, "cache"), into, ref: "v1.20.15", willModify: [`${RUNC_FS}/kmem.go`], ...extra });

describe("parseSource", () => {
  it("defaults to the upstream repository", () => expect(parseSource(undefined)).toEqual({ kind: "git", url: UPSTREAM_URL, display: UPSTREAM_URL }));
  it.each(["https://example.com/k.git", "ssh://git@example.com/k.git", "git@example.com:k/k.git", "file:///srv/k.git"])("%s is a git URL", (s) => {
    expect(parseSource(s).kind).toBe("git");
  });
  it("tells a git checkout, a plain directory, dir: and a tarball apart", async () => {
    const t = await makeTree(join(tmp, "repo"), { era: "1.20", version: "1.20.15" });
    const plain = await makeTree(join(tmp, "plain"), { era: "1.20", version: "1.20.15", kind: "dir" });
    writeFileSync(join(tmp, "k.tar.gz"), "");
    expect(parseSource(t.root)).toEqual({ kind: "git", url: pathToFileURL(t.root).href, display: t.root });
    expect(parseSource(plain.root)).toEqual({ kind: "directory", path: plain.root });
    expect(parseSource(`dir:${t.root}`)).toEqual({ kind: "directory", path: t.root });
    expect(parseSource(join(tmp, "k.tar.gz"))).toEqual({ kind: "archive", path: join(tmp, "k.tar.gz") });
  });
  it("says what it expected when the path does not exist", () => {
    expect(() => parseSource(join(tmp, "nope"))).toThrow(/expected --source to be a git URL, a directory or a .tar.gz file, found nothing/);
  });
});

describe("git sources", () => {
  let repo: Tree;
  let bare: string;
  beforeEach(async () => {
    repo = await makeTree(join(tmp, "repo"), { era: "1.20", version: "1.20.15", commitTime: 1_600_000_123 });
    // A later commit and tag, so a shallow fetch of the first tag is observable.
    writeFileSync(join(repo.root, "NEWER"), "x\n");
    git(repo.root, ["add", "-A"]);
    git(repo.root, ["commit", "-q", "-m", "newer"]);
    git(repo.root, ["tag", "v1.20.16"]);
    bare = join(tmp, "k.git");
    git(tmp, ["clone", "-q", "--bare", repo.root, bare]);
  });

  it("mirrors a file:// URL, fetching only the tag, shallow, and stages a detached worktree", async () => {
    const url = pathToFileURL(bare).href;
    const s = await stageSource({ kind: "git", url, display: url }, stageOpts(join(tmp, "w1")));
    try {
      expect(s).toMatchObject({ kind: "git", commit: repo.commit, time: 1_600_000_123, timeFrom: "commit", ref: "v1.20.15" });
      expect(existsSync(join(s.tree, "NEWER"))).toBe(false);
      expect(readFileSync(join(s.tree, `${RUNC_FS}/kmem_disabled.go`), "utf8")).toContain("disabled in this runc build");
      const mirror = mirrorPath(join(tmp, "cache"), url);
      expect(git(mirror, ["rev-parse", "--is-shallow-repository"])).toBe("true");
      expect(git(mirror, ["tag", "-l"])).toBe("v1.20.15");
      expect(git(mirror, ["rev-list", "--all", "--count"])).toBe("1");
    } finally {
      await s.cleanup();
    }
    expect(existsSync(join(tmp, "w1"))).toBe(false);
  });

  it("builds a tag already in the mirror without reaching the origin again", async () => {
    const url = pathToFileURL(bare).href;
    await (await stageSource({ kind: "git", url, display: url }, stageOpts(join(tmp, "w1")))).cleanup();
    renameSync(bare, `${bare}.gone`);
    const s = await stageSource({ kind: "git", url, display: url }, stageOpts(join(tmp, "w2")));
    expect(s.commit).toBe(repo.commit);
    await s.cleanup();
  });

  it("fails with the ref it looked for when the tag does not exist", async () => {
    const url = pathToFileURL(bare).href;
    await expect(stageSource({ kind: "git", url, display: url }, stageOpts(join(tmp, "w"), { ref: "v9.9.9" }))).rejects.toMatchObject({
      code: "E_REF_MISSING",
      exitCode: 2,
    });
  });

  it("fails as an environment problem when the URL cannot be reached", async () => {
    const url = pathToFileURL(join(tmp, "missing.git")).href;
    await expect(stageSource({ kind: "git", url, display: url }, stageOpts(join(tmp, "w")))).rejects.toMatchObject({ code: "E_GIT_FETCH", exitCode: 3 });
  });

  it("stages from a local repository without changing it", async () => {
    const before = await digestTree(repo.root);
    const headBefore = git(repo.root, ["rev-parse", "HEAD"]);
    const s = await stageSource(parseSource(repo.root), stageOpts(join(tmp, "w")));
    expect(s.commit).toBe(repo.commit);
    await s.cleanup();
    expect((await digestTree(repo.root)).digest).toBe(before.digest);
    expect(git(repo.root, ["rev-parse", "HEAD"])).toBe(headBefore);
    expect(git(repo.root, ["worktree", "list"]).split("\n")).toHaveLength(1);
    expect(git(repo.root, ["status", "--porcelain"])).toBe("");
  });

  it("gives a git checkout and a directory of the same tag the same tree digest; a git-archive tarball differs only by export-subst", async () => {
    const url = pathToFileURL(bare).href;
    const fromGit = await stageSource({ kind: "git", url, display: url }, stageOpts(join(tmp, "g")));
    const plain = join(tmp, "plain");
    git(tmp, ["clone", "-q", "--branch", "v1.20.15", bare, plain]);
    const fromDir = await stageSource({ kind: "directory", path: plain }, stageOpts(join(tmp, "d")));
    const tarball = makeGitArchive(repo, join(tmp, "k.tar.gz"));
    git(repo.root, ["checkout", "-q", "v1.20.15"]);
    const fromTar = await stageSource({ kind: "archive", path: tarball }, stageOpts(join(tmp, "t")));
    expect(fromDir.digest.digest).toBe(fromGit.digest.digest);
    // hack/lib/version.sh is export-subst (as upstream): `git archive` bakes the commit and tag into it.
    expect(fromTar.digest.digest).not.toBe(fromGit.digest.digest);
    expect(readFileSync(join(fromTar.tree, "hack/lib/version.sh"), "utf8")).toContain(`KUBE_GIT_COMMIT='${repo.commit}'`);
    expect(readFileSync(join(fromTar.tree, "Makefile"), "utf8")).toBe(readFileSync(join(fromGit.tree, "Makefile"), "utf8"));
    expect(fromTar).toMatchObject({ kind: "archive", commit: repo.commit, time: 1_600_000_123, timeFrom: "archive" });
    expect(fromTar.tree).toBe(join(tmp, "t", "kubernetes-1.20.15"));
    // The manifest's source digest for an archive is the file's own sha256; a clone's dirHash cannot match the archive's tree.
    expect(fromTar.archiveSha256).toBe(createHash("sha256").update(readFileSync(tarball)).digest("hex"));
    expect(fromTar.digest.dirHash).not.toBe(fromGit.digest.dirHash);
    expect([fromGit.archiveSha256, fromDir.archiveSha256]).toEqual([null, null]);
    for (const s of [fromGit, fromDir, fromTar]) await s.cleanup();
  });
});

describe("directory staging", () => {
  it("hard-links vendor/ but copies the files the strategy rewrites and everything else, leaving the user's tree unchanged", async () => {
    const t = await makeTree(join(tmp, "user"), { era: "1.20", version: "1.20.15", kind: "dir" });
    mkdirSync(join(t.root, "_output/local"), { recursive: true });
    writeFileSync(join(t.root, "_output/local/old-build"), "stale");
    const before = await digestTree(t.root);
    const mtime = Math.floor(statSync(join(t.root, "Makefile")).mtimeMs);
    const s = await stageSource({ kind: "directory", path: t.root }, stageOpts(join(tmp, "w")));
    expect(s.staging.method).toBe("link");
    expect(s.staging.linked).toBeGreaterThanOrEqual(4); // vendor/ but the kmem.go the strategy rewrites
    const staged = (rel: string) => statSync(join(s.tree, rel));
    expect(staged(`${RUNC_FS}/kmem_disabled.go`).ino).toBe(statSync(join(t.root, `${RUNC_FS}/kmem_disabled.go`)).ino);
    expect(staged(`${RUNC_FS}/kmem.go`).ino).not.toBe(statSync(join(t.root, `${RUNC_FS}/kmem.go`)).ino);
    expect(staged("Makefile").ino).not.toBe(statSync(join(t.root, "Makefile")).ino);
    expect(Math.floor(staged("Makefile").mtimeMs)).toBe(mtime);
    expect(staged("hack/make-rules/build.sh").mode & 0o111).not.toBe(0);
    expect(existsSync(join(s.tree, "_output"))).toBe(false);
    expect(s.digest.digest).toBe(before.digest);

    // What the build and the patch step do to the staged copy:
    writeFileSync(join(s.tree, "Makefile"), "changed\n");
    writeFileSync(join(s.tree, `${RUNC_FS}/kmem.go`), "patched\n");
    const linked = join(s.tree, `${RUNC_FS}/kmem_disabled.go`);
    expect(await breakLink(linked)).toBe(true);
    expect(await breakLink(linked)).toBe(false);
    writeFileSync(linked, "patched too\n");

    expect((await digestTree(t.root)).digest).toBe(before.digest);
    expect(Math.floor(statSync(join(t.root, "Makefile")).mtimeMs)).toBe(mtime);
    await s.cleanup();
    expect(existsSync(join(tmp, "w"))).toBe(false);
  });

  it("copies everything with --stage copy", async () => {
    const t = await makeTree(join(tmp, "user"), { era: "1.20", version: "1.20.15", kind: "dir" });
    const s = await stageSource({ kind: "directory", path: t.root }, stageOpts(join(tmp, "w"), { linkMode: "copy" }));
    expect(s.staging).toMatchObject({ method: "copy", linked: 0 });
    await s.cleanup();
  });

  it.each([
    ["vendor/a/b.go", "auto", true],
    ["pkg/a.go", "auto", false],
    [`${RUNC_FS}/kmem.go`, "auto", false],
    ["pkg/a.go", "link", true],
    ["vendor/a/b.go", "copy", false],
  ] as const)("shouldLink(%s, %s) = %s", (rel, mode, want) => {
    expect(shouldLink(rel, mode, new Set([`${RUNC_FS}/kmem.go`]))).toBe(want);
  });
});

describe("tarballs", () => {
  it("reads a git archive's commit from the pax header", () => {
    const header = Buffer.alloc(1024);
    header.write("pax_global_header", 0);
    header.write("00000000064\0", 124);
    header.write("13753642360\0", 136);
    header.write("g", 156);
    header.write("52 comment=0123456789abcdef0123456789abcdef01234567\n", 512);
    expect(parseTarHead(header)).toEqual({ commit: "0123456789abcdef0123456789abcdef01234567", mtime: 0o13753642360 });
  });

  it("stages a plain tar.gz without a commit, dated by its first entry", async () => {
    const t = await makeTree(join(tmp, "k"), { era: "1.20", version: "1.20.15", kind: "dir" });
    const file = join(tmp, "k.tgz");
    const { execFileSync } = await import("node:child_process");
    execFileSync("tar", ["-czf", file, "-C", tmp, "k"]);
    const s = await stageSource({ kind: "archive", path: file }, stageOpts(join(tmp, "w")));
    expect(s).toMatchObject({ kind: "archive", commit: null, tree: join(tmp, "w", "k") });
    expect(s.digest.digest).toBe((await digestTree(t.root)).digest);
    await s.cleanup();
  });

  it("says a file that is not gzip is not a tarball", async () => {
    writeFileSync(join(tmp, "bad.tar.gz"), "not gzip at all");
    await expect(stageSource({ kind: "archive", path: join(tmp, "bad.tar.gz") }, stageOpts(join(tmp, "w")))).rejects.toMatchObject({ code: "E_ARCHIVE" });
  });
});
