import { describe, expect, it } from "vitest";
import { checkVersionStamp } from "../../src/pipeline/steps.js";

const bin = (...parts: string[]) => Buffer.from(`\x7fELF junk ${parts.join(" junk ")} junk`);

describe("checkVersionStamp", () => {
  it.each([
    [bin("v1.16.15"), true],
    [bin("v1.16.15-dirty"), false],
    [bin("v1.16.150"), false],
    [bin("v1.16.150", "v1.16.15"), true],
    [bin("v1.16.1"), false],
  ])("%#", (bytes, ok) => expect(checkVersionStamp(bytes, "v1.16.15").ok).toBe(ok));
});
