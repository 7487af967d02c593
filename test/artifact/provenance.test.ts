/**
 * The attestations a build publishes, checked by implementations this project
 * did not write: the in-toto/SLSA protos compiled and parsed strictly
 * (intoto-spec/), openssl over the DSSE pre-authentication encoding,
 * ssh-keygen for the keyid, the CycloneDX library's 1.6 schema validator.
 * Then the CLI's own readers: pin --key records the keyid, verify --key and
 * audit --manifest --key exit 4 on a flipped byte anywhere.
 */
import { execFileSync } from "node:child_process";
import { createPublicKey } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Spec, Validation } from "@cyclonedx/cyclonedx-library";
import { Ajv2020 } from "ajv/dist/2020.js";
import ajvFormats from "ajv-formats";
import { bundleFromJSON } from "@sigstore/bundle";
import { toSignedEntity, Verifier } from "@sigstore/verify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSigningKey } from "../../src/artifact/keys.js";
import { checkOutDir } from "../../src/artifact/outdir.js";
import { pae, type Envelope } from "../../src/artifact/dsse.js";
import { BUILDER_IDS, provenanceStatement, readProvenance } from "../../src/artifact/manifest.js";
import { Publication } from "../../src/artifact/publish.js";
import { loadSeries } from "../../src/patch/series.js";
import { readVendoredModules } from "../../src/tree/vendored-modules.js";
import { productSbom } from "../../src/artifact/sbom.js";
import { ERA_FACTS, ERAS, treeFiles } from "../fixtures/k8s-tree.js";
import { cli, ROOT as REPO_ROOT } from "../helpers/cli.js";
import { writeSignedOutDir, writeTree } from "../helpers/signed-out-dir.js";
import { tempDir } from "../helpers/tmp.js";
import { fakeKubelet, sha } from "../pin/outdir-fixture.js";
import { strictParseStatement } from "./intoto-spec/strict-parser.js";

// Folders that outlive one test (made in beforeAll), removed when the file is done.
const suiteDirs: string[] = [];
const suiteDir = () => {
  const d = mkdtempSync(join(tmpdir(), "kn-prov-"));
  suiteDirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of suiteDirs) rmSync(d, { recursive: true, force: true });
});

const KINDS = { ed25519: ["-algorithm", "ed25519"], "ecdsa-p256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"] } as const;
type Kind = keyof typeof KINDS;

function keyPair(dir: string, kind: Kind): { key: string; pub: string } {
  const key = join(dir, `${kind}.key`);
  const pub = join(dir, `${kind}.pub`);
  execFileSync("openssl", ["genpkey", ...KINDS[kind], "-out", key], { stdio: "pipe" });
  execFileSync("openssl", ["pkey", "-in", key, "-pubout", "-out", pub], { stdio: "pipe" });
  return { key, pub };
}

/** A build output folder as `build` publishes it (1.16.15, kmem-override, two platforms), signed with `key`. */
async function signedOutDir(kind: Kind): Promise<{ out: string; pub: string; key: string; binaries: Record<string, Buffer> }> {
  const dir = suiteDir();
  const { key, pub } = keyPair(dir, kind);
  const out = join(dir, "out");
  const binaries = { "linux/amd64": fakeKubelet("amd64"), "linux/arm64": fakeKubelet("arm64") };
  const { files } = await writeSignedOutDir({
    out,
    tree: join(dir, "tree"),
    era: "1.16",
    version: "1.16.15",
    strategy: "kmem-override",
    binaries,
    signKey: await loadSigningKey(key),
    invocationId: "test",
  });
  expect(files).toEqual(["linux/amd64/sbom.cdx.json", "linux/arm64/sbom.cdx.json", "verdict.json", "verdict.dsse.json", "manifest.json", "manifest.dsse.json"]);
  return { out, pub, key, binaries };
}

function catalogCopy(): string {
  const p = join(suiteDir(), "versions.json");
  copyFileSync(join(REPO_ROOT, "versions.json"), p);
  return p;
}

const flip = (file: string, at: (b: Buffer) => number) => {
  const b = readFileSync(file);
  const i = at(b);
  b[i] = b[i] === 0x41 ? 0x42 : 0x41; // stays valid JSON text inside a string
  writeFileSync(file, b);
};

