/**
 * `verify PACKAGE` / `audit PACKAGE` treat a package as hostile input: the
 * payload's names must stay inside the package root, the kubelet must be
 * one regular file, and a pin.json that disagrees with the kubelet makes it
 * a mismatch. Packages are made here with ar, tar and dpkg-deb, shaped to
 * break each rule.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { syntheticBinary } from "../audit/synthetic.js";
import { cli, oneLineError } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { sha, writeOutDir } from "../pin/outdir-fixture.js";

const kubelet = syntheticBinary({ markers: ["disabled-string:runc-build", "identity:kubelet"], stamps: { gitVersion: "v1.20.2" } });

/** A .deb assembled by hand: debian-binary, control.tar.gz, data.tar.gz made from `data` with extra tar arguments. */
function handMadeDeb(dir: string, data: string, tarArgs: string[]): string {
  const control = join(dir, "control");
  mkdirSync(control, { recursive: true });
  writeFileSync(
    join(control, "control"),
    "Package: kubelet\nVersion: 1.20.2-01+nokmem1\nArchitecture: amd64\nMaintainer: t <t@example.invalid>\nDescription: t\n",
  );
  writeFileSync(join(dir, "debian-binary"), "2.0\n");
  execFileSync("tar", ["-czf", join(dir, "control.tar.gz"), "-C", control, "./control"]);
  execFileSync("tar", ["-czf", join(dir, "data.tar.gz"), "-C", data, ...tarArgs]);
  const deb = join(dir, "kubelet_1.20.2-01+nokmem1_amd64.deb");
  execFileSync("ar", ["rc", deb, "debian-binary", "control.tar.gz", "data.tar.gz"], { cwd: dir });
  return deb;
}

function dataWithKubelet(dir: string): string {
  const data = join(dir, "data");
  mkdirSync(join(data, "usr/bin"), { recursive: true });
  writeFileSync(join(data, "usr/bin/kubelet"), kubelet);
  chmodSync(join(data, "usr/bin/kubelet"), 0o755);
  return data;
}

describe("a package as hostile input", () => {
  it("refuses a payload member that climbs out of the package root, and writes nothing there", () => {
    const dir = tempDir();
    const data = dataWithKubelet(dir);
    writeFileSync(join(data, "evil"), "x");
    const deb = handMadeDeb(dir, data, ["-P", "--transform", "s,^\\./evil,../../escaped,", "./usr/bin/kubelet", "./evil"]);
    for (const cmd of ["verify", "audit"]) {
      const r = cli([cmd, deb]);
      expect(r.code, r.stderr).toBe(4);
      expect(oneLineError(r)).toMatch(/E_PACKAGE|outside the package's root/);
    }
    expect(existsSync(join(dir, "..", "escaped"))).toBe(false);
  });

  it("refuses a kubelet that is a symbolic link, or named twice", () => {
    const dir = tempDir();
    const data = join(dir, "data");
    mkdirSync(join(data, "usr/bin"), { recursive: true });
    symlinkSync("/etc/passwd", join(data, "usr/bin/kubelet"));
    const r = cli(["verify", handMadeDeb(dir, data, ["./usr/bin/kubelet"])]);
    expect(r.code, r.stderr).toBe(4);
    expect(oneLineError(r)).toContain("not a regular file");
    const dir2 = tempDir();
    const data2 = dataWithKubelet(dir2);
    const twice = cli(["audit", handMadeDeb(dir2, data2, ["./usr/bin/kubelet", "./usr/bin/kubelet"])]);
    expect(twice.code, twice.stderr).toBe(4);
    expect(oneLineError(twice)).toContain("2 members named /usr/bin/kubelet");
  });

  it("refuses a file that is no package at all", () => {
    const p = join(tempDir(), "kubelet.rpm");
    writeFileSync(p, kubelet);
    const r = cli(["verify", p]);
    expect(r.code, r.stderr).toBe(4);
    expect(oneLineError(r)).toContain("neither an RPM lead nor a Debian ar archive");
  });

  it("makes the kubelet a mismatch when the package's pin.json records another sha256", () => {
    const dir = tempDir();
    const data = dataWithKubelet(dir);
    mkdirSync(join(data, "usr/share/kubelet-nokmem"), { recursive: true });
    const pin = {
      schemaVersion: 1,
      kubernetes: "1.20.2",
      platform: "linux/amd64",
      sha256: "0".repeat(64),
      package: { format: "deb", version: "1.20.2-01+nokmem1" },
      pin: { commit: "a".repeat(40), strategy: "build-tag", keyid: null },
    };
    writeFileSync(join(data, "usr/share/kubelet-nokmem/pin.json"), JSON.stringify(pin));
    const deb = handMadeDeb(dir, data, ["./usr/bin/kubelet", "./usr/share/kubelet-nokmem/pin.json"]);
    const v = cli(["verify", deb, "--json"]);
    expect(v.code, v.stderr).toBe(4);
    const result = (JSON.parse(v.stdout) as { results: { outcome: string; sha256: string; reasons: string[] }[] }).results[0]!;
    expect(result).toMatchObject({ outcome: "mismatch", sha256: sha(kubelet) });
    expect(result.reasons[0]).toContain(`records ${"0".repeat(64)}, the kubelet inside is ${sha(kubelet)}`);
    const a = cli(["audit", deb, "--json"]);
    expect(a.code, a.stderr).toBe(4);
    expect((JSON.parse(a.stdout) as { reports: { pin: { status: string } }[] }).reports[0]!.pin.status).toBe("mismatch");
  });
});

describe("package and a build publishing into the same folder", () => {
  it("is busy (exit 9) while a live process holds the folder's lock, and packages nothing", () => {
    const out = join(tempDir(), "out");
    writeOutDir(out, "1.20.2", { "linux/amd64": kubelet });
    // The lock a build's publication holds: this test's own process, alive.
    writeFileSync(
      join(out, ".lock"),
      `${JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), purpose: "kubelet-nokmem build" })}\n`,
    );
    const r = cli(["package", out]);
    expect(r.code, r.stderr).toBe(9);
    expect(oneLineError(r)).toContain("locked by process");
    expect(existsSync(join(out, "packages"))).toBe(false);
  });
});
