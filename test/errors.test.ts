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
} from "../src/errors.js";

// Each kind's class; internal errors are made only by asToolError.
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
  it.each(Object.entries(ERROR_CODES).filter(([, kind]) => kind !== "internal"))("%s ends as %s, with that kind's exit code", (code, kind) => {
    const Cls = CLASSES[kind as keyof typeof CLASSES] as new (code: string, message: string) => { kind: string; exitCode: number; code: string };
    const e = new Cls(code, "expected x, found y");
    expect(e.kind).toBe(kind);
    expect(e.exitCode).toBe(ExitCode[kind]);
  });

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

  it("anything else thrown becomes the one internal error, exit 70", () => {
    const e = asToolError(new Error("boom"));
    expect([e.code, e.kind, e.exitCode]).toEqual(["E_INTERNAL", "internal", 70]);
  });
});
