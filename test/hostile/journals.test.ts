/**
 * Hostile journals, run through the real CLI: a source tree shipping a patch
 * crash journal, an out dir shipping a publish journal beside symlinks. Every
 * case asserts the exit code, one line of error, and that nothing outside the
 * target changed (the parent folder, victim included, compared before and
 * after); read-only commands must not change the target either.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Publication } from "../../src/artifact/publish.js";
import { makeTree } from "../fixtures/k8s-tree.js";
import { cli, oneLineError, ROOT } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { fakeKubelet, writeOutDir } from "../pin/outdir-fixture.js";
import { OUT_CASES, PATCH_MODES, plantVictim, snapshotTree, TREE_CASES } from "./inputs.js";

const EXIT: Record<string, number> = {
  E_JOURNAL_INVALID: 6,
  E_JOURNAL_PENDING: 6,
  E_STATE_DIR: 6,
  E_VERSION_FILE_ESCAPE: 6,
  E_PUBLISH_UNFINISHED: 4,
  E_PUBLISH_JOURNAL: 4,
  E_PUBLISH_ESCAPE: 4,
};

/** The error document `--json` prints for a failed run. */
const errorCode = (stdout: string): string | undefined => (stdout.trim() ? (JSON.parse(stdout) as { error?: { code: string } }).error?.code : undefined);

describe("a source tree shipping a hostile .kubelet-nokmem/ or _output", () => {
  describe.each(TREE_CASES)("$name", (c) => {
    it.each(PATCH_MODES)("patch %s: the expected end, one line, nothing outside the tree changed", async (mode) => {
      const parent = tempDir("kn-hostile-tree-");
      const victim = plantVictim(parent);
      const tree = await makeTree(join(parent, "tree"), { era: "1.16" });
      c.plant(tree.root, victim);
      const outside = snapshotTree(parent, tree.root);
      const r = cli(["patch", tree.root, ...(mode === "write" ? [] : [mode]), "--json"]);
      const want = c.expect[mode];
      if (want === null) {
        expect(r.code, r.stderr).toBe(0);
      } else {
        expect(errorCode(r.stdout), r.stderr).toBe(want);
        expect(r.code).toBe(EXIT[want]);
        expect(oneLineError(r)).toMatch(/^kubelet-nokmem: expected .*\(fix: .+\)$/);
      }
      expect(snapshotTree(parent, tree.root)).toEqual(outside);
    });
  });

  it("reproduction from the report: `patch TREE --check` with a journal entry ../escaped writes nothing and says why", async () => {
    const parent = tempDir("kn-hostile-repro-");
    const tree = await makeTree(join(parent, "tree"), { era: "1.16" });
    TREE_CASES[0]!.plant(tree.root, plantVictim(parent));
    const before = snapshotTree(parent);
    const r = cli(["patch", tree.root, "--check"]);
    expect(r.code).toBe(6);
    expect(oneLineError(r)).toContain("../escaped, which climbs out with ..; it was not followed and nothing was changed");
    expect(snapshotTree(parent)).toEqual(before);
  });
});

describe("an out dir shipping a hostile .publish-journal.json", () => {
  function plantedOut(c: (typeof OUT_CASES)[number]) {
    const parent = tempDir("kn-hostile-out-");
    const victim = plantVictim(parent);
    const out = join(parent, "out");
    writeOutDir(out, "1.16.15", { "linux/amd64": fakeKubelet("1.16.15") });
    c.plant(out, victim);
    return { parent, out };
  }

  describe.each(OUT_CASES)("$name", (c) => {
    it.each([
      ["verify", (out: string) => ["verify", out, "--json"]],
      ["audit --manifest", (out: string) => ["audit", join(out, "linux/amd64/kubelet"), "--manifest", out, "--json"]],
      ["pin", (out: string, catalog: string) => ["pin", out, "--catalog", catalog, "--json"]],
    ] as const)("%s refuses it, changes nothing at all (out dir included)", (_n, args) => {
      const { parent, out } = plantedOut(c);
      const catalog = join(parent, "versions.json");
      copyFileSync(join(ROOT, "versions.json"), catalog);
      const everything = snapshotTree(parent);
      const r = cli(args(out, catalog));
      expect(errorCode(r.stdout), r.stderr).toBe(c.readerCode);
      expect(r.code).toBe(EXIT[c.readerCode]);
      expect(oneLineError(r)).toMatch(/^kubelet-nokmem: expected .*\(fix: .+\)$/);
      expect(snapshotTree(parent)).toEqual(everything);
    });

    it("the next build into it never acts outside it", async () => {
      const { parent, out } = plantedOut(c);
      const outside = snapshotTree(parent, out);
      let err: unknown = null;
      try {
        await (await Publication.begin(out)).abandon();
      } catch (e) {
        err = e;
      }
      if (c.writerCode) expect(err).toMatchObject({ code: c.writerCode, exitCode: EXIT[c.writerCode] });
      else expect(err).toBeNull();
      expect(snapshotTree(parent, out)).toEqual(outside);
    });
  });
});

describe("the out dir's own names", () => {
  it("a publication whose kubelet folder is a symlink out is refused before anything is renamed", async () => {
    const parent = tempDir("kn-hostile-pub-");
    const victim = plantVictim(parent);
    const out = join(parent, "out");
    mkdirSync(out);
    const { symlinkSync, writeFileSync } = await import("node:fs");
    symlinkSync(victim, join(out, "linux"));
    const outside = snapshotTree(parent, out);
    const pub = await Publication.begin(out);
    writeFileSync(await pub.stagedPath("linux/amd64/kubelet"), "new kubelet\n");
    writeFileSync(await pub.stagedPath("SHA256SUMS"), "");
    await expect(pub.commit(["linux/amd64/kubelet", "SHA256SUMS"])).rejects.toMatchObject({ code: "E_PUBLISH_ESCAPE" });
    await pub.abandon();
    expect(snapshotTree(parent, out)).toEqual(outside);
  });
});
