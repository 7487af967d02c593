/** `build --package`: the plan's last step packages the published folder; without the flag the plan has no such step. */
import { describe, expect, it } from "vitest";
import { cli, oneLineError } from "../helpers/cli.js";

const lastStep = (args: string[]) => {
  // --gpg-key is read before the plan is made: the variable holds a stand-in key text.
  const r = cli(["build", "--version", "1.20.2", "--dry-run", "--json", ...args], { REPO_KEY: "-----BEGIN PGP PRIVATE KEY BLOCK-----" });
  expect(r.code, r.stderr).toBe(0);
  const plan = JSON.parse(r.stdout) as { plan?: { steps: { step: string }[] }; steps?: { step: string }[] };
  return (plan.plan ?? plan).steps!.at(-1);
};

describe("build --package", () => {
  it("adds a package step after publish, with the formats, release and whether --gpg-key signs", () => {
    expect(lastStep(["--package", "rpm,deb", "--package-release", "3", "--gpg-key", "env:REPO_KEY", "--out", "/tmp/kn-plan-out"])).toEqual({
      step: "package",
      out: "/tmp/kn-plan-out",
      formats: ["rpm", "deb"],
      release: 3,
      signed: true,
    });
  });
  it("leaves the plan as it was without the flag", () => {
    expect(lastStep([])).toMatchObject({ step: "publish" });
  });
  it.each([
    [["--package", "zip"], "E_PACKAGE_FORMAT"],
    [["--package", "rpm", "--package-release", "0"], "E_PACKAGE_RELEASE"],
    [["--gpg-key", "k.asc"], "expected --gpg-key only with --package"],
  ])("refuses %j before deciding anything", (args, message) => {
    const r = cli(["build", "--version", "1.20.2", "--dry-run", ...args]);
    expect(r.code).toBe(2);
    expect(oneLineError(r) + r.stdout).toMatch(message.startsWith("E_") ? /--(format|release|package)/ : new RegExp(message));
  });
});
