/**
 * The flow of the "Pinning and CI" README section, end to end with real
 * Docker builds: `matrix` drives a loop that builds two fixture releases,
 * each build is pinned, a rebuild of the same inputs verifies as a match
 * (and, built with `--package rpm,deb`, leaves an RPM and a DEB whose kubelet
 * is the pinned one, in yum and apt repositories), and a one-byte change is a
 * mismatch.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCatalog } from "../../src/catalog/load.js";
import type { MatrixEntry } from "../../src/catalog/matrix.js";
import { makeTree, type Era } from "../fixtures/k8s-tree.js";
import { CLI, ROOT } from "../helpers/cli.js";

const IMAGE = process.env.KUBELET_NOKMEM_TEST_IMAGE ?? "kubelet-nokmem-toolchain:go1.19";
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "kn-pinflow-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 20 * 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("matrix → build → pin → verify", () => {
  it("builds every matrix entry, pins it, and verifies rebuilds against the pins", async () => {
    const catalog = join(tmp, "versions.json");
    copyFileSync(join(ROOT, "versions.json"), catalog);
    const cat = parseCatalog(readFileSync(catalog, "utf8"));
    const sources: Record<string, string> = {};
    for (const era of ["1.16", "1.18"] as Era[]) {
      const tree = await makeTree(join(tmp, `src-${era}`), { era });
      sources[tree.version] = tree.root;
      cat.pins[tree.version] = { commit: "", image: IMAGE, sha256: { "linux/amd64": "" } };
    }
    writeFileSync(catalog, JSON.stringify(cat, null, 2));

    const matrix = run(["matrix", "--catalog", catalog]);
    expect(matrix.code, matrix.stderr).toBe(0);
    const entries = JSON.parse(matrix.stdout) as MatrixEntry[];
    expect(entries.map((e) => e.slug)).toEqual(["1.16.15-linux-amd64", "1.18.20-linux-amd64"]);

    for (const e of entries) {
      const out = join(tmp, "out", e.slug);
      const build = run([
        "build",
        "--catalog",
        catalog,
        "--version",
        e.version,
        "--platform",
        e.platform,
        "--image",
        e.image,
        "--source",
        sources[e.version]!,
        "--cache-dir",
        join(tmp, "cache"),
        "--out",
        out,
        "--json",
      ]);
      expect(build.code, build.stderr).toBe(0);
      const pin = run(["pin", out, "--catalog", catalog, "--json"]);
      expect(pin.code, pin.stderr).toBe(0);
      expect(JSON.parse(pin.stdout)).toMatchObject({ version: e.version, written: true });
    }
    const pinned = parseCatalog(readFileSync(catalog, "utf8")).pins;
    for (const e of entries) expect(pinned[e.version]!.sha256[e.platform]).toMatch(/^[0-9a-f]{64}$/);

    // Same inputs again, into a fresh folder: the pin must hold. Packaged in the same run (`build --package`), now that the release is pinned.
    const again = join(tmp, "again");
    const rebuild = run([
      "build",
      "--catalog",
      catalog,
      "--version",
      "1.16.15",
      "--image",
      IMAGE,
      "--source",
      sources["1.16.15"]!,
      "--cache-dir",
      join(tmp, "cache"),
      "--out",
      again,
      "--package",
      "rpm,deb",
    ]);
    expect(rebuild.code, rebuild.stderr).toBe(0);
    const verified = run(["verify", again, "--catalog", catalog, "--json"]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout).outcome).toBe("match");

    // The package step of the real build: the packages, named in SHA256SUMS, the repositories, and the kubelet inside each is the pinned one.
    const rpm = join(again, "packages", "kubelet-1.16.15-1.nokmem.x86_64.rpm");
    const deb = join(again, "packages", "kubelet_1.16.15-01+nokmem1_amd64.deb");
    const sums = readFileSync(join(again, "SHA256SUMS"), "utf8");
    expect(sums).toMatch(/ \*packages\/kubelet-1\.16\.15-1\.nokmem\.x86_64\.rpm$/m);
    expect(sums).toMatch(/ \*packages\/kubelet_1\.16\.15-01\+nokmem1_amd64\.deb$/m);
    expect(spawnSync("rpm", ["-qp", "--qf", "%{VERSION}-%{RELEASE}", rpm], { encoding: "utf8" }).stdout).toBe("1.16.15-1.nokmem");
    expect(spawnSync("dpkg-deb", ["--field", deb, "Version"], { encoding: "utf8" }).stdout.trim()).toBe("1.16.15-01+nokmem1");
    expect(existsSync(join(again, "repo", "yum", "repodata", "repomd.xml"))).toBe(true);
    expect(existsSync(join(again, "repo", "apt", "dists", "stable", "Release"))).toBe(true);
    const packaged = run(["verify", rpm, deb, "--catalog", catalog, "--json"]);
    expect(packaged.code, packaged.stdout + packaged.stderr).toBe(0);
    expect((JSON.parse(packaged.stdout) as { results: { outcome: string; version: string }[] }).results.map((r) => [r.outcome, r.version])).toEqual([
      ["match", "1.16.15"],
      ["match", "1.16.15"],
    ]);
    const audited = run(["audit", rpm, deb, "--catalog", catalog, "--json"]);
    expect(audited.code, audited.stdout + audited.stderr).toBe(0);
    expect((JSON.parse(audited.stdout) as { reports: { verdict: string; pin: { status: string } }[] }).reports.map((r) => [r.verdict, r.pin.status])).toEqual([
      ["patched", "match"],
      ["patched", "match"],
    ]);

    const kubelet = join(again, "linux/amd64/kubelet");
    // A bare binary: the release comes from its own version stamp, read without running it.
    const bare = run(["verify", kubelet, "--catalog", catalog, "--json"]);
    expect(bare.code, bare.stdout + bare.stderr).toBe(0);
    expect(JSON.parse(bare.stdout).results[0]).toMatchObject({ version: "1.16.15", platform: "linux/amd64", outcome: "match" });

    const bytes = readFileSync(kubelet);
    bytes[bytes.length - 1] = bytes.at(-1)! ^ 1;
    writeFileSync(kubelet, bytes);
    const changed = run(["verify", kubelet, "--version", "1.16.15", "--catalog", catalog, "--json"]);
    expect(changed.code).toBe(4);
    expect(JSON.parse(changed.stdout).results[0].outcome).toBe("mismatch");
  });
});
