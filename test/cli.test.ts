import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { COMMANDS, commandsFor } from "../src/commands/index.js";
import type { CommandContext } from "../src/commands/context.js";
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

describe("each run loads only the command it runs", () => {
  const ctx = {} as CommandContext;

  it("every entry of the command table loads the module of the command it names, in --help order", async () => {
    const program = new Command();
    for (const c of COMMANDS) (await c.load()).register(program, ctx);
    expect(program.commands.map((c) => c.name())).toEqual(COMMANDS.map((c) => c.name));
  });

  it.each([
    [["--version"], []],
    [["-V"], []],
    [["--catalog", "x.json", "audit", "/usr/bin/kubelet"], ["audit"]],
    [["-v", "doctor", "--json"], ["doctor"]],
    [["image", "build", "--help"], ["image"]],
    [["--help"], COMMANDS.map((c) => c.name)],
    [[], COMMANDS.map((c) => c.name)],
    [["no-such-command"], COMMANDS.map((c) => c.name)],
  ])("%j loads %j", async (argv, names) => {
    const program = new Command();
    for (const m of await commandsFor(argv)) m.register(program, ctx);
    expect(program.commands.map((c) => c.name())).toEqual(names);
  });

  it("--version alone, answered before commander loads, prints what commander prints", () => {
    const fast = cli(["--version"]);
    const viaCommander = cli(["--verbose", "--version"]);
    expect(fast).toMatchObject({ code: 0, stderr: "" });
    expect(fast.stdout).toBe(viaCommander.stdout);
  });
});
