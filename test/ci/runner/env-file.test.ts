import { describe, expect, it } from "vitest";
import { EnvFileError, parseEnvFile, parsePathFile } from "./env-file.js";

describe("environment files, by the runner's rules", () => {
  it.each([
    ["name=value\n", { name: "value" }],
    ["a=1\nb=x=y\n", { a: "1", b: "x=y" }],
    ['matrix={"include":[{"v":"1"}]}\n', { matrix: '{"include":[{"v":"1"}]}' }],
    ["empty=\n\n", { empty: "" }],
    ["a=1\na=2\n", { a: "2" }],
    ["body<<EOF\nline 1\nline 2\nEOF\n", { body: "line 1\nline 2" }],
    ["body<<EOF\nEOF\n", { body: "" }],
    ["eq<<EOF\nx=y\nEOF\nafter=1", { eq: "x=y", after: "1" }],
    ["a=b<<c\n", { a: "b<<c" }],
  ])("reads %j", (text, expected) => {
    expect(parseEnvFile(text)).toEqual(expected);
  });

  it.each([
    ['{"include":[]}\n', /Invalid format/],
    ["=value\n", /Name must not be empty/],
    ["body<<EOF\nno end\n", /Matching delimiter not found 'EOF'/],
    ["<<EOF\nx\nEOF\n", /must not be empty/],
  ])("refuses %j, failing the step", (text, msg) => {
    expect(() => parseEnvFile(text)).toThrow(EnvFileError);
    expect(() => parseEnvFile(text)).toThrow(msg);
  });

  it("GITHUB_PATH takes every non-empty line", () => {
    expect(parsePathFile("/a\n\n/b\n")).toEqual(["/a", "/b"]);
  });
});