describe("the Statements, parsed by the spec's protos (strict protojson + Validate())", () => {
  let built: Awaited<ReturnType<typeof signedOutDir>>;
  beforeAll(async () => {
    built = await signedOutDir("ed25519");
  });

  it("accepts manifest.json and verdict.json as published", () => {
    const m = strictParseStatement(readFileSync(join(built.out, "manifest.json"), "utf8"));
    expect(m.provenance).not.toBeNull();
    expect(strictParseStatement(readFileSync(join(built.out, "verdict.json"), "utf8")).provenance).toBeNull();
  });

  it("verdict.json's predicate follows the JSON Schema published in docs/", () => {
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    ajvFormats.default(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(join(REPO_ROOT, "docs/schemas/verdict-v2.schema.json"), "utf8")));
    const verdict = JSON.parse(readFileSync(join(built.out, "verdict.json"), "utf8"));
    expect(verdict.predicateType).toBe(validate.schema && (validate.schema as { $id: string }).$id);
    expect(validate(verdict.predicate), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...verdict.predicate, verdict: "nokmem" })).toBe(false);
  });

  it("rejects what the earlier manifest had: a top-level verdict, an empty image digest key of a known algorithm", () => {
    const st = JSON.parse(readFileSync(join(built.out, "manifest.json"), "utf8"));
    expect(() => strictParseStatement(JSON.stringify({ ...st, verdict: { verdict: "nokmem" } }))).toThrow(/verdict/);
    const short = structuredClone(st);
    short.predicate.buildDefinition.resolvedDependencies[0].digest.sha256 = "abcd";
    expect(() => strictParseStatement(JSON.stringify(short))).toThrow(/incorrect length/);
    // and this project's reader agrees on both
    expect(() => readProvenance(JSON.stringify({ ...st, verdict: {} }), "m")).toThrow(/verdict/);
    expect(() => readProvenance(JSON.stringify(short), "m")).toThrow(/sha256/);
  });

  it("names the source, image and builder as the spec recommends", () => {
    const m = JSON.parse(readFileSync(join(built.out, "manifest.json"), "utf8"));
    const [source, , image] = [m.predicate.buildDefinition.resolvedDependencies[0], null, m.predicate.buildDefinition.resolvedDependencies.at(-1)];
    expect(source.uri).toBe(`git+https://github.com/kubernetes/kubernetes.git@${"c".repeat(40)}`);
    expect(Object.keys(source.digest).sort()).toEqual(["dirHash", "gitCommit", "gitTree"]);
    expect(image).toMatchObject({ name: "image", uri: "pkg:docker/kubelet-nokmem-toolchain@go1.19", digest: { sha256: "a".repeat(64) } });
    expect(m.predicate.runDetails.builder.id).toBe(BUILDER_IDS.docker);
    expect(m.predicate.runDetails.byproducts.map((b: { name: string }) => b.name)).toEqual([
      "linux/amd64/sbom.cdx.json",
      "linux/arm64/sbom.cdx.json",
      "verdict.json",
    ]);
  });

  it("gives --runner local its own builder id, a file: URI for the source folder and no image dependency", () => {
    const st = provenanceStatement({
      product: "kubelet",
      subjects: [{ name: "linux/amd64/kubelet", sha256: "1".repeat(64) }],
      version: "1.20.2",
      strategy: "build-tag",
      line: "1.20",
      platforms: ["linux/amd64"],
      source: {
        kind: "directory",
        origin: "/src/kubernetes 1.20",
        ref: null,
        commit: null,
        treeDigest: `sha256:${"d".repeat(64)}`,
        dirHash: "e".repeat(64),
        gitTree: null,
      },
      sourceDateEpoch: 1,
      env: [],
      command: ["make"],
      runner: "local",
      image: null,
      go: "1.19.8",
      goBinary: { path: "/usr/lib/go-1.19/bin/go", sha256: "2".repeat(64) },
      patches: [],
      tool: { name: "kubelet-nokmem", version: "0.1.0" },
      invocationId: "x",
      startedOn: new Date(0),
      finishedOn: new Date(0),
      byproducts: [],
    });
    strictParseStatement(JSON.stringify(st));
    expect(st.predicate.runDetails.builder.id).toBe(BUILDER_IDS.local);
    expect(BUILDER_IDS.local).not.toBe(BUILDER_IDS.docker);
    const deps = st.predicate.buildDefinition.resolvedDependencies!;
    expect(deps[0]).toMatchObject({ uri: "file:///src/kubernetes%201.20", digest: { dirHash: "e".repeat(64) } });
    expect(deps.find((d) => d.name === "image")).toBeUndefined();
    expect(deps.find((d) => d.name === "go")).toEqual({
      name: "go",
      uri: "file:///usr/lib/go-1.19/bin/go",
      digest: { sha256: "2".repeat(64) },
      annotations: { goVersion: "1.19.8" },
    });
  });
});

