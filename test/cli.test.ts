import { describe, expect, it } from "vitest";
import { cli, oneLineError } from "./helpers/cli.js";

describe("usage errors from argument parsing", () => {
  it.each([
    [["build"], /required option '--version/],
    [["audit"], /missing required argument 'path'/],
    [["no-such-command"], /unknown command 'no-such-command'/],
    [["nosuch", "--help"], /^kubelet-nokmem: unknown command 'nosuch'/],
    [["help", "nosuch"], /^kubelet-nokmem: unknown command 'nosuch'/],
    [["--catalog", "versions.json", "nosuch", "-h"], /^kubelet-nokmem: unknown command 'nosuch'/],
    [["resolve", "1.16", "--no-such-flag"], /unknown option '--no-such-flag'/],
  ])("%j: one line, exit 2", (args, message) => {
    const r = cli(args);
    expect(r.code).toBe(2);
    expect(oneLineError(r)).toMatch(message);
  });

  it("help for a command that exists is still help, exit 0", () => {
    for (const args of [["resolve", "--help"], ["help", "resolve"], ["--help"]]) {
      const r = cli(args);
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.stdout).toMatch(/^Usage: kubelet-nokmem/);
    }
  });

  it("--version before a command is the tool's; after it, the command's", () => {
    expect(cli(["--version"]).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(JSON.parse(cli(["resolve", "--json", "1.16.15"]).stdout).version).toBe("1.16.15");
    expect(cli(["inspect", "/nonexistent", "--version", "1.16.15"]).code).toBe(6);
  });
});
