import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  BuildError,
  BusyError,
  CatalogError,
  ERROR_CODES,
  EnvironmentError,
  ExitCode,
  InterruptedError,
  PatchError,
  TreeError,
  UnpinnedError,
  UsageError,
  VerificationError,
  asToolError,
  errnoToolError,
  interruption,
} from "../src/errors.js";

// Each kind's class; internal errors are made only by asToolError, terminated ones only by interruption().
const CLASSES = {
  usage: UsageError,
  environment: EnvironmentError,
  verification: VerificationError,
  catalog: CatalogError,
  tree: TreeError,
  patch: PatchError,
  build: BuildError,
  busy: BusyError,
  unpinned: UnpinnedError,
  interrupted: InterruptedError,
} as const;

describe("the error-code table", () => {
  it.each(Object.entries(ERROR_CODES).filter(([, kind]) => kind !== "internal" && kind !== "terminated"))(
    "%s ends as %s, with that kind's exit code",
    (code, kind) => {
      const Cls = CLASSES[kind as keyof typeof CLASSES] as new (code: string, message: string) => { kind: string; exitCode: number; code: string };
      const e = new Cls(code, "expected x, found y");
      expect(e.kind).toBe(kind);
      expect(e.exitCode).toBe(ExitCode[kind]);
    },
  );

  it("the version-needed and version-line codes are usage errors (exit 2) wherever they are raised", () => {
    expect(ERROR_CODES.E_VERSION_NEEDED).toBe("usage");
    expect(ERROR_CODES.E_VERSION_LINE).toBe("usage");
  });

  it("a class accepts only its own kind's codes (tsc checks this file in `npm run lint`)", () => {
    const wrongKind = () =>
      // @ts-expect-error E_VERSION_NEEDED is a usage code, so PatchError refuses it
      new PatchError("E_VERSION_NEEDED", "expected a release, found a line");
    expect(wrongKind).toBeTypeOf("function");
  });

  it("a signal ends as E_INTERRUPTED (130) or E_TERMINATED (143), both in the table", () => {
    for (const [signal, code, exit] of [
      ["SIGINT", "E_INTERRUPTED", 130],
      ["SIGTERM", "E_TERMINATED", 143],
    ] as const) {
      const e = interruption(signal);
      expect([e.code, e.exitCode]).toEqual([code, exit]);
      expect(ExitCode[ERROR_CODES[code]]).toBe(exit);
    }
  });

  it.each([
    ["EACCES", 3],
    ["EPERM", 3],
    ["ENOSPC", 3],
    ["EDQUOT", 3],
    ["EROFS", 3],
    ["EEXIST", 2],
    ["ELOOP", 2],
    ["ENOTDIR", 2],
    ["EISDIR", 2],
    ["ENAMETOOLONG", 2],
  ])("an errno %s becomes the registered E_%s code, exit %i", (errno, exit) => {
    const e = asToolError(Object.assign(new Error(`${errno}: at /x`), { code: errno, syscall: "open", path: "/x" }));
    expect(e.code).toBe(`E_${errno}`);
    expect(e.exitCode).toBe(exit);
    expect(ExitCode[ERROR_CODES[e.code]]).toBe(exit);
    expect(errnoToolError(new Error("no code"))).toBeNull();
  });

  it("anything else thrown becomes the one internal error, exit 70", () => {
    const e = asToolError(new Error("boom"));
    expect([e.code, e.kind, e.exitCode]).toEqual(["E_INTERNAL", "internal", 70]);
  });
});

describe("the docs give each error code the exit code src/errors.ts gives it", () => {
  const docsDir = join(dirname(fileURLToPath(import.meta.url)), "..", "docs");
  // "(`E_X`, exit N)" and "exit N (`E_X`": how the pages name a code with its exit code.
  const pairs = readdirSync(docsDir)
    .filter((f) => f.endsWith(".md"))
    .flatMap((f) => {
      const text = readFileSync(join(docsDir, f), "utf8").replace(/\s+/g, " ");
      const a = [...text.matchAll(/`(E_[A-Z0-9_]+)`[^()`]{0,40}?, exit (\d+)/g)].map((m) => [f, m[1]!, Number(m[2])] as const);
      const b = [...text.matchAll(/exit (\d+) \(`(E_[A-Z0-9_]+)`/g)].map((m) => [f, m[2]!, Number(m[1])] as const);
      return [...a, ...b];
    });

  it("finds the pairs (docs/patch.md's drift and layout codes among them)", () => {
    expect(pairs.filter(([f]) => f === "patch.md").map(([, c]) => c)).toEqual(expect.arrayContaining(["E_PATCH_DRIFT", "E_TREE_KMEM_LAYOUT", "E_TREE_LAYOUT"]));
  });

  it("every pair agrees with ERROR_CODES", () => {
    const wrong = pairs.filter(([, code, exit]) => !(code in ERROR_CODES) || ExitCode[ERROR_CODES[code as keyof typeof ERROR_CODES]] !== exit);
    expect(wrong).toEqual([]);
  });
});

describe("a copy that runs out of space names where it writes", () => {
  it.each(["ENOSPC", "EDQUOT", "EROFS"])("%s on copyfile names the destination", (code) => {
    const err = Object.assign(new Error(`${code}: copyfile '/src/a' -> '/full/b'`), { code, syscall: "copyfile", path: "/src/a", dest: "/full/b" });
    const e = errnoToolError(err)!;
    expect(e.message).toContain("/full/b");
    expect(e.message).not.toContain("/src/a");
  });
});
