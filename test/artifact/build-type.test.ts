/**
 * The URIs a manifest names for its build type and builders open this
 * project's own documentation: each is the repository (package.json's) plus a
 * file that exists in it plus a heading of that file; and the source
 * dependency's digest is of what its URI names.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  BUILD_TYPE,
  BUILD_TYPE_DOC,
  BUILDER_IDS,
  provenanceStatement,
  readProvenance,
  statementBytes,
  type ProvenanceInput,
} from "../../src/artifact/manifest.js";
import { ROOT } from "../helpers/cli.js";

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { repository: { url: string }; homepage: string };
const REPOSITORY = pkg.repository.url.replace(/^git\+/, "").replace(/\.git$/, "");

/** GitHub's heading anchors: lower case, punctuation but "-" and "_" dropped, spaces to "-". */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6} +(.+?) *$/gm)) {
    out.add(
      m[1]!
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-"),
    );
  }
  return out;
}

describe("buildType and builder.id resolve to this repository's docs", () => {
  const uris: [string, string][] = [["buildType", BUILD_TYPE], ...Object.entries(BUILDER_IDS).map(([r, id]): [string, string] => [`builder.id (${r})`, id])];

  it.each(uris)("%s is <repository>/blob/main/<a file in the repository>#<one of its headings>", (_what, uri) => {
    expect(REPOSITORY).toBe("https://github.com/kubelet-nokmem/kubelet-nokmem");
    expect(pkg.homepage.startsWith(REPOSITORY)).toBe(true);
    const url = new URL(uri);
    expect(`${url.origin}${url.pathname}`).toBe(BUILD_TYPE_DOC);
    const prefix = `${REPOSITORY}/blob/main/`;
    expect(BUILD_TYPE_DOC.startsWith(prefix)).toBe(true);
    const file = readFileSync(join(ROOT, BUILD_TYPE_DOC.slice(prefix.length)), "utf8");
    expect(anchors(file)).toContain(url.hash.slice(1));
  });

  it("the three URIs are distinct and the doc lists each of them", () => {
    const doc = readFileSync(join(ROOT, "docs", "build-type.md"), "utf8");
    expect(new Set(uris.map(([, u]) => u)).size).toBe(3);
    for (const [, u] of uris) expect(doc).toContain(u);
  });

  it("the doc defines every externalParameters and internalParameters field a manifest carries", () => {
    const doc = readFileSync(join(ROOT, "docs", "build-type.md"), "utf8");
    const pred = provenanceStatement(input("archive")).predicate.buildDefinition;
    for (const k of [...Object.keys(pred.externalParameters), ...Object.keys(pred.internalParameters ?? {})]) expect(doc).toContain(`| \`${k}\` |`);
    for (const d of pred.resolvedDependencies ?? []) expect(doc).toContain(`\`${d.name!.replace(/:.*/, ":<name>")}\``);
  });
});

function input(kind: "git" | "archive" | "directory"): ProvenanceInput {
  return {
    product: "kubelet",
    subjects: [{ name: "linux/amd64/kubelet", sha256: "1".repeat(64) }],
    version: "1.20.2",
    strategy: "build-tag",
    line: "1.20",
    platforms: ["linux/amd64"],
    source: {
      kind,
      origin:
        kind === "git" ? "https://github.com/kubernetes/kubernetes.git" : kind === "archive" ? "/srv/src/kubernetes_1.20.2.orig.tar.gz" : "/srv/src/kubernetes",
      ref: kind === "git" ? "v1.20.2" : null,
      commit: kind === "directory" ? null : "c".repeat(40),
      treeDigest: `sha256:${"d".repeat(64)}`,
      dirHash: "e".repeat(64),
      gitTree: kind === "git" ? "f".repeat(40) : null,
      archiveSha256: kind === "archive" ? "b".repeat(64) : null,
    },
    sourceDateEpoch: 1_600_000_000,
    env: [["GOFLAGS", "-tags=nokmem"]],
    command: ["make", "WHAT=cmd/kubelet"],
    runner: "docker",
    image: { ref: "kubelet-nokmem-toolchain:go1.19", id: `sha256:${"a".repeat(64)}` },
    go: "1.19.8",
    toolchain: { expected: "1.15.5", found: "1.19.8", matches: false, note: "newer" },
    patches: [{ name: "0001-x.patch", sha256: "9".repeat(64) }],
    tool: { name: "kubelet-nokmem", version: "0.1.0" },
    invocationId: "i",
    startedOn: new Date(0),
    finishedOn: new Date(1000),
    byproducts: [],
  };
}

describe("the source dependency's digest is of what its uri names", () => {
  const source = (kind: "git" | "archive" | "directory") =>
    provenanceStatement(input(kind)).predicate.buildDefinition.resolvedDependencies!.find((d) => d.name === "source")!;

  it("an archive: the file's sha256; the header's commit and the extracted tree's dirHash are annotations", () => {
    const s = source("archive");
    expect(s.uri).toBe("file:///srv/src/kubernetes_1.20.2.orig.tar.gz");
    expect(s.digest).toEqual({ sha256: "b".repeat(64) });
    expect(s.annotations).toMatchObject({ kind: "archive", archiveCommit: "c".repeat(40), dirHash: "e".repeat(64) });
  });

  it("a git source: the commit it names, its tree, the checkout's dirHash", () => {
    const s = source("git");
    expect(s.uri).toBe(`git+https://github.com/kubernetes/kubernetes.git@${"c".repeat(40)}`);
    expect(s.digest).toEqual({ gitCommit: "c".repeat(40), gitTree: "f".repeat(40), dirHash: "e".repeat(64) });
  });

  it("a directory: its dirHash", () => {
    expect(source("directory").digest).toEqual({ dirHash: "e".repeat(64) });
  });

  it("the reader gives an archive build's commit from the annotation, and reads 0.1.0's URIs", () => {
    expect(readProvenance(statementBytes(provenanceStatement(input("archive"))).toString(), "manifest.json").source.commit).toBe("c".repeat(40));
    const old = provenanceStatement(input("git"));
    old.predicate.buildDefinition.buildType = "https://github.com/kubelet-nokmem/kubelet-nokmem/build/v1";
    old.predicate.runDetails.builder.id = "https://github.com/kubelet-nokmem/kubelet-nokmem/builders/docker/v1";
    expect(readProvenance(statementBytes(old).toString(), "manifest.json")).toMatchObject({ runner: "docker", source: { commit: "c".repeat(40) } });
  });
});
