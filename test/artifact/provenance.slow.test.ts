/**
 * A signed build, for real: the CLI builds a 1.20-era fixture release in
 * Docker (offline toolchain image) with --sign-key, and what it publishes is
 * checked by the spec's protos, openssl, sha256sum and the CycloneDX
 * validator; then a flipped byte in the envelope, the payload or the binary
 * makes `verify --key` exit 4.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Spec, Validation } from "@cyclonedx/cyclonedx-library";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixtureVendoredModules, makeTree, ERA_FACTS, type Tree } from "../fixtures/k8s-tree.js";
import { officialSchemaErrors, referenceProblems } from "./cyclonedx.js";
import { ensureBuilt } from "../support/built-cli.js";
import { strictParseStatement } from "./intoto-spec/strict-parser.js";

const CLI = resolve("dist/cli.js");
const IMAGE = process.env.KUBELET_NOKMEM_TEST_IMAGE ?? "kubelet-nokmem-toolchain:go1.19";

let tmp: string;
let repo: Tree;
let out: string;
let pub: string;
let build: { kubelet: string; sha256: string; attestations: string[]; keyid: string; out: string };

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  await ensureBuilt();
  tmp = mkdtempSync(join(tmpdir(), "kn-prov-build-"));
  repo = await makeTree(join(tmp, "repo"), { era: "1.20", version: "1.20.15", commitTime: 1_600_000_000 });
  const key = join(tmp, "signing.key");
  pub = join(tmp, "signing.pub");
  execFileSync("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key], { stdio: "pipe" });
  execFileSync("openssl", ["pkey", "-in", key, "-pubout", "-out", pub], { stdio: "pipe" });
  out = join(tmp, "out");
  // The key comes from an environment variable, as a CI secret would.
  const r = cli(
    [
      "build",
      "--version",
      "1.20.15",
      "--image",
      IMAGE,
      "--cache-dir",
      join(tmp, "cache"),
      "--out",
      out,
      "--source",
      repo.root,
      "--sign-key",
      "env:KN_TEST_SIGNING_KEY",
      "--json",
    ],
    {
      KN_TEST_SIGNING_KEY: readFileSync(key, "utf8"),
    },
  );
  expect(r.code, r.stderr).toBe(0);
  build = JSON.parse(r.stdout);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("a Docker build with --sign-key", () => {
  it("publishes the Statements, their envelopes and an SBOM beside the kubelet", () => {
    expect(readdirSync(out).sort()).toEqual(["SHA256SUMS", "build.log", "linux", "manifest.dsse.json", "manifest.json", "verdict.dsse.json", "verdict.json"]);
    expect(readdirSync(join(out, "linux/amd64")).sort()).toEqual(["kubelet", "sbom.cdx.json"]);
    expect(build.attestations.map((a) => a.slice(out.length + 1))).toEqual([
      "linux/amd64/sbom.cdx.json",
      "verdict.json",
      "verdict.dsse.json",
      "manifest.json",
      "manifest.dsse.json",
    ]);
    expect(build.keyid).toMatch(/^SHA256:/);
    expect(execFileSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: out, encoding: "utf8" })).toBe("linux/amd64/kubelet: OK\n");
  });

  it("writes a Statement the spec's strict parser accepts, about the kubelet's digest, with the tree under dirHash", () => {
    const text = readFileSync(join(out, "manifest.json"), "utf8");
    expect(strictParseStatement(text).provenance).not.toBeNull();
    const m = JSON.parse(text);
    expect(m.subject).toEqual([{ name: "linux/amd64/kubelet", digest: { sha256: build.sha256 } }]);
    const source = m.predicate.buildDefinition.resolvedDependencies[0];
    expect(source.uri).toBe(`git+${new URL(`file://${repo.root}`).href}@${repo.commit}`);
    // dirHash as the spec defines it, recomputed with coreutils over a fresh checkout of the tag (without .git).
    const export_ = join(tmp, "export");
    execFileSync("git", ["clone", "--quiet", "--branch", "v1.20.15", repo.root, export_], { stdio: "pipe" });
    rmSync(join(export_, ".git"), { recursive: true, force: true });
    const dirHash = execFileSync("sh", ["-c", "find . -type f | cut -c3- | LC_ALL=C sort | xargs -r sha256sum | sha256sum | cut -f1 -d' '"], {
      cwd: export_,
      encoding: "utf8",
    }).trim();
    expect(source.digest).toMatchObject({ gitCommit: repo.commit, dirHash });
    expect(m.predicate.buildDefinition.resolvedDependencies.at(-1)).toMatchObject({ name: "image", uri: "pkg:docker/kubelet-nokmem-toolchain@go1.19" });
    expect(strictParseStatement(readFileSync(join(out, "verdict.json"), "utf8")).statement).toBeTruthy();
    expect(JSON.parse(readFileSync(join(out, "verdict.json"), "utf8")).predicate).toMatchObject({
      verdict: "patched",
      release: "v1.20.15",
      strategy: "build-tag",
    });
  });

  it("signs it so that openssl verifies the DSSE PAE with the public key", () => {
    const env = JSON.parse(readFileSync(join(out, "manifest.dsse.json"), "utf8"));
    const payload = Buffer.from(env.payload, "base64");
    writeFileSync(join(tmp, "pae"), Buffer.concat([Buffer.from(`DSSEv1 ${env.payloadType.length} ${env.payloadType} ${payload.length} `), payload]));
    writeFileSync(join(tmp, "sig"), Buffer.from(env.signatures[0].sig, "base64"));
    expect(execFileSync("openssl", ["dgst", "-sha256", "-verify", pub, "-signature", join(tmp, "sig"), join(tmp, "pae")], { encoding: "utf8" })).toBe(
      "Verified OK\n",
    );
  });

  it("writes an SBOM the official CycloneDX 1.6 schema and the library accept: one component per vendored module, the build setting as a note", async () => {
    const text = readFileSync(join(out, "linux/amd64/sbom.cdx.json"), "utf8");
    expect(await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(text)).toBeNull();
    expect(officialSchemaErrors(text)).toBeNull();
    expect(referenceProblems(text)).toEqual([]);
    const bom = JSON.parse(text);
    expect(bom.metadata.component.hashes).toEqual([{ alg: "SHA-256", content: build.sha256 }]);
    expect(bom.components.find((c: { name: string }) => c.name === "github.com/opencontainers/runc").version).toBe(ERA_FACTS["1.20"].runc);
    expect(bom.components.find((c: { name: string }) => c.name === "go").version).toMatch(/^1\.19/);
    expect(bom.components.filter((c: { name: string }) => c.name !== "go")).toHaveLength(fixtureVendoredModules("1.20").length);
    expect(bom.metadata.component.pedigree.patches).toBeUndefined();
    expect(bom.metadata.component.pedigree.notes).toContain("GOFLAGS=-tags=nokmem");
    // The build runs in GOPATH mode (as upstream's does): the kubelet records no module list, and the SBOM claims none.
    const props = Object.fromEntries(bom.metadata.component.properties.map((p: { name: string; value: string }) => [p.name, p.value]));
    expect(props["kubelet-nokmem:linked-modules"]).toMatch(/^unknown: .*GOPATH-mode/);
    expect(bom.dependencies.find((d: { ref: string }) => d.ref === "kubelet").dependsOn).toEqual(["go-toolchain"]);
  });

  it.each([
    ["the envelope", "manifest.dsse.json", (b: Buffer) => b.indexOf('"sig":"') + 12],
    ["the payload", "manifest.json", (b: Buffer) => b.indexOf("build-type.md#build-type-v1") + 1],
    ["the binary", "linux/amd64/kubelet", (b: Buffer) => b.length - 100],
  ])("exits 4 on verify --key after a flipped byte in %s", (_what, file, at) => {
    const copy = join(tmp, `tampered-${file.replace(/\W/g, "-")}`);
    execFileSync("cp", ["-a", out, copy]);
    expect(cli(["verify", copy, "--key", pub, "--version", "1.20.15"]).code).not.toBe(4); // untouched: no mismatch (unpinned is 10)
    const b = readFileSync(join(copy, file));
    const i = at(b);
    b[i] = b[i] === 0x41 ? 0x42 : 0x41;
    writeFileSync(join(copy, file), b);
    const r = cli(["verify", copy, "--key", pub]);
    expect(r.code, r.stderr).toBe(4);
  });
});
