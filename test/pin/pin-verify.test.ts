import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCatalog } from "../../src/catalog/load.js";
import { mergePin } from "../../src/pin/pins.js";
import { judge } from "../../src/pin/verify.js";
import { cli, cliAsync, oneLineError, ROOT } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { fakeKubelet, sha, writeOutDir, writeV1Verdict } from "./outdir-fixture.js";

function catalogCopy(): string {
  const p = join(tempDir(), "versions.json");
  copyFileSync(join(ROOT, "versions.json"), p);
  return p;
}

describe("judge (verify: only the catalog's pin vouches; the binary's own manifest and SHA256SUMS cross-check)", () => {
  const pin = (d: string) => [{ source: "versions.json", name: "1.16.15 linux/amd64", expected: d, authority: "pin" as const }];
  it.each([
    ["match", "a", "a", "a", undefined],
    ["match", "a", "a", "a", "a"],
    ["mismatch", "a", "b", "a", undefined],
    ["mismatch", "a", "a", "b", undefined],
    ["mismatch", "a", "a", null, "b"],
    ["mismatch", "a", "a", "a", null],
    ["unpinned", "a", null, "a", "a"],
    ["unpinned", "a", null, null, undefined],
  ] as const)("%s when actual=%s pin=%s manifest=%s sums=%s", (outcome, actual, pinned, manifest, sums) => {
    expect(judge(actual, pinned ? pin(pinned) : [], manifest, sums).outcome).toBe(outcome);
  });
});

describe("mergePin", () => {
  const base = { commit: "a".repeat(40), image: "img", sha256: { "linux/amd64": "1".repeat(64) } };
  it("adds a platform without conflict", () => {
    const c = mergePin("1.16.15", base, { ...base, sha256: { "linux/arm64": "2".repeat(64) } });
    expect(c.conflicts).toEqual([]);
    expect(Object.keys(c.pin.sha256)).toEqual(["linux/amd64", "linux/arm64"]);
  });
  it("reports a changed checksum as a conflict", () => {
    expect(mergePin("1.16.15", base, { ...base, sha256: { "linux/amd64": "3".repeat(64) } }).conflicts).toHaveLength(1);
  });
  it("is unchanged when the same pin comes again", () => {
    expect(mergePin("1.16.15", base, base).changed).toBe(false);
  });
});

