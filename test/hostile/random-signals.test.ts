/**
 * SIGINT and SIGTERM at random points of `patch`, not only at the pauses the
 * other signal tests choose. Whatever the moment, the run ends (by its own
 * 130/143 with one line, by 0 when it had finished, or by the signal itself
 * before its handlers were installed), and the tree is never left in a state
 * the tool cannot finish: the next `patch` gives, byte for byte, the tree an
 * uninterrupted patch gives, and `patch --revert` then restores the original.
 * The delays are drawn between the start-up of a run that does nothing
 * (`--version`) and the length of an uninterrupted patch, both measured here,
 * so that most signals land while the tree is being read or written; the
 * generator is seeded and the seed is in the test's name. No assertion rests
 * on a time: every outcome a moment can give is one the test accepts, and each
 * is checked by what it leaves behind.
 */
import { rmSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeTree, type Era } from "../fixtures/k8s-tree.js";
import { mulberry32 } from "../helpers/random.js";
import { tempDir } from "../helpers/tmp.js";
import { cli, ended, ensureBuilt, snapshot, start } from "./hangs-harness.js";

beforeAll(ensureBuilt, 180_000);

const SEED = Number(process.env.KUBELET_NOKMEM_SIGNAL_SEED ?? 20261201);
const RUNS = 8;
const EXIT: Record<"SIGINT" | "SIGTERM", number> = { SIGINT: 130, SIGTERM: 143 };

describe.each([
  ["1.13", "vendor-stub"],
  ["1.16", "kmem-override"],
] as [Era, string][])(`patch of a %s tree (%s), signalled at random moments (seed ${SEED})`, (era) => {
  let original: Record<string, string>;
  let patched: Record<string, string>;
  /** How long a run that does nothing and an uninterrupted patch take here: the range the delays are drawn from. */
  let startup = 0;
  let span = 0;
  /** One place for every run's tree: what the tool records names the tree's path. */
  const at = join(tempDir(), "k");
  const fresh = async () => {
    rmSync(at, { recursive: true, force: true });
    return makeTree(at, { era, kind: "dir" });
  };

  beforeAll(async () => {
    const tree = await fresh();
    original = snapshot(tree.root);
    const t0 = performance.now();
    cli(["--version"]);
    const t1 = performance.now();
    const r = cli(["patch", tree.root, "--version", tree.version]);
    span = performance.now() - t1;
    startup = t1 - t0;
    expect(r.code, r.stderr).toBe(0);
    patched = snapshot(tree.root);
    expect(patched).not.toEqual(original);
  }, 60_000);

  const random = mulberry32(SEED + Number(era.replace(".", "")));
  const cases = Array.from({ length: RUNS }, (_, i) => ({ i, fraction: random(), signal: random() < 0.5 ? ("SIGINT" as const) : ("SIGTERM" as const) }));

  it.each(cases)(
    "run $i: $signal after start-up and $fraction of the rest of a patch's time",
    async ({ fraction, signal }) => {
      const tree = await fresh();
      expect(snapshot(tree.root)).toEqual(original);
      const r = start(["patch", tree.root, "--version", tree.version]);
      await new Promise((res) => setTimeout(res, startup + fraction * Math.max(0, span - startup)));
      r.child.kill(signal);
      const result = await ended(r);

      if (result.signal !== null) expect(result.signal, "killed before the handlers were installed").toBe(signal);
      else expect([0, EXIT[signal]], r.stderr()).toContain(result.code);
      if (result.code === EXIT[signal]) {
        const lines = r
          .stderr()
          .split("\n")
          .filter((l) => l.startsWith("kubelet-nokmem: "));
        expect(lines, r.stderr()).toHaveLength(1);
        expect(lines[0]).toMatch(new RegExp(signal));
      }

      const again = cli(["patch", tree.root, "--version", tree.version]);
      expect(again.code, again.stderr).toBe(0);
      expect(snapshot(tree.root)).toEqual(patched);
      const revert = cli(["patch", "--revert", tree.root, "--version", tree.version]);
      expect(revert.code, revert.stderr).toBe(0);
      expect(snapshot(tree.root)).toEqual(original);
    },
    60_000,
  );
});