describe.each(Object.keys(KINDS) as Kind[])("DSSE signatures (%s), checked by openssl", (kind) => {
  let built: Awaited<ReturnType<typeof signedOutDir>>;
  beforeAll(async () => {
    built = await signedOutDir(kind);
  });

  it.each(["manifest", "verdict"])("%s.dsse.json verifies over the PAE of exactly the Statement file's bytes", (name) => {
    const env = JSON.parse(readFileSync(join(built.out, `${name}.dsse.json`), "utf8")) as Envelope;
    expect(env.payloadType).toBe("application/vnd.in-toto+json");
    const payload = Buffer.from(env.payload, "base64");
    expect(payload.equals(readFileSync(join(built.out, `${name}.json`)))).toBe(true);
    const dir = tempDir();
    // The PAE written out by hand from the DSSE spec, not by pae(): "DSSEv1" SP len SP type SP len SP body.
    const byHand = Buffer.concat([Buffer.from(`DSSEv1 ${env.payloadType.length} ${env.payloadType} ${payload.length} `), payload]);
    expect(pae(env.payloadType, payload).equals(byHand)).toBe(true);
    writeFileSync(join(dir, "pae"), byHand);
    writeFileSync(join(dir, "sig"), Buffer.from(env.signatures[0]!.sig, "base64"));
    const verify = () =>
      kind === "ed25519"
        ? execFileSync("openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", built.pub, "-rawin", "-in", join(dir, "pae"), "-sigfile", join(dir, "sig")], {
            encoding: "utf8",
          })
        : execFileSync("openssl", ["dgst", "-sha256", "-verify", built.pub, "-signature", join(dir, "sig"), join(dir, "pae")], { encoding: "utf8" });
    expect(verify()).toMatch(/Verified/);
    flip(join(dir, "pae"), (b) => b.indexOf("kubelet"));
    expect(verify).toThrow();
  });

  it("verifies with sigstore-js's verifier (a DSSE bundle with the key as its hint, no transparency log)", () => {
    const env = JSON.parse(readFileSync(join(built.out, "manifest.dsse.json"), "utf8")) as Envelope;
    const keyid = env.signatures[0]!.keyid!;
    const bundleOf = (e: Envelope) =>
      bundleFromJSON({
        mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
        verificationMaterial: { publicKey: { hint: keyid }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
        dsseEnvelope: { payload: e.payload, payloadType: e.payloadType, signatures: e.signatures.map((x) => ({ keyid: x.keyid ?? "", sig: x.sig })) },
      });
    const trust = {
      certificateAuthorities: [],
      timestampAuthorities: [],
      tlogs: [],
      ctlogs: [],
      publicKey: (hint: string) => {
        if (hint !== keyid) throw new Error(`unknown key ${hint}`);
        return { publicKey: createPublicKey(readFileSync(built.pub, "utf8")), validFor: () => true };
      },
    };
    const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, tsaThreshold: 0 });
    expect(() => verifier.verify(toSignedEntity(bundleOf(env)))).not.toThrow();
    const payload = Buffer.from(env.payload, "base64");
    const at = payload.indexOf("kubelet");
    payload[at] = payload[at]! ^ 1;
    expect(() => verifier.verify(toSignedEntity(bundleOf({ ...env, payload: payload.toString("base64") })))).toThrow(/signature/i);
  });

  it("names the key by its SSH SHA256 fingerprint (what ssh-keygen -l prints)", () => {
    const env = JSON.parse(readFileSync(join(built.out, "manifest.dsse.json"), "utf8")) as Envelope;
    expect(env.signatures[0]!.keyid).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    if (kind !== "ecdsa-p256") return; // this ssh-keygen imports PKCS#8 public keys for ECDSA only
    const ssh = join(tempDir(), "k.pub");
    writeFileSync(ssh, execFileSync("ssh-keygen", ["-i", "-m", "PKCS8", "-f", built.pub]));
    expect(execFileSync("ssh-keygen", ["-l", "-f", ssh], { encoding: "utf8" }).split(" ")[1]).toBe(env.signatures[0]!.keyid);
  });
});

