/**
 * A warm rebuild of a real release tree reuses what code generation made,
 * and the kubelet stays byte for byte the cold one. The source is Debian's
 * Kubernetes 1.20.2 tarball (it carries vendor/; `make` runs
 * `generated_files` before build.sh), downloaded once into a cache folder
 * and checked against the sha256 Debian's .dsc records. Three builds through
 * the CLI, each in its own fresh staged tree: cold (the cache of generated
 * files is empty), warm (the same inputs: restored, make regenerates
 * nothing), and one whose source differs in one generator input file (a
 * comment in a +k8s:deepcopy-gen package): nothing reused.
 *
 * KUBELET_NOKMEM_SOURCE_CACHE names the download folder (default
 * ~/.cache/kubelet-nokmem/sources). A failed download fails the test.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream } from "node:stream/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";

const URL = "https://deb.debian.org/debian/pool/main/k/kubernetes/kubernetes_1.20.5+really1.20.2.orig.tar.gz";
/** Checksums-Sha256 of kubernetes_1.20.5+really1.20.2-1.1+deb12u1.dsc (Debian 12). */
const SHA256 = "b83c0780efb182d928dc63d46488a847f161f04e40a94b96bf5247dd671ecdfc";
const VERSION = "1.20.2";
const IMAGE = process.env.KUBELET_NOKMEM_TEST_IMAGE ?? "kubelet-nokmem-toolchain:go1.19";
/** The same build date for every build, so a directory source stamps what the tarball does. */
const EPOCH = "1610496000";
/** A generator input: vendor/k8s.io/api is staging's, and +k8s:deepcopy-gen=package is in its doc.go. */
const GENERATOR_INPUT = "staging/src/k8s.io/api/storage/v1alpha1/types.go";

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** The tarball from the cache folder, downloaded once; never a file with another digest. */
async function realSource(): Promise<string> {
  const dir = process.env.KUBELET_NOKMEM_SOURCE_CACHE ?? join(homedir(), ".cache", "kubelet-nokmem", "sources");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "kubernetes_1.20.5+really1.20.2.orig.tar.gz");
  if (existsSync(file) && sha256(file) === SHA256) return file;
  const part = `${file}.${process.pid}.part`;
  try {
    const r = await fetch(URL);
    if (!r.ok || !r.body) throw new Error(`HTTP ${r.status} ${r.statusText}`);
    await pipeline(Readable.fromWeb(r.body as ReadableStream<Uint8Array>), createWriteStream(part));
    const got = sha256(part);
    if (got !== SHA256) throw new Error(`sha256 ${got}, expected ${SHA256}`);
    renameSync(part, file);
    return file;
  } catch (err) {
    rmSync(part, { force: true });
    throw new Error(`the real 1.20.2 source could not be had from ${URL} into ${dir}: ${(err as Error).message}`);
  }
}

interface Built {
  code: number | null;
  json: {
    sha256: string;
    kubelet: string;
    verdict: string;
    log: string;
    generated: { reuse: string; key?: string; why?: string; saved?: string; files?: number };
  };
  stderr: string;
}

let work: string;
let cache: string;
let tarball: string;

function build(name: string, source: string): Built {
  const r = spawnSync(
    process.execPath,
    [
      CLI,
      "build",
      "--version",
      VERSION,
      "--source",
      source,
      "--image",
      IMAGE,
      "--source-date-epoch",
      EPOCH,
      "--cache-dir",
      cache,
      "--out",
      join(work, name),
      "--json",
    ],
    { encoding: "utf8", timeout: 40 * 60_000, maxBuffer: 1 << 28 },
  );
  if (r.status !== 0) throw new Error(`build ${name} exited ${r.status}:\n${r.stderr.slice(-4000)}`);
  return { code: r.status, json: JSON.parse(r.stdout) as Built["json"], stderr: r.stderr };
}

function audit(kubelet: string): string {
  const r = spawnSync(process.execPath, [CLI, "audit", kubelet, "--json"], { encoding: "utf8" });
  const reports = (JSON.parse(r.stdout) as { reports: { verdict: string }[] }).reports;
  expect(reports).toHaveLength(1);
  return reports[0]!.verdict;
}

/** The generators make built in a build, from its log (build.sh names each target it builds). */
function generatorsBuilt(log: string): string[] {
  return [...readFileSync(log, "utf8").matchAll(/^\s+(\S*\/cmd\/[a-z-]+-gen|\S*\/go-bindata)$/gm)].map((m) => m[1]!.replace(/.*\//, ""));
}

let cold: Built;
let warm: Built;

beforeAll(async () => {
  tarball = await realSource();
  work = mkdtempSync(join(tmpdir(), "kn-generated-"));
  cache = join(work, "cache");
  cold = build("cold", tarball);
  warm = build("warm", tarball);
  // A cold build with an empty Go cache on a fresh, busy 2-core machine: over the slow project's 20 minutes for a hook.
}, 45 * 60_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("a warm rebuild of Kubernetes 1.20.2 reuses what code generation made", () => {
  it("the cold build generates and keeps its generated files", () => {
    expect(cold.json.generated).toMatchObject({ reuse: "generated", why: "no entry for this key", saved: "saved" });
    expect(cold.json.generated.files).toBeGreaterThan(200);
    expect(generatorsBuilt(cold.json.log)).toEqual(
      expect.arrayContaining(["prerelease-lifecycle-gen", "deepcopy-gen", "defaulter-gen", "conversion-gen", "openapi-gen", "go-bindata"]),
    );
  });

  it("the warm build in a fresh tree restores them, make builds no generator, and the kubelet is byte-identical", () => {
    expect(warm.json.generated).toMatchObject({ reuse: "restored", key: cold.json.generated.key });
    expect(generatorsBuilt(warm.json.log)).toEqual([]);
    expect(readFileSync(warm.json.log, "utf8")).not.toMatch(/API rule check failed/);
    expect(warm.json.sha256).toBe(cold.json.sha256);
    expect(sha256(warm.json.kubelet)).toBe(sha256(cold.json.kubelet));
  });

  it("the audit says patched for both kubelets", () => {
    expect(cold.json.verdict).toBe("patched");
    expect(warm.json.verdict).toBe("patched");
    expect(audit(cold.json.kubelet)).toBe("patched");
    expect(audit(warm.json.kubelet)).toBe("patched");
  });

  it("a source with one generator input changed reuses nothing and generates again", () => {
    const src = tempDir("kn-generated-src-");
    const tar = spawnSync("tar", ["-xzf", tarball, "-C", src, "--no-same-owner"], { encoding: "utf8" });
    expect(tar.status, tar.stderr).toBe(0);
    const tree = join(src, `kubernetes-${VERSION}`);
    const input = join(tree, GENERATOR_INPUT);
    expect(readFileSync(input, "utf8")).toMatch(/^package v1alpha1$/m);
    writeFileSync(input, `${readFileSync(input, "utf8")}\n// A comment: the same types, another input.\n`);
    const changed = build("changed", tree);
    expect(changed.json.generated).toMatchObject({ reuse: "generated", why: "no entry for this key", saved: "saved" });
    expect(changed.json.generated.key).not.toBe(cold.json.generated.key);
    expect(generatorsBuilt(changed.json.log)).toEqual(expect.arrayContaining(["deepcopy-gen", "conversion-gen", "openapi-gen"]));
    expect(audit(changed.json.kubelet)).toBe("patched");
  });
});
