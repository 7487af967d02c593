import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatSha256Sums, parseSha256Sums, sha256File } from "../../src/artifact/checksums.js";
import { BUILDER_IDS, PROVENANCE_TYPE, provenanceStatement, STATEMENT_TYPE } from "../../src/artifact/manifest.js";
import { Publication } from "../../src/artifact/publish.js";
import { acquireLock } from "../../src/io/lock.js";

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "kn-artifact-"));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe("SHA256SUMS", () => {
  it("is accepted by the real sha256sum -c, with names relative to its folder", async () => {
    mkdirSync(join(tmp, "linux/amd64"), { recursive: true });
    mkdirSync(join(tmp, "linux/arm64"), { recursive: true });
    writeFileSync(join(tmp, "linux/amd64/kubelet"), "amd64 bytes");
    writeFileSync(join(tmp, "linux/arm64/kubelet"), "arm64 bytes");
    const names = ["linux/arm64/kubelet", "linux/amd64/kubelet"];
    const text = formatSha256Sums(await Promise.all(names.map(async (name) => ({ name, sha256: await sha256File(join(tmp, name)) }))));
    writeFileSync(join(tmp, "SHA256SUMS"), text);
    const out = execFileSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: tmp, encoding: "utf8" });
    expect(out).toBe("linux/amd64/kubelet: OK\nlinux/arm64/kubelet: OK\n");
    expect(parseSha256Sums(text).map((e) => e.name)).toEqual(["linux/amd64/kubelet", "linux/arm64/kubelet"]);
    writeFileSync(join(tmp, "linux/amd64/kubelet"), "tampered");
    expect(() => execFileSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: tmp, stdio: "pipe" })).toThrow();
  });

  it("matches sha256sum's own digest", async () => {
    writeFileSync(join(tmp, "f"), Buffer.alloc(3_000_000, 7));
    expect(await sha256File(join(tmp, "f"))).toBe(execFileSync("sha256sum", [join(tmp, "f")], { encoding: "utf8" }).split(" ")[0]);
  });

  it.each([["/abs/kubelet"], ["a\nb"]])("refuses the name %j", (name) => {
    expect(() => formatSha256Sums([{ name, sha256: "a".repeat(64) }])).toThrow();
  });
});

describe("manifest", () => {
  it("is an in-toto Statement v1 with a SLSA provenance v1 predicate, URIs as URIs and the tree under dirHash", () => {
    const s = provenanceStatement({
      product: "kubelet",
      subjects: [{ name: "linux/amd64/kubelet", sha256: "a".repeat(64) }],
      version: "1.16.15",
      strategy: "kmem-override",
      line: "1.16",
      platforms: ["linux/amd64"],
      source: {
        kind: "git",
        origin: "https://github.com/kubernetes/kubernetes.git",
        ref: "v1.16.15",
        commit: "c".repeat(40),
        treeDigest: `sha256:${"d".repeat(64)}`,
        dirHash: "9".repeat(64),
        gitTree: "e".repeat(40),
      },
      sourceDateEpoch: 1600000000,
      env: [["GOFLAGS", "-tags=nokmem"]],
      command: ["docker", "run", "img", "make", "WHAT=cmd/kubelet"],
      runner: "docker",
      image: { ref: "img", id: `sha256:${"f".repeat(64)}` },
      go: "1.19.8",
      patches: [{ name: "kmem-override/1.16/0001.patch", sha256: "1".repeat(64) }],
      tool: { name: "kubelet-nokmem", version: "0.1.0" },
      invocationId: "id-1",
      startedOn: new Date("2024-01-01T00:00:00Z"),
      finishedOn: new Date("2024-01-01T00:03:00Z"),
      byproducts: [{ name: "build.log", digest: { sha256: "2".repeat(64) } }],
    });
    expect(s._type).toBe(STATEMENT_TYPE);
    expect(s._type).toBe("https://in-toto.io/Statement/v1");
    expect(s.predicateType).toBe(PROVENANCE_TYPE);
    expect(s.subject).toEqual([{ name: "linux/amd64/kubelet", digest: { sha256: "a".repeat(64) } }]);
    const bd = s.predicate.buildDefinition;
    expect(Object.keys(s).sort()).toEqual(["_type", "predicate", "predicateType", "subject"]); // no verdict beside the Statement's fields
    expect(bd.externalParameters).toMatchObject({
      version: "v1.16.15",
      platforms: ["linux/amd64"],
      source: { uri: `git+https://github.com/kubernetes/kubernetes.git@${"c".repeat(40)}`, ref: "v1.16.15" },
    });
    expect(bd.internalParameters).toMatchObject({ env: { GOFLAGS: "-tags=nokmem" }, image: { id: `sha256:${"f".repeat(64)}` }, goVersion: "1.19.8" });
    const deps = bd.resolvedDependencies!;
    expect(deps.map((d) => d.name)).toEqual(["source", "patch:kmem-override/1.16/0001.patch", "image"]);
    expect(deps[0]!.digest).toEqual({ dirHash: "9".repeat(64), gitCommit: "c".repeat(40), gitTree: "e".repeat(40) });
    expect(deps[2]).toMatchObject({ uri: "pkg:docker/img@latest", digest: { sha256: "f".repeat(64) } });
    expect(s.predicate.runDetails.builder.id).toBe(BUILDER_IDS.docker);
    expect(s.predicate.runDetails.metadata).toEqual({ invocationId: "id-1", startedOn: "2024-01-01T00:00:00.000Z", finishedOn: "2024-01-01T00:03:00.000Z" });
  });
});