describe("pin, verify and audit with --key", () => {
  let built: Awaited<ReturnType<typeof signedOutDir>>;
  let catalog: string;
  beforeAll(async () => {
    built = await signedOutDir("ecdsa-p256");
    catalog = catalogCopy();
    const pinned = cli(["pin", built.out, "--catalog", catalog, "--key", built.pub, "--json"]);
    expect(pinned.code, pinned.stderr).toBe(0);
  });

  it("pin records the keyid; verify --key matches; the reader returns the typed build", async () => {
    const pin = JSON.parse(readFileSync(catalog, "utf8")).pins["1.16.15"];
    const keyid = JSON.parse(readFileSync(join(built.out, "manifest.dsse.json"), "utf8")).signatures[0].keyid;
    expect(pin).toMatchObject({
      keyid,
      strategy: "kmem-override",
      commit: "c".repeat(40),
      image: "kubelet-nokmem-toolchain:go1.19",
      imageId: `sha256:${"a".repeat(64)}`,
    });
    expect(pin.patches.length).toBeGreaterThan(0);
    const ok = cli(["verify", built.out, "--catalog", catalog, "--key", built.pub, "--json"]);
    expect(ok.code, ok.stderr).toBe(0);
    const read = await checkOutDir(built.out);
    expect(read).toMatchObject({
      provenance: { version: "1.16.15", runner: "docker", strategy: "kmem-override" },
      verdict: { predicate: { verdict: "patched" } },
      signature: null,
    });
  });

  it.each([
    ["the envelope's signature", "manifest.dsse.json", (b: Buffer) => b.indexOf('"sig":"') + 12],
    ["the envelope's payload", "manifest.dsse.json", (b: Buffer) => b.indexOf('"payload":"') + 40],
    ["manifest.json (the payload beside the envelope)", "manifest.json", (b: Buffer) => b.indexOf("build-type.md#build-type-v1") + 1],
    ["the verdict's envelope", "verdict.dsse.json", (b: Buffer) => b.indexOf('"payload":"') + 40],
    ["a kubelet", "linux/arm64/kubelet", (b: Buffer) => b.length - 10],
  ])("a flipped byte in %s makes verify --key exit 4", async (_what, file, at) => {
    const copy = join(tempDir(), "out");
    execFileSync("cp", ["-a", built.out, copy]);
    flip(join(copy, file), at);
    const r = cli(["verify", copy, "--catalog", catalog, "--key", built.pub]);
    expect(r.code, r.stderr).toBe(4);
  });

  it("another key's public half is exit 4; a missing envelope with --key is exit 4", () => {
    const other = keyPair(tempDir(), "ed25519");
    expect(cli(["verify", built.out, "--catalog", catalog, "--key", other.pub]).code).toBe(4);
    const copy = join(tempDir(), "out");
    execFileSync("cp", ["-a", built.out, copy]);
    execFileSync("rm", [join(copy, "manifest.dsse.json")]);
    const r = cli(["verify", copy, "--catalog", catalog, "--key", built.pub]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/manifest.dsse.json/);
  });

  it("audit --manifest --key: a bad signature is exit 4 before any binary is judged", () => {
    const copy = join(tempDir(), "out");
    execFileSync("cp", ["-a", built.out, copy]);
    flip(join(copy, "manifest.json"), (b) => b.indexOf("build-type.md#build-type-v1") + 1);
    const r = cli(["audit", join(copy, "linux/amd64/kubelet"), "--catalog", catalog, "--manifest", copy, "--key", built.pub, "--fail-on", "none"]);
    expect(r.code, r.stderr).toBe(4);
    // A kubelet that is not the signed subject: the pin check against the signed manifest is a mismatch, exit 4.
    const changed = join(tempDir(), "kubelet");
    writeFileSync(changed, Buffer.concat([built.binaries["linux/amd64"]!, Buffer.from("x")]));
    const mismatch = cli(["audit", changed, "--catalog", catalog, "--manifest", built.out, "--key", built.pub, "--fail-on", "mismatch", "--json"]);
    expect(mismatch.code, mismatch.stderr).toBe(4);
    expect(JSON.parse(mismatch.stdout).reports[0].pin.status).toBe("mismatch");
    const good = cli([
      "audit",
      join(built.out, "linux/amd64/kubelet"),
      "--catalog",
      catalog,
      "--manifest",
      built.out,
      "--key",
      built.pub,
      "--fail-on",
      "none",
      "--json",
    ]);
    expect(good.code, good.stderr).toBe(0);
    expect(JSON.parse(good.stdout).reports[0].pin.checks.map((c: { source: string }) => c.source)).toContain(join(built.out, "manifest.json"));
  });
});

