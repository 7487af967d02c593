/**
 * Round-trip properties: random edits to generated tree files → a unified
 * diff → the engine applies it → the engine reverses it → the original
 * bytes. A small seeded generator (mulberry32) instead of a property-testing
 * library: the cases are reproducible from the seed printed on failure, and
 * the shrinking a library would add matters little for line edits.
 */
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createTwoFilesPatch, FILE_HEADERS_ONLY, parsePatch } from "diff";
import { describe, expect, it } from "vitest";
import { carry, type HunksChange } from "../../src/patch/changes.js";
import { runPatch } from "../../src/patch/engine.js";
import { ERAS, makeTree, treeFiles } from "../fixtures/k8s-tree.js";
import { mulberry32 } from "../helpers/random.js";
import { tempDir } from "../helpers/tmp.js";
import { resolution, snapshot } from "./helpers.js";

const WORDS = ["\treturn nil", "}", "", "// note", "\tif err != nil {", "x := 1", "package fs", '\t"os"', 'KUBE_GIT_TREE_STATE="dirty"', "\t\treturn err"];

/** 1–6 random line edits: insert, delete, replace, duplicate; sometimes drop or add the final newline. */
function randomEdit(text: string, rnd: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const lines = text.split("\n");
  const edits = 1 + Math.floor(rnd() * 6);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rnd() * (lines.length + 1));
    switch (Math.floor(rnd() * 4)) {
      case 0:
        lines.splice(at, 0, pick(WORDS));
        break;
      case 1:
        if (lines.length > 1) lines.splice(Math.min(at, lines.length - 1), 1);
        break;
      case 2:
        lines[Math.min(at, lines.length - 1)] = `${pick(WORDS)} ${Math.floor(rnd() * 100)}`;
        break;
      default:
        lines.splice(at, 0, ...lines.slice(at, at + 3));
    }
  }
  let out = lines.join("\n");
  const r = rnd();
  if (r < 0.1) out = out.replace(/\n$/, "");
  else if (r < 0.2 && !out.endsWith("\n")) out += "\n";
  return out;
}

const corpus = ERAS.flatMap((era) => Object.entries(treeFiles({ era, memoryGoVariant: 1 }).files)).filter(([, t]) => t.length > 0);

function hunksChange(path: string, before: string, after: string): HunksChange {
  const diff = parsePatch(createTwoFilesPatch(`a/${path}`, `b/${path}`, before, after, undefined, undefined, { headerOptions: FILE_HEADERS_ONLY }))[0]!;
  return { kind: "hunks", patch: "random.patch", path, diff, creates: false, deletes: false };
}

describe("round trip through diff text", () => {
  it.each(Array.from({ length: 25 }, (_, i) => 1000 + i))("seed %i: 20 random edits apply and reverse to the original bytes", (seed) => {
    const rnd = mulberry32(seed);
    for (let n = 0; n < 20; n++) {
      const [path, before] = corpus[Math.floor(rnd() * corpus.length)]!;
      const after = randomEdit(before, rnd);
      if (after === before) continue;
      const change = hunksChange(path, before, after);
      const fwd = carry(change, before, "forward", { fuzz: 0 });
      expect(fwd, `seed ${seed} case ${n} ${path}`).toEqual({ ok: true, content: after });
      const back = carry(change, after, "backward", { fuzz: 0 });
      expect(back, `seed ${seed} case ${n} ${path}`).toEqual({ ok: true, content: before });
    }
  });
});

it("round trip on disk: a random multi-file series applies all together and reverts byte for byte", async () => {
  const rnd = mulberry32(7);
  for (let round = 0; round < 4; round++) {
    const tree = await makeTree(join(tempDir(), "k"), { era: "1.16", kind: "dir" });
    const original = snapshot(tree.root);
    const patches = join(tempDir(), "patches");
    const dir = join(patches, "kmem-override/1.16");
    mkdirSync(dir, { recursive: true });
    const targets = ["README.md", "Makefile", "hack/lib/golang.sh", "cmd/kubelet/kubelet.go", "go.mod"];
    const names: string[] = [];
    const edited: Record<string, string> = {};
    for (const [i, path] of targets.entries()) {
      const before = readFileSync(join(tree.root, path), "utf8");
      const after = randomEdit(before, rnd);
      edited[path] = after;
      const name = `000${i + 1}-random.patch`;
      writeFileSync(
        join(dir, name),
        `Subject: random edit ${i + 1}\n\n${createTwoFilesPatch(`a/${path}`, `b/${path}`, before, after, undefined, undefined, { headerOptions: FILE_HEADERS_ONLY })}`,
      );
      names.push(name);
    }
    writeFileSync(join(dir, "series"), `${names.join("\n")}\n`);
    const opts = { patchesRoot: patches, versionFile: join(tempDir(), "v") };
    const out = await runPatch(tree.root, resolution("1.16.15"), opts);
    expect(out.applied).toBe(true);
    for (const path of targets) expect(readFileSync(join(tree.root, path), "utf8")).toBe(edited[path]);
    const again = await runPatch(tree.root, resolution("1.16.15"), opts);
    expect(again.alreadyApplied).toBe(true);
    await runPatch(tree.root, resolution("1.16.15"), { ...opts, operation: "revert" });
    expect(snapshot(tree.root)).toEqual(original);
  }
});
