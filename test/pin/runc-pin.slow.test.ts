/**
 * A runc output folder carries the provenance a kubelet's does and goes
 * through the same pin → matrix → verify flow: one real `build runc` in
 * Docker (a fixture tree of the stub era, signed with --sign-key), then
 * manifest.json / verdict.json / SBOM / envelopes read back, `verify` before
 * and after `pin` (folder and bare binary), `pin` writing runcPins beside a
 * catalog's kubelet pins, the matrix listing the runc entry next to a kubelet
 * entry, and changed files refused by the one out-dir check.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode } from "../../src/errors.js";
import { cli, cliAsync, ROOT } from "../helpers/cli.js";
import { makeRuncTree } from "../fixtures/runc-tree.js";

const IMAGE = "kubelet-nokmem-toolchain:go1.19-runc";
const KUBELET_SHA = "c".repeat(64);
let work: string;
let out: string;
let pub: string;
let catalogPath: string;
let build: {
  version: string;
  sha256: string;
  runc: string;
  manifest: string;
  attestations: string[];
  keyid: string;
  strategy: string;
  stamp: { commit: string | null };
};

const json = <T>(path: string) => JSON.parse(readFileSync(path, "utf8")) as T;
const errorCode = (stdout: string) => (JSON.parse(stdout) as { error: { code: string } }).error.code;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "kn-runc-pin-"));
  const key = join(work, "signing.key");
  pub = join(work, "signing.pub");
  execFileSync("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key], { stdio: "pipe" });
  execFileSync("openssl", ["pkey", "-in", key, "-pubout", "-out", pub], { stdio: "pipe" });
  // A catalog that already pins a kubelet: the runc pin goes beside it, never into it.
  const catalog = json<Record<string, unknown>>(join(ROOT, "versions.json"));
  catalogPath = join(work, "versions.json");
  writeFileSync(
    catalogPath,
    `${JSON.stringify({ ...catalog, pins: { "1.16.15": { commit: "", image: "kubelet-nokmem-toolchain:go1.19", sha256: { "linux/amd64": KUBELET_SHA } } } }, null, 2)}\n`,
  );
  const tree = await makeRuncTree(join(work, "tree"), { era: "rc4", git: true });
  out = join(work, "out");
  const r = await cliAsync(
    [
      "build",
      "runc",
      "--version",
      tree.version,
      "--source",
      tree.dir,
      "--image",
      IMAGE,
      "--out",
      out,
      "--cache-dir",
      join(work, "cache"),
      "--sign-key",
      "env:KN_TEST_SIGNING_KEY",
      "--json",
    ],
    {
      KN_TEST_SIGNING_KEY: readFileSync(key, "utf8"),
    },
  );
  expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
  build = JSON.parse(r.stdout);
}, 10 * 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("a runc output folder's provenance", () => {
  it("manifest.json is SLSA provenance with product runc, written by the kubelet build's writer", () => {
    const m = json<{
      _type: string;
      predicateType: string;
      subject: { name: string; digest: { sha256: string } }[];
      predicate: {
        buildDefinition: { externalParameters: Record<string, unknown>; resolvedDependencies: { name: string }[] };
        runDetails: { byproducts: { name: string }[] };
      };
    }>(build.manifest);
    expect(m._type).toBe("https://in-toto.io/Statement/v1");
    expect(m.predicateType).toBe("https://slsa.dev/provenance/v1");
    expect(m.subject).toEqual([{ name: "linux/amd64/runc", digest: { sha256: build.sha256 } }]);
    expect(m.predicate.buildDefinition.externalParameters).toMatchObject({
      product: "runc",
      version: "v1.0.0-rc4",
      strategy: "runc-stub",
      platforms: ["linux/amd64"],
      runner: "docker",
      image: IMAGE,
    });
    // The stub series is recorded as a resolved dependency, as a kubelet's patches are.
    expect(m.predicate.buildDefinition.resolvedDependencies.map((d) => d.name)).toEqual(
      expect.arrayContaining(["source", "image", expect.stringMatching(/^patch:/)]),
    );
    expect(m.predicate.runDetails.byproducts.map((b) => b.name).sort()).toEqual(["build.log", "linux/amd64/sbom.cdx.json", "verdict.json"]);
  });

  it("verdict.json names product runc, the stamp, and the same subject; the SBOM describes runc with its patch", () => {
    const v = json<{
      subject: { name: string }[];
      predicate: { product: string; release: string; verdict: string; binaries: { name: string; runcVersion: { version: string; commit: string | null } }[] };
    }>(join(out, "verdict.json"));
    expect(v.subject.map((s) => s.name)).toEqual(["linux/amd64/runc"]);
    expect(v.predicate).toMatchObject({ product: "runc", release: "1.0.0-rc4", verdict: "patched" });
    expect(v.predicate.binaries[0]).toMatchObject({ name: "linux/amd64/runc", runcVersion: { version: "1.0.0-rc4", commit: build.stamp.commit } });
    const sbom = json<{ metadata: { component: { name: string; purl: string; pedigree: { patches: unknown[]; notes: string } } } }>(
      join(out, "linux", "amd64", "sbom.cdx.json"),
    );
    expect(sbom.metadata.component.name).toBe("runc");
    expect(sbom.metadata.component.purl).toMatch(/^pkg:golang\/github\.com\/opencontainers\/runc@v1\.0\.0-rc4\?/);
    expect(sbom.metadata.component.pedigree.patches).toHaveLength(1);
  });

  it("--sign-key: both Statements have envelopes, and the build reports the keyid", () => {
    expect(build.attestations.map((a) => a.slice(out.length + 1))).toEqual([
      "linux/amd64/sbom.cdx.json",
      "verdict.json",
      "verdict.dsse.json",
      "manifest.json",
      "manifest.dsse.json",
    ]);
    expect(build.keyid).toMatch(/^SHA256:/);
  });
});

describe("pin → verify → matrix for a runc folder", () => {
  it("before the pin: verify of the folder (signature checked) is unpinned, exit 10", () => {
    const r = cli(["verify", out, "--catalog", catalogPath, "--key", pub, "--json"]);
    expect(r.code, r.stderr).toBe(ExitCode.unpinned);
    const j = JSON.parse(r.stdout) as { outcome: string; results: { product: string; version: string }[] };
    expect(j.outcome).toBe("unpinned");
    expect(j.results.map((x) => [x.product, x.version])).toEqual([["runc", "1.0.0-rc4"]]);
  });

  it("pin writes a runcPins entry with the keyid and patches, and leaves the kubelet pins alone", () => {
    const r = cli(["pin", out, "--catalog", catalogPath, "--key", pub, "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ product: "runc", version: "1.0.0-rc4", written: true });
    const c = json<{
      pins: Record<string, unknown>;
      runcPins: Record<string, { image: string; strategy: string; keyid: string; patches: unknown[]; sha256: Record<string, string>; commit: string }>;
    }>(catalogPath);
    expect(Object.keys(c.pins)).toEqual(["1.16.15"]);
    expect(c.runcPins["1.0.0-rc4"]).toMatchObject({
      image: IMAGE,
      strategy: "runc-stub",
      keyid: build.keyid,
      commit: build.stamp.commit,
      sha256: { "linux/amd64": build.sha256 },
    });
    expect(c.runcPins["1.0.0-rc4"]!.patches).toHaveLength(1);
    // Pinning the same folder again changes nothing.
    const again = cli(["pin", out, "--catalog", catalogPath, "--json"]);
    expect(JSON.parse(again.stdout)).toMatchObject({ product: "runc", changed: false });
  });

  it("after the pin: the folder and the bare runc (release read from its stamp) match", () => {
    const folder = cli(["verify", out, "--catalog", catalogPath, "--key", pub, "--json"]);
    expect(folder.code, folder.stdout + folder.stderr).toBe(0);
    const bare = cli(["verify", build.runc, "--catalog", catalogPath, "--json"]);
    expect(bare.code, bare.stdout + bare.stderr).toBe(0);
    expect((JSON.parse(bare.stdout) as { results: unknown[] }).results).toEqual([
      expect.objectContaining({ product: "runc", version: "1.0.0-rc4", platform: "linux/amd64", pinned: build.sha256, outcome: "match" }),
    ]);
    // The audit reads the same pin for the runc it finds.
    const audit = cli(["audit", build.runc, "--catalog", catalogPath, "--json"]);
    expect(JSON.stringify(JSON.parse(audit.stdout))).toContain('"status":"match"');
  });

  it("the matrix lists the pinned runc entry next to the kubelet entry, each with its product", () => {
    const r = cli(["matrix", "--catalog", catalogPath, "--format", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const entries = JSON.parse(r.stdout) as { product: string; version: string; sha256: string; image: string }[];
    expect(entries.map((e) => [e.product, e.version, e.sha256, e.image])).toEqual([
      ["kubelet", "1.16.15", KUBELET_SHA, "kubelet-nokmem-toolchain:go1.19"],
      ["runc", "1.0.0-rc4", build.sha256, IMAGE],
    ]);
  });

  it("a changed byte in the runc: the folder is refused by the one out-dir check, the bare binary is a mismatch against its pin", () => {
    const copy = join(work, "changed");
    cpSync(out, copy, { recursive: true });
    const runc = join(copy, "linux", "amd64", "runc");
    const bytes = readFileSync(runc);
    bytes[bytes.length - 1]! ^= 1;
    writeFileSync(runc, bytes);
    for (const args of [
      ["verify", copy],
      ["pin", copy, "--dry-run"],
      ["audit", build.runc, "--manifest", copy],
    ]) {
      const r = cli([...args, "--catalog", catalogPath, "--json"]);
      expect({ args, code: r.code, error: errorCode(r.stdout) }).toEqual({ args, code: ExitCode.verification, error: "E_OUT_DIR_CHANGED" });
    }
    const bare = cli(["verify", runc, "--catalog", catalogPath, "--version", "1.0.0-rc4", "--json"]);
    expect(bare.code).toBe(ExitCode.verification);
    expect(JSON.parse(bare.stdout)).toMatchObject({ outcome: "mismatch", results: [{ product: "runc", version: "1.0.0-rc4" }] });
  });

  it("a verdict.json that claims the kubelet product is refused: the product comes from the records, and they must agree", () => {
    const copy = join(work, "claims-kubelet");
    cpSync(out, copy, { recursive: true });
    rmSync(join(copy, "verdict.dsse.json"));
    rmSync(join(copy, "manifest.dsse.json"));
    const v = json<{ predicate: Record<string, unknown> }>(join(copy, "verdict.json"));
    writeFileSync(join(copy, "verdict.json"), `${JSON.stringify({ ...v, predicate: { ...v.predicate, product: "kubelet" } }, null, 2)}\n`);
    const r = cli(["verify", copy, "--catalog", catalogPath, "--json"]);
    expect({ code: r.code, error: errorCode(r.stdout) }).toEqual({ code: ExitCode.verification, error: "E_MANIFEST" });
  });

  it("package refuses a runc folder: packages hold kubelets", () => {
    const r = cli(["package", out, "--catalog", catalogPath, "--json"]);
    expect({ code: r.code, error: errorCode(r.stdout) }).toEqual({ code: ExitCode.usage, error: "E_PRODUCT" });
  });
});