describe("Publication", () => {
  const out = () => join(tmp, "out");
  async function stage(pub: Publication, files: Record<string, string>) {
    for (const [rel, text] of Object.entries(files)) writeFileSync(await pub.stagedPath(rel), text);
  }

  it("shows nothing in --out until commit, then everything; staging and lock are gone", async () => {
    const pub = await Publication.begin(out());
    await stage(pub, { "linux/amd64/kubelet": "bin", SHA256SUMS: "sums" });
    expect(readdirSync(out()).filter((n) => !n.startsWith("."))).toEqual([]);
    await pub.commit(["linux/amd64/kubelet", "SHA256SUMS"]);
    expect(readFileSync(join(out(), "linux/amd64/kubelet"), "utf8")).toBe("bin");
    expect(readdirSync(out()).sort()).toEqual(["SHA256SUMS", "linux"]);
  });

  it("leaves no trace when abandoned, not even the folder it created", async () => {
    const pub = await Publication.begin(out());
    await stage(pub, { "linux/amd64/kubelet": "bin" });
    await pub.abandon();
    expect(existsSync(out())).toBe(false);
  });

  it("keeps an earlier publication intact when a later one is abandoned, and drops kubelets a new one no longer has", async () => {
    const sums = (names: string[]) => formatSha256Sums(names.map((name) => ({ name, sha256: "a".repeat(64) })));
    const first = await Publication.begin(out());
    await stage(first, { "linux/amd64/kubelet": "1", "linux/arm64/kubelet": "1", SHA256SUMS: sums(["linux/amd64/kubelet", "linux/arm64/kubelet"]) });
    await first.commit(["linux/amd64/kubelet", "linux/arm64/kubelet", "SHA256SUMS"]);
    const aborted = await Publication.begin(out());
    await stage(aborted, { "linux/amd64/kubelet": "2" });
    await aborted.abandon();
    expect(readFileSync(join(out(), "linux/amd64/kubelet"), "utf8")).toBe("1");
    const third = await Publication.begin(out());
    await stage(third, { "linux/amd64/kubelet": "3", SHA256SUMS: sums(["linux/amd64/kubelet"]) });
    await third.commit(["linux/amd64/kubelet", "SHA256SUMS"]);
    expect(existsSync(join(out(), "linux/arm64"))).toBe(false);
    expect(readFileSync(join(out(), "linux/amd64/kubelet"), "utf8")).toBe("3");
  });

  it("refuses a second build into the same --out with BusyError (exit 9)", async () => {
    const first = await Publication.begin(out());
    await expect(Publication.begin(out())).rejects.toMatchObject({ code: "E_BUSY", exitCode: 9 });
    await first.abandon();
  });

  it("waits for the first with --wait", async () => {
    const first = await Publication.begin(out());
    let waited = false;
    const second = Publication.begin(out(), { wait: true, onWait: () => (waited = true) });
    await new Promise((r) => setTimeout(r, 50));
    await first.commit([]);
    const pub = await second;
    expect(waited).toBe(true);
    await pub.abandon();
  });

  it("removes staging folders of builds that died, once it holds the lock", async () => {
    mkdirSync(join(out(), ".staging-dead"), { recursive: true });
    const pub = await Publication.begin(out());
    expect(existsSync(join(out(), ".staging-dead"))).toBe(false);
    await pub.abandon();
  });
});

describe("lock files", () => {
  it("takes over a lock whose holder no longer runs", async () => {
    const child = spawn(process.execPath, ["-e", ""]);
    const pid = child.pid!;
    await new Promise((r) => child.on("exit", r));
    writeFileSync(join(tmp, ".lock"), JSON.stringify({ pid, host: hostname(), startedAt: "then", purpose: "dead build" }));
    const lock = await acquireLock(join(tmp, ".lock"), { what: "x" });
    expect(JSON.parse(readFileSync(join(tmp, ".lock"), "utf8")).pid).toBe(process.pid);
    await lock.release();
    expect(existsSync(join(tmp, ".lock"))).toBe(false);
  });

  it("never judges a lock held on another host as stale", async () => {
    writeFileSync(join(tmp, ".lock"), JSON.stringify({ pid: 999999, host: "elsewhere", startedAt: "now", purpose: "build" }));
    await expect(acquireLock(join(tmp, ".lock"), { what: "the output folder" })).rejects.toThrow(/locked by process 999999 on elsewhere/);
  });

  it("stops waiting when interrupted", async () => {
    writeFileSync(join(tmp, ".lock"), JSON.stringify({ pid: process.ppid, host: hostname(), startedAt: "now", purpose: "build" }));
    const ac = new AbortController();
    const p = acquireLock(join(tmp, ".lock"), { what: "x", wait: true, signal: ac.signal, pollMs: 20 });
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toMatchObject({ exitCode: 130 });
  });
});
