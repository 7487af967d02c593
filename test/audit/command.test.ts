import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseFailOn } from "../../src/commands/audit.js";
import { main } from "../../src/cli.js";
import type { Io } from "../../src/commands/context.js";
import { syntheticBinary } from "./synthetic.js";
import { fakeKubelet, writeOutDir } from "../pin/outdir-fixture.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "audit-cmd-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t), progress: () => undefined, isTTY: false };
  const code = await main(argv, io);
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

const patched = () => syntheticBinary({ markers: ["disabled-string:runc-build", "identity:kubelet"], stamps: { gitVersion: "v1.20.2" } });
const unpatched = () =>
  syntheticBinary({ markers: ["enabled-string:kmem-limit-file", "enabled-string:kmem-not-supported", "identity:kubelet"], stamps: { gitVersion: "v1.20.2" } });

describe("kubelet-nokmem audit", () => {
  it("prints the JSON contract with one report per binary", async () => {
    const a = join(dir, "kubelet-ok");
    await writeFile(a, patched(), { mode: 0o755 });
    const r = await cli("audit", a, join(dir, "missing"), "--json", "--fail-on", "none");
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(Object.keys(json)).toEqual(["schemaVersion", "node", "reports", "summary", "failOn", "failed"]);
    expect(Object.keys(json.reports[0])).toEqual([
      "path",
      "size",
      "sha256",
      "elf",
      "go",
      "goBuildInfo",
      "program",
      "kubernetesVersion",
      "runcVersion",
      "release",
      "verdict",
      "reasons",
      "fix",
      "evidence",
      "pin",
      "errors",
    ]);
    expect(json.reports.map((x: { verdict: string }) => x.verdict)).toEqual(["patched", "unknown"]);
    expect(json.summary).toEqual({
      binaries: 2,
      verdicts: { patched: 1, unpatched: 0, "not-affected": 0, unknown: 1 },
      pins: { match: 0, mismatch: 0, unpinned: 2 },
      errors: 1,
    });
  });

  it("exits 4 when an outcome listed in --fail-on occurs, with one JSON document on stdout", async () => {
    const a = join(dir, "kubelet");
    await writeFile(a, unpatched(), { mode: 0o755 });
    const r = await cli("audit", a, "--json");
    expect(r.code).toBe(4);
    expect(JSON.parse(r.stdout).failed).toEqual([{ path: a, outcomes: ["unpatched"] }]);
    expect(r.stderr).toMatch(/found .*kubelet: unpatched/);
  });

  it("exits 0 for a patched binary under the strictest --fail-on", async () => {
    const a = join(dir, "kubelet");
    await writeFile(a, patched(), { mode: 0o755 });
    const r = await cli("audit", a, "--fail-on", "unpatched,mismatch,unknown,error");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^patched\s+unpinned\s+kubelet\s+v1\.20\.2/m);
  });

  it("checks --manifest folders: a build output folder's kubelets are the reference", async () => {
    const a = join(dir, "kubelet");
    await writeFile(a, patched(), { mode: 0o755 });
    const out = join(dir, "out");
    writeOutDir(out, "1.20.2", { "linux/amd64": fakeKubelet("another") });
    const r = await cli("audit", a, "--manifest", out, "--json");
    expect(r.code).toBe(4);
    expect(JSON.parse(r.stdout).reports[0].pin.status).toBe("mismatch");
    const none = await cli("audit", a, "--manifest", join(dir, "nowhere"));
    expect(none.code).toBe(2);
  });

  it("refuses a folder with only a SHA256SUMS (exit 2, as verify and pin do): a list alone vouches for nothing", async () => {
    const a = join(dir, "kubelet");
    await writeFile(a, patched(), { mode: 0o755 });
    await writeFile(join(dir, "SHA256SUMS"), `${"0".repeat(64)}  kubelet\n`);
    const r = await cli("audit", a, "--manifest", dir, "--json");
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.code).toBe("E_OUT_DIR");
  });

  describe("a path that does not exist", () => {
    it("is the outcome missing and fails the run by default, the other paths still audited", async () => {
      const a = join(dir, "kubelet");
      await writeFile(a, patched(), { mode: 0o755 });
      const typo = join(dir, "kublet");
      const r = await cli("audit", a, typo, "--json");
      expect(r.code).toBe(4);
      const json = JSON.parse(r.stdout);
      expect(json.failOn).toEqual(["unpatched", "mismatch", "missing"]);
      expect(json.failed).toEqual([{ path: typo, outcomes: ["missing"] }]);
      expect(json.reports.map((x: { path: string; verdict: string }) => [x.path, x.verdict])).toEqual([
        [a, "patched"],
        [typo, "unknown"],
      ]);
      expect(json.reports[1].errors.map((e: { code: string }) => e.code)).toEqual(["E_AUDIT_PATH_MISSING"]);
      expect(r.stderr).toMatch(/found .*kublet: missing/);
    });

    it("a missing folder fails in the human table too, and the message names the fix", async () => {
      const r = await cli("audit", join(dir, "no-such-folder"));
      expect(r.code).toBe(4);
      expect(r.stdout).toMatch(/error: expected .*no-such-folder to exist, found nothing there \(check the path, or pass --skip-missing/);
    });

    it("--fail-on still selects it: left out of the list it passes, listed alone it fails", async () => {
      expect((await cli("audit", join(dir, "gone"), "--fail-on", "unpatched")).code).toBe(0);
      expect((await cli("audit", join(dir, "gone"), "--fail-on", "missing")).code).toBe(4);
      expect((await cli("audit", join(dir, "gone"), "--fail-on", "error")).code).toBe(4);
    });

    it("--skip-missing leaves it out quietly (a fleet's list of the usual folders)", async () => {
      const a = join(dir, "kubelet");
      await writeFile(a, patched(), { mode: 0o755 });
      const r = await cli("audit", "--skip-missing", "--json", join(dir, "usr-local-bin"), a, join(dir, "opt-bin"));
      expect(r.code).toBe(0);
      const json = JSON.parse(r.stdout);
      expect(json.reports.map((x: { path: string }) => x.path)).toEqual([a]);
      expect(json.summary.errors).toBe(0);
    });
  });

  it("rejects an unknown --fail-on outcome", async () => {
    expect(() => parseFailOn("unpatched,bogus")).toThrow(/found "bogus"/);
    expect(parseFailOn("none")).toEqual([]);
    expect((await cli("audit", dir, "--fail-on", "bogus")).code).toBe(2);
  });
});
