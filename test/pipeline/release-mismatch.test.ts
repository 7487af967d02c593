/**
 * A build is labelled with --version: the kubelet's stamp, SHA256SUMS and the
 * provenance all name it. So the staged tree must be that release. From each
 * kind of source (a git ref, a directory, a tarball) whose release differs
 * from --version, `build` ends with exit 6 before make runs.
 *
 * The real CLI runs with `--runner local` and a PATH whose `go` and `make` are
 * recording stand-ins: `make` leaves a file behind when it runs, so its
 * absence proves the build stopped before make. The control (a source of the
 * release asked for) shows the stand-in does record: there make runs, and its
 * failure ends the build with exit 8.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "../helpers/cli.js";
import { makeGitArchive, makeTree, type Tree } from "../fixtures/k8s-tree.js";

let tmp: string;
let bin: string;
let git: Tree;
const MADE = () => join(tmp, "make-ran");

beforeAll(async () => {
  // One folder for the whole file: the stand-ins and the git source serve every test.
  tmp = mkdtempSync(join(tmpdir(), "kn-release-"));
  bin = join(tmp, "bin");
  mkdirSync(bin);
  writeFileSync(join(bin, "go"), "#!/bin/sh\necho 'go version go1.19.8 linux/amd64'\n");
  writeFileSync(join(bin, "make"), `#!/bin/sh\necho "$@" >> '${MADE()}'\necho 'make: stand-in fails' >&2\nexit 2\n`);
  for (const f of ["go", "make"]) chmodSync(join(bin, f), 0o755);
  git = await makeTree(join(tmp, "git"), { era: "1.20", version: "1.20.2" });
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The error: one line, the last on stderr (progress lines come before it). */
function errorLine(stderr: string): string {
  const errors = stderr.split("\n").filter((l) => l.startsWith("kubelet-nokmem: "));
  expect(errors, stderr).toHaveLength(1);
  expect(stderr.trimEnd().endsWith(errors[0]!), stderr).toBe(true);
  return errors[0]!;
}

function build(version: string, source: string[], name: string) {
  const args = [
    "build",
    "--version",
    version,
    ...source,
    "--runner",
    "local",
    "--cache-dir",
    join(tmp, `cache-${name}`),
    "--out",
    join(tmp, `out-${name}`),
    "--json",
  ];
  return cli(args, { PATH: `${bin}:${process.env.PATH ?? ""}` });
}

describe("build --version 1.20.3 from a source of 1.20.2", () => {
  const sources: [string, () => Promise<{ args: string[]; shown: string; says: string }>][] = [
    ["a git ref", async () => ({ args: ["--source", git.root, "--ref", "v1.20.2"], shown: `${git.root} at v1.20.2`, says: "git describe" })],
    [
      "a directory (an extracted git archive export)",
      async () => {
        const dir = await makeTree(join(tmp, "dir"), { era: "1.20", version: "1.20.2", kind: "archive" });
        return { args: ["--source", dir.root], shown: dir.root, says: "the git archive stamp in hack/lib/version.sh" };
      },
    ],
    [
      "a tarball (git archive)",
      async () => {
        const file = makeGitArchive(git, join(tmp, "kubernetes-1.20.2.tar.gz"));
        return { args: ["--source", file], shown: file, says: "the git archive stamp in hack/lib/version.sh" };
      },
    ],
  ];

  it.each(sources)("from %s: exit 6, one line naming both releases, make never ran", async (name, source) => {
    const s = await source();
    const r = build("1.20.3", s.args, name.replace(/\W+/g, "-"));
    expect(r.code, r.stderr).toBe(6);
    expect(errorLine(r.stderr)).toBe(
      `kubelet-nokmem: expected ${s.shown} to be v1.20.3 (--version), found v1.20.2 (${s.says}); nothing was built (fix: pass --version 1.20.2 to build the release the source is, or a source of v1.20.3)`,
    );
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: "E_TREE_RELEASE" } });
    expect(existsSync(MADE()), "make ran").toBe(false);
  });

  it("the control: from the release asked for, make runs (and the stand-in's failure is exit 8)", () => {
    const r = build("1.20.2", ["--source", git.root], "control");
    expect(r.code, r.stderr).toBe(8);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: "E_MAKE" } });
    expect(existsSync(MADE()), "make ran").toBe(true);
  });
});