describe("pin → verify through the CLI", () => {
  it("pins a build, then verifies it as match; a one-byte change is a mismatch", () => {
    const catalog = catalogCopy();
    const out = join(tempDir(), "out");
    const bin = fakeKubelet("1.16.15");
    writeOutDir(out, "1.16.15", { "linux/amd64": bin });
    const pinned = cli(["pin", out, "--catalog", catalog, "--json"]);
    expect(pinned.code, pinned.stderr).toBe(0);
    expect(JSON.parse(pinned.stdout)).toMatchObject({ version: "1.16.15", written: true });
    const cat = parseCatalog(readFileSync(catalog, "utf8"));
    expect(cat.pins["1.16.15"]!.sha256["linux/amd64"]).toBe(sha(bin));
    expect(cat.pins["1.16.15"]!.patches).toEqual([{ name: "none", sha256: "c".repeat(64) }]);

    const ok = cli(["verify", out, "--catalog", catalog, "--json"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).outcome).toBe("match");

    const bare = cli(["verify", join(out, "linux/amd64/kubelet"), "--version", "v1.16.15", "--catalog", catalog, "--json"]);
    expect(JSON.parse(bare.stdout).results[0]).toMatchObject({ outcome: "match", platform: "linux/amd64" });

    const changed = Buffer.from(bin);
    changed[changed.length - 1] = changed.at(-1)! ^ 1;
    writeFileSync(join(out, "linux/amd64/kubelet"), changed);
    // The folder disagrees with its own manifest: refused as a whole, as pin and audit --manifest refuse it.
    const bad = cli(["verify", out, "--catalog", catalog, "--json"]);
    expect(bad.code).toBe(4);
    expect(JSON.parse(bad.stdout).error).toMatchObject({ code: "E_OUT_DIR_CHANGED", exitCode: 4 });
    expect(oneLineError(bad)).toMatch(/linux\/amd64\/kubelet has sha256 [0-9a-f]{64}, manifest.json records/);
    // A bare copy of the changed kubelet is judged by its pin alone: a mismatch.
    const bareBad = cli(["verify", join(out, "linux/amd64/kubelet"), "--version", "1.16.15", "--catalog", catalog, "--json"]);
    expect(bareBad.code).toBe(4);
    expect(JSON.parse(bareBad.stdout).outcome).toBe("mismatch");
  });

  it("an unpinned release exits 10", () => {
    const out = join(tempDir(), "out");
    writeOutDir(out, "1.18.20", { "linux/amd64": fakeKubelet("x") });
    const r = cli(["verify", out, "--catalog", catalogCopy()]);
    expect(r.code).toBe(10);
    expect(r.stdout).toContain("unpinned");
  });

  it("refuses to overwrite a different pin without --force, leaving the catalog as it was", () => {
    const catalog = catalogCopy();
    const a = join(tempDir(), "a");
    const b = join(tempDir(), "b");
    writeOutDir(a, "1.16.15", { "linux/amd64": fakeKubelet("first") });
    writeOutDir(b, "1.16.15", { "linux/amd64": fakeKubelet("second") });
    expect(cli(["pin", a, "--catalog", catalog]).code).toBe(0);
    const before = readFileSync(catalog, "utf8");
    const refused = cli(["pin", b, "--catalog", catalog]);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/--force/);
    expect(readFileSync(catalog, "utf8")).toBe(before);
    expect(cli(["pin", b, "--catalog", catalog, "--force"]).code).toBe(0);
    expect(parseCatalog(readFileSync(catalog, "utf8")).pins["1.16.15"]!.sha256["linux/amd64"]).toBe(sha(fakeKubelet("second")));
  });

  it("pinning the same build twice leaves the file byte-identical", () => {
    const catalog = catalogCopy();
    const out = join(tempDir(), "out");
    writeOutDir(out, "1.18.20", { "linux/amd64": fakeKubelet("y"), "linux/arm64": fakeKubelet("z") });
    cli(["pin", out, "--catalog", catalog]);
    const once = readFileSync(catalog, "utf8");
    const again = cli(["pin", out, "--catalog", catalog, "--json"]);
    expect(JSON.parse(again.stdout).changed).toBe(false);
    expect(readFileSync(catalog, "utf8")).toBe(once);
  });

  it("refuses to pin an output folder whose kubelet no longer matches its manifest", () => {
    const catalog = catalogCopy();
    const out = join(tempDir(), "out");
    writeOutDir(out, "1.16.15", { "linux/amd64": fakeKubelet("q") });
    writeFileSync(join(out, "linux/amd64/kubelet"), "tampered");
    const r = cli(["pin", out, "--catalog", catalog]);
    expect(r.code).toBe(4);
    expect(parseCatalog(readFileSync(catalog, "utf8")).pins).toEqual({});
  });

  it("concurrent pins of different releases both land and leave a valid catalog", async () => {
    const catalog = catalogCopy();
    const versions = ["1.14.10", "1.15.12", "1.16.15", "1.17.17", "1.18.20", "1.19.16", "1.20.15", "1.21.1"];
    const outs = versions.map((v) => {
      const d = join(tempDir(), v);
      writeOutDir(d, v, { "linux/amd64": fakeKubelet(v) });
      return d;
    });
    const results = await Promise.all(outs.map((o) => cliAsync(["pin", o, "--catalog", catalog])));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const cat = parseCatalog(readFileSync(catalog, "utf8"));
    expect(Object.keys(cat.pins)).toEqual(versions);
  });
});