describe("the CycloneDX SBOM", () => {
  const validator = new Validation.JsonStrictValidator(Spec.Version.v1dot6);

  it("of a patched build passes the library's 1.6 schema and carries the patch as pedigree", async () => {
    const built = await signedOutDir("ed25519");
    const text = readFileSync(join(built.out, "linux/arm64/sbom.cdx.json"), "utf8");
    expect(await validator.validate(text)).toBeNull();
    const bom = JSON.parse(text);
    expect(bom.specVersion).toBe("1.6");
    expect(bom.metadata.component).toMatchObject({
      name: "kubelet",
      version: "v1.16.15",
      hashes: [{ alg: "SHA-256", content: sha(built.binaries["linux/arm64"]!) }],
    });
    const patches = bom.metadata.component.pedigree.patches;
    const series = loadSeries("kmem-override/1.16");
    expect(patches.length).toBe(series.patches.length);
    expect(sha(patches[0].diff.text.content)).toBe(series.patches[0]!.sha256);
    expect(bom.metadata.component.pedigree.ancestors[0].purl).toBe("pkg:golang/k8s.io/kubernetes@v1.16.15#cmd/kubelet");
  });

  it.each(ERAS)("of a %s-era tree lists the runc version the tree vendors, flagged kmem-relevant", async (era) => {
    const root = tempDir("kn-sbom-");
    writeTree(root, treeFiles({ era }).files);
    const vendored = await readVendoredModules(root);
    expect(vendored.source).toBe(ERA_FACTS[era].deps === "godeps" ? "Godeps/Godeps.json" : "vendor/modules.txt");
    const text = productSbom({
      product: "kubelet",
      version: ERA_FACTS[era].version,
      platform: "linux/amd64",
      sha256: "1".repeat(64),
      strategy: "build-tag",
      go: "1.19.8",
      vendored,
      linked: { known: false, reason: "a GOPATH-mode build" },
      change: { kind: "build-setting", env: [["GOFLAGS", "-tags=nokmem"]] },
      tool: { name: "kubelet-nokmem", version: "0.1.0" },
      timestamp: new Date("2024-01-01T00:00:00Z"),
    });
    expect(await validator.validate(text)).toBeNull();
    const bom = JSON.parse(text);
    const runc = bom.components.filter((c: { name: string }) => c.name === "github.com/opencontainers/runc");
    expect(runc).toHaveLength(1);
    expect(runc[0].version).toBe(ERA_FACTS[era].runc);
    expect(runc[0].properties).toContainEqual({ name: "kubelet-nokmem:kmem-relevant", value: "true" });
    expect(bom.components.find((c: { name: string }) => c.name === "go")).toMatchObject({ type: "platform", version: "1.19.8" });
    // A build setting is not a diff: a note and a property, no patch.
    expect(bom.metadata.component.pedigree.patches).toBeUndefined();
    expect(bom.metadata.component.pedigree.notes).toContain("GOFLAGS=-tags=nokmem");
    expect(bom.metadata.component.properties).toContainEqual({ name: "kubelet-nokmem:build-setting", value: "GOFLAGS=-tags=nokmem" });
  });
});

describe("a later publication into the same folder", () => {
  it("drops the earlier build's envelopes when it is unsigned, and the SBOMs of platforms it no longer has", async () => {
    const out = join(tempDir(), "out");
    const sums = (names: string[]) => names.map((n) => `${"a".repeat(64)}  ${n}\n`).join("");
    const publish = async (files: Record<string, string>) => {
      const pub = await Publication.begin(out);
      for (const [rel, text] of Object.entries(files)) writeFileSync(await pub.stagedPath(rel), text);
      await pub.commit(Object.keys(files));
    };
    await publish({
      "linux/amd64/kubelet": "1",
      "linux/amd64/sbom.cdx.json": "{}",
      "linux/arm64/kubelet": "1",
      "linux/arm64/sbom.cdx.json": "{}",
      "manifest.json": "{}",
      "manifest.dsse.json": "{}",
      "verdict.json": "{}",
      "verdict.dsse.json": "{}",
      SHA256SUMS: sums(["linux/amd64/kubelet", "linux/arm64/kubelet"]),
    });
    await publish({
      "linux/amd64/kubelet": "2",
      "linux/amd64/sbom.cdx.json": "{}",
      "manifest.json": "{}",
      "verdict.json": "{}",
      SHA256SUMS: sums(["linux/amd64/kubelet"]),
    });
    expect(execFileSync("find", [".", "-type", "f"], { cwd: out, encoding: "utf8" }).split("\n").filter(Boolean).sort()).toEqual([
      "./SHA256SUMS",
      "./linux/amd64/kubelet",
      "./linux/amd64/sbom.cdx.json",
      "./manifest.json",
      "./verdict.json",
    ]);
  });
});
