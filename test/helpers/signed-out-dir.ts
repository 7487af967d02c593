/**
 * A signed build output folder as `build --sign-key` publishes it, written by
 * the build's own writers (artifact/attest.ts): each kubelet, SHA256SUMS,
 * the SBOMs, both Statements and both envelopes, over a fixture tree of the
 * release's era. No Go, no Docker: the kubelets are small ELF-headed files.
 * The one builder of such folders for the provenance, doc and hostile tests.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeAttestations } from "../../src/artifact/attest.js";
import type { SigningKey } from "../../src/artifact/dsse.js";
import { loadSeries } from "../../src/patch/series.js";
import { treeFiles, type Era } from "../fixtures/k8s-tree.js";
import { sha } from "../pin/outdir-fixture.js";

interface SignedOutDirOptions {
  /** The output folder to write (made if missing). */
  out: string;
  /** Where the fixture tree goes (made if missing). */
  tree: string;
  era: Era;
  version: string;
  /** `build-tag` records a build setting, `kmem-override` its patch series of the era's line. */
  strategy: "build-tag" | "kmem-override";
  /** Each platform's kubelet bytes. */
  binaries: Record<string, Buffer>;
  signKey: SigningKey;
  /** The source tarball the build took, or a git tag (the default). */
  tarball?: string;
  /** Written as the build.log byproduct when given. */
  log?: string;
  invocationId: string;
}

interface SignedOutDir {
  out: string;
  subjects: { platform: string; name: string; sha256: string }[];
  /** What the attestation writer published, in its order. */
  files: string[];
}

export function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
}

export async function writeSignedOutDir(o: SignedOutDirOptions): Promise<SignedOutDir> {
  writeTree(o.tree, treeFiles({ era: o.era, version: o.version }).files);
  const line = o.version.split(".").slice(0, 2).join(".");
  const subjects = Object.entries(o.binaries).map(([platform, bytes]) => {
    mkdirSync(join(o.out, platform), { recursive: true });
    writeFileSync(join(o.out, platform, "kubelet"), bytes);
    return { platform, name: `${platform}/kubelet`, sha256: sha(bytes) };
  });
  writeFileSync(join(o.out, "SHA256SUMS"), subjects.map((s) => `${s.sha256}  ${s.name}\n`).join(""));
  if (o.log !== undefined) writeFileSync(join(o.out, "build.log"), o.log);
  const env: [string, string][] = [["GOFLAGS", "-tags=nokmem"]];
  const series = o.strategy === "kmem-override" ? loadSeries(`kmem-override/${line}`).patches : [];
  const files = await writeAttestations({
    product: "kubelet",
    subjects,
    version: o.version,
    strategy: o.strategy,
    line,
    platforms: Object.keys(o.binaries),
    source: o.tarball
      ? {
          kind: "archive",
          origin: o.tarball,
          ref: null,
          commit: null,
          treeDigest: `sha256:${"d".repeat(64)}`,
          dirHash: "e".repeat(64),
          gitTree: null,
          archiveSha256: sha(readFileSync(o.tarball)),
        }
      : {
          kind: "git",
          origin: "https://github.com/kubernetes/kubernetes.git",
          ref: `v${o.version}`,
          commit: "c".repeat(40),
          treeDigest: `sha256:${"d".repeat(64)}`,
          dirHash: "e".repeat(64),
          gitTree: "f".repeat(40),
        },
    sourceDateEpoch: 1_600_000_000,
    env,
    command: ["docker", "run", "--network", "none", "kubelet-nokmem-toolchain:go1.19", "make", "WHAT=cmd/kubelet"],
    runner: "docker",
    image: { ref: "kubelet-nokmem-toolchain:go1.19", id: `sha256:${"a".repeat(64)}` },
    go: "1.19.8",
    patches: series.map((p) => ({ name: p.name, sha256: p.sha256 })),
    tree: o.tree,
    change:
      o.strategy === "kmem-override"
        ? { kind: "patches", patches: series.map((p) => ({ name: p.name, sha256: p.sha256, text: p.text })) }
        : { kind: "build-setting", env },
    verdict: {
      verdict: "patched",
      binaries: subjects.map(({ platform }) => ({
        platform,
        verdict: "patched" as const,
        gitVersion: `v${o.version}`,
        evidence:
          o.strategy === "kmem-override"
            ? [{ check: "string memory.kmem.limit_in_bytes", found: false }]
            : [{ check: "disabled-string:runc-build", found: true }],
      })),
    },
    linked: {},
    signKey: o.signKey,
    stage: async (rel) => {
      mkdirSync(dirname(join(o.out, rel)), { recursive: true });
      return join(o.out, rel);
    },
    tool: { name: "kubelet-nokmem", version: "0.1.0" },
    invocationId: o.invocationId,
    startedOn: new Date("2024-01-01T00:00:00Z"),
    finishedOn: new Date("2024-01-01T00:03:00Z"),
    byproducts: o.log === undefined ? [] : [{ name: "build.log", digest: { sha256: sha(o.log) } }],
  });
  return { out: o.out, subjects, files };
}