describe("verify reads an out dir's SHA256SUMS strictly", () => {
  function pinnedOut(): { out: string; catalog: string; bin: Buffer } {
    const catalog = catalogCopy();
    const out = join(tempDir(), "out");
    const bin = fakeKubelet("1.16.15");
    writeOutDir(out, "1.16.15", { "linux/amd64": bin });
    expect(cli(["pin", out, "--catalog", catalog]).code).toBe(0);
    return { out, catalog, bin };
  }

  it.each([
    ["the right line first", true],
    ["the wrong line first", false],
  ])("two lines with different digests for one file are an error whatever their order (%s)", (_name, rightFirst) => {
    const { out, catalog, bin } = pinnedOut();
    const lines = [`${sha(bin)}  linux/amd64/kubelet\n`, `${"0".repeat(64)}  linux/amd64/kubelet\n`];
    writeFileSync(join(out, "SHA256SUMS"), (rightFirst ? lines : lines.reverse()).join(""));
    const r = cli(["verify", out, "--catalog", catalog]);
    expect(r.code).toBe(4);
    expect(oneLineError(r)).toContain("found two for linux/amd64/kubelet");
  });

  it("a missing SHA256SUMS makes the folder a changed one (exit 4), naming it", () => {
    const { out, catalog } = pinnedOut();
    rmSync(join(out, "SHA256SUMS"));
    const r = cli(["verify", out, "--catalog", catalog, "--json"]);
    expect(r.code).toBe(4);
    expect(JSON.parse(r.stdout).error.code).toBe("E_OUT_DIR_CHANGED");
    expect(oneLineError(r)).toContain("SHA256SUMS is missing");
  });

  it.each(["abc", "1.16", "1.16.15.1", ""])("--version %j is a usage error (exit 2), not an unpinned release", (v) => {
    const { out, catalog } = pinnedOut();
    const r = cli(["verify", join(out, "linux/amd64/kubelet"), "--version", v, "--catalog", catalog]);
    expect(r.code).toBe(2);
    expect(oneLineError(r)).toContain("expected --version to name a release such as 1.16.15");
  });
});

describe("an output folder of 0.1.0 (verdict.json in verdict/v1's words)", () => {
  function v1Out(words: { build?: string; binary?: string } = {}): { out: string; catalog: string; bin: Buffer } {
    const catalog = catalogCopy();
    const out = join(tempDir(), "out");
    const bin = fakeKubelet("0.1.0 build");
    writeOutDir(out, "1.20.15", { "linux/amd64": bin });
    writeV1Verdict(out, "1.20.15", { "linux/amd64": bin }, words);
    return { out, catalog, bin };
  }

  it("still pins, verifies and serves audit --manifest", () => {
    const { out, catalog, bin } = v1Out();
    const pinned = cli(["pin", out, "--catalog", catalog, "--json"]);
    expect(pinned.code, pinned.stderr).toBe(0);
    expect(parseCatalog(readFileSync(catalog, "utf8")).pins["1.20.15"]!.sha256["linux/amd64"]).toBe(sha(bin));
    const verified = cli(["verify", out, "--catalog", catalog, "--json"]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout).outcome).toBe("match");
    const audited = cli(["audit", join(out, "linux/amd64/kubelet"), "--manifest", out, "--catalog", catalog, "--fail-on", "none", "--json"]);
    expect(audited.code, audited.stderr).toBe(0);
    expect(JSON.parse(audited.stdout).reports[0].pin.status).toBe("match");
  });

  it("is refused by pin (exit 4, catalog untouched) when a word is not one of v1's, naming the JSON path", () => {
    const { out, catalog } = v1Out({ binary: "patched" });
    const before = readFileSync(catalog, "utf8");
    const r = cli(["pin", out, "--catalog", catalog]);
    expect(r.code).toBe(4);
    expect(oneLineError(r)).toContain("$.predicate.binaries[0].verdict: expected one of nokmem, kmem-enabled, not-affected, unknown");
    expect(readFileSync(catalog, "utf8")).toBe(before);
  });
});
