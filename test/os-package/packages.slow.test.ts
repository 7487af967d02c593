/**
 * `kubelet-nokmem package` end to end with the distributions' own tools:
 * a signed, pinned build output folder (a synthetic patched kubelet of
 * 1.20.2) becomes an RPM and a DEB (rpmbuild, rpmsign, dpkg-deb), a yum
 * repository (createrepo_c) and an apt repository (apt-ftparchive, gpg);
 * rpmlint and lintian judge the packages; dnf installs from the yum
 * repository into an empty root and apt from the apt repository into a
 * debootstrapped bookworm root, each over a stock-shaped kubelet of the same
 * release, and an update run afterwards must keep ours. Runs as root.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEnvelope, parseEnvelope, signEnvelope, signingKeyFromPem, verifyingKeyFromPem } from "../../src/artifact/dsse.js";
import { makeRepositories } from "../../src/package/repo.js";
import { makeRootfs } from "../../src/pipeline/image.js";
import { syntheticBinary } from "../audit/synthetic.js";
import { cli, ROOT } from "../helpers/cli.js";
import { sha, writeOutDir } from "../pin/outdir-fixture.js";
import { LINTIAN_ACCEPTED, RPMLINT_ACCEPTED } from "./lint-overrides.js";
import { stockDebs, stockNextDeb, stockNextRpm, stockRpms } from "./stock.js";

const ours = syntheticBinary({ markers: ["disabled-string:runc-build", "identity:kubelet"], stamps: { gitVersion: "v1.20.2" } });
const stock = syntheticBinary({
  markers: ["enabled-string:kmem-limit-file", "enabled-string:kmem-not-supported", "identity:kubelet"],
  stamps: { gitVersion: "v1.20.2" },
});
const RPM = "kubelet-1.20.2-1.nokmem.x86_64.rpm";
const DEB = "kubelet_1.20.2-01+nokmem1_amd64.deb";

let work: string;
let out: string;
let catalog: string;
const keys = { secret: "", public: "", otherPublic: "", otherKeyring: "" };
const dsse = { private: "", public: "" };
let packaged: { packages: { name: string; sha256: string; kubeletSha256: string; version: string }[]; signed: { gpg: string | null } };

const DOC = readFileSync(join(ROOT, "docs", "packages.md"), "utf8");

/** The text of a `## ` (or `### `) section of docs/packages.md, from its heading to the next heading of its level or above (outside code fences). */
function docSection(heading: string, from = 0): string {
  const start = DOC.indexOf(`\n${heading}\n`, from);
  expect(start, `docs/packages.md has "${heading}"`).toBeGreaterThanOrEqual(0);
  const level = heading.split(" ")[0]!.length;
  const lines = DOC.slice(start + heading.length + 2).split("\n");
  let fenced = false;
  const end = lines.findIndex((l) => {
    if (l.startsWith("```")) fenced = !fenced;
    const m = /^(#+) /.exec(l);
    return !fenced && m !== null && m[1]!.length <= level;
  });
  return (end < 0 ? lines : lines.slice(0, end)).join("\n");
}

/** The indented (four-space) command blocks of a section, each as its lines. */
function indentedBlocks(section: string): string[][] {
  return [...section.matchAll(/(?:^|\n)\n((?: {4}\S.*(?:\n|$))+)/g)].map((m) =>
    m[1]!
      .trimEnd()
      .split("\n")
      .map((l) => l.slice(4)),
  );
}

/** The fenced blocks of a section with the given info string ("sh", or "" for none). */
function fencedBlocks(section: string, info: string): string[] {
  return [...section.matchAll(/^```(\S*)\n([\s\S]*?)^```$/gm)].filter((m) => m[1] === info).map((m) => m[2]!);
}

/** A real tool: its exit code, stdout, and both streams together (for messages and tools that report on stderr). */
function sh(file: string, args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; out: string } {
  const r = spawnSync(file, args, { encoding: "utf8", env: { ...process.env, LC_ALL: "C", ...env }, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, out: `${r.stdout}${r.stderr}` };
}

/** stdout of a tool that must succeed. */
function ok(file: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = sh(file, args, env);
  if (r.code !== 0) throw new Error(`${file} ${args.join(" ")} exited ${r.code}:\n${r.out}`);
  return r.stdout;
}

/** A throw-away OpenPGP key: its armoured secret key file, public key (armoured) and keyring (binary). */
function gpgKey(name: string): { secret: string; public: string; keyring: string } {
  const home = mkdtempSync(join(tmpdir(), "kn-gpgtest-"));
  ok("gpg", ["--homedir", home, "--batch", "--passphrase", "", "--quick-gen-key", `${name} <${name}@example.invalid>`, "rsa2048", "sign", "never"]);
  const secret = join(work, `${name}.sec.asc`);
  const pub = join(work, `${name}.pub.asc`);
  const keyring = join(work, `${name}.gpg`);
  ok("gpg", ["--homedir", home, "--batch", "--yes", "--armor", "--output", secret, "--export-secret-keys"]);
  ok("gpg", ["--homedir", home, "--batch", "--yes", "--armor", "--output", pub, "--export"]);
  ok("gpg", ["--homedir", home, "--batch", "--yes", "--output", keyring, "--export"]);
  sh("gpgconf", ["--homedir", home, "--kill", "all"]);
  rmSync(home, { recursive: true, force: true });
  return { secret, public: pub, keyring };
}

beforeAll(() => {
  expect(process.getuid?.(), "these tests install into roots with dnf and chroot: run them as root").toBe(0);
  work = mkdtempSync(join(tmpdir(), "kn-ospkg-"));
  out = join(work, "out");
  writeOutDir(out, "1.20.2", { "linux/amd64": ours });
  // A signed output folder, as `build --sign-key` leaves it: manifest.dsse.json beside manifest.json.
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  dsse.private = join(work, "build.key");
  dsse.public = join(work, "build.pub");
  writeFileSync(dsse.private, privateKey.export({ format: "pem", type: "pkcs8" }));
  writeFileSync(dsse.public, publicKey.export({ format: "pem", type: "spki" }));
  const signing = signingKeyFromPem(readFileSync(dsse.private, "utf8"), "build.key");
  writeFileSync(join(out, "manifest.dsse.json"), JSON.stringify(signEnvelope(readFileSync(join(out, "manifest.json")), signing)));
  catalog = join(work, "versions.json");
  cpSync(join(ROOT, "versions.json"), catalog);
  const pinned = cli(["pin", out, "--key", dsse.public, "--catalog", catalog]);
  expect(pinned.code, pinned.stderr).toBe(0);
  const signer = gpgKey("signer");
  const other = gpgKey("other");
  Object.assign(keys, { secret: signer.secret, public: signer.public, otherPublic: other.public, otherKeyring: other.keyring });
  const r = cli(["package", out, "--key", dsse.public, "--sign-key", dsse.private, "--gpg-key", keys.secret, "--catalog", catalog, "--json"], {
    SOURCE_DATE_EPOCH: "1700000000",
  });
  expect(r.code, r.stderr).toBe(0);
  packaged = JSON.parse(r.stdout) as typeof packaged;
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("kubelet-nokmem package: the packages", () => {
  it("names one RPM and one DEB per platform, with the pinned kubelet inside", () => {
    expect(packaged.packages.map((p) => p.name)).toEqual([`packages/${RPM}`, `packages/${DEB}`]);
    expect(packaged.packages.every((p) => p.kubeletSha256 === sha(ours))).toBe(true);
    expect(packaged.signed.gpg).toMatch(/^[0-9A-F]{40}$/);
  });

  it("sorts above the stock package of the same release and below the next release, by rpm's and dpkg's own comparison", () => {
    const rpmcmp = (a: string, b: string) => ok("rpm", ["--eval", `%{lua: print(rpm.vercmp("${a}", "${b}"))}`]).trim();
    expect(rpmcmp("1.20.2-1.nokmem", "1.20.2-0")).toBe("1");
    expect(rpmcmp("1.20.2-1.nokmem", "1.20.2-00")).toBe("1");
    expect(rpmcmp("1.20.2-2.nokmem", "1.20.2-1.nokmem")).toBe("1");
    expect(rpmcmp("1.20.2-1.nokmem", "1.20.3-0")).toBe("-1");
    const dpkg = (a: string, op: string, b: string) => sh("dpkg", ["--compare-versions", a, op, b]).code;
    expect(dpkg("1.20.2-01+nokmem1", "gt", "1.20.2-00")).toBe(0);
    expect(dpkg("1.20.2-01+nokmem1", "gt", "1.20.2-01")).toBe(0);
    expect(dpkg("1.20.2-01+nokmem2", "gt", "1.20.2-01+nokmem1")).toBe(0);
    expect(dpkg("1.20.2-01+nokmem1", "lt", "1.20.3-00")).toBe(0);
    // The versions the packages really carry.
    expect(ok("rpm", ["-qp", "--qf", "%{VERSION}-%{RELEASE}", join(out, "packages", RPM)])).toBe("1.20.2-1.nokmem");
    expect(ok("dpkg-deb", ["--field", join(out, "packages", DEB), "Version"]).trim()).toBe("1.20.2-01+nokmem1");
  });

  it("holds the stock layout, its config files and dependencies, and records the pin", () => {
    const rpm = join(out, "packages", RPM);
    expect(ok("rpm", ["-qpl", rpm]).trim().split("\n")).toEqual([
      "/etc/kubernetes",
      "/etc/kubernetes/manifests",
      "/etc/sysconfig/kubelet",
      "/usr/bin/kubelet",
      "/usr/lib/systemd/system/kubelet.service",
      "/usr/share/kubelet-nokmem",
      "/usr/share/kubelet-nokmem/pin.json",
    ]);
    expect(ok("rpm", ["-qpc", rpm]).trim()).toBe("/etc/sysconfig/kubelet");
    expect(ok("rpm", ["-qp", "--qf", "[%{FILEFLAGS:fflags} %{FILENAMES}\n]", rpm])).toMatch(/^cn \/etc\/sysconfig\/kubelet$/m);
    const requires = ok("rpm", ["-qp", "--requires", rpm]).split("\n").filter(Boolean);
    expect(requires.filter((l) => !/^(rpmlib|config)\(/.test(l))).toEqual([
      "conntrack",
      "ebtables",
      "ethtool",
      "iproute",
      "iptables >= 1.4.21",
      "kubernetes-cni >= 0.8.7",
      "socat",
      "util-linux",
    ]);
    // Only rpmlib features rpm 4.11 (CentOS 7) has: no PayloadIsZstd, no newer digest or payload feature.
    expect(requires.filter((l) => l.startsWith("rpmlib(")).map((l) => l.replace(/ .*/, ""))).toEqual([
      "rpmlib(CompressedFileNames)",
      "rpmlib(FileDigests)",
      "rpmlib(PayloadFilesHavePrefix)",
    ]);
    // What rpm 4.11 (CentOS 7) reads: gzip payload, sha256 file digests; no payload feature it lacks.
    expect(ok("rpm", ["-qp", "--qf", "%{PAYLOADCOMPRESSOR} %{FILEDIGESTALGO}", rpm])).toBe("gzip 8");
    const deb = join(out, "packages", DEB);
    const listing = ok("dpkg-deb", ["-c", deb]);
    for (const p of [
      "./usr/bin/kubelet",
      "./lib/systemd/system/kubelet.service",
      "./etc/default/kubelet",
      "./etc/kubernetes/manifests/",
      "./usr/share/kubelet-nokmem/pin.json",
    ])
      expect(listing).toContain(` ${p}`);
    expect(listing).not.toContain("10-kubeadm.conf");
    expect(ok("dpkg-deb", ["--info", deb, "conffiles"]).trim()).toBe("/etc/default/kubelet");
    expect(ok("dpkg-deb", ["--field", deb, "Depends"]).trim()).toBe(
      "conntrack, ebtables, ethtool, iproute2, iptables (>= 1.4.21), kubernetes-cni (>= 0.8.7), socat, util-linux, mount",
    );
    const data = execFileSync("dpkg-deb", ["--fsys-tarfile", deb], { maxBuffer: 64 * 1024 * 1024 });
    const pin = JSON.parse(execFileSync("tar", ["-xO", "./usr/share/kubelet-nokmem/pin.json"], { input: data }).toString("utf8")) as Record<string, unknown>;
    expect(pin).toMatchObject({
      schemaVersion: 1,
      kubernetes: "1.20.2",
      platform: "linux/amd64",
      sha256: sha(ours),
      package: { format: "deb", version: "1.20.2-01+nokmem1" },
    });
  });

  it("is clean for rpmlint and lintian, apart from the tags lint-overrides.ts justifies", () => {
    const rpmTags = new Set([...sh("rpmlint", [join(out, "packages", RPM)]).out.matchAll(/^kubelet\.x86_64: [EW]: (\S+)/gm)].map((m) => m[1]!));
    expect([...rpmTags].filter((t) => !(t in RPMLINT_ACCEPTED))).toEqual([]);
    expect(rpmTags.has("no-signature")).toBe(false); // rpmsign signed it
    const lintianTags = new Set([...sh("lintian", ["--allow-root", join(out, "packages", DEB)]).out.matchAll(/^[EWI]: kubelet: (\S+)/gm)].map((m) => m[1]!));
    expect([...lintianTags].filter((t) => !(t in LINTIAN_ACCEPTED))).toEqual([]);
  });

  it("signs the RPM so that rpm -K verifies with the public key and not with another", () => {
    const check = (pub: string) => {
      const db = mkdtempSync(join(work, "rpmdb-"));
      ok("rpm", ["--dbpath", db, "--initdb"]);
      ok("rpm", ["--dbpath", db, "--import", pub]);
      return sh("rpm", ["--dbpath", db, "-K", join(out, "packages", RPM)]);
    };
    const good = check(keys.public);
    expect(good.code, good.out).toBe(0);
    expect(good.out).toMatch(/signatures OK/);
    const bad = check(keys.otherPublic);
    expect(bad.code).not.toBe(0);
  });

  it("signs the apt Release (InRelease, Release.gpg) and yum's repomd.xml: gpgv accepts them with the public key and refuses another", () => {
    const suite = join(out, "repo", "apt", "dists", "stable");
    const repomd = join(out, "repo", "yum", "repodata");
    const ring = join(out, "repo", "kubelet-nokmem-archive-keyring.gpg");
    expect(sh("gpgv", ["--keyring", ring, join(suite, "InRelease")]).code).toBe(0);
    expect(sh("gpgv", ["--keyring", ring, join(suite, "Release.gpg"), join(suite, "Release")]).code).toBe(0);
    expect(sh("gpgv", ["--keyring", ring, join(repomd, "repomd.xml.asc"), join(repomd, "repomd.xml")]).code).toBe(0);
    expect(sh("gpgv", ["--keyring", keys.otherKeyring, join(suite, "InRelease")]).code).not.toBe(0);
    expect(sh("gpgv", ["--keyring", keys.otherKeyring, join(repomd, "repomd.xml.asc"), join(repomd, "repomd.xml")]).code).not.toBe(0);
  });

  it("names the packages in SHA256SUMS and in packages.json, and `sha256sum -c` agrees", () => {
    const sums = readFileSync(join(out, "SHA256SUMS"), "utf8");
    for (const p of packaged.packages) expect(sums).toContain(`${p.sha256} *${p.name}\n`);
    expect(sums).toContain(`${sha(ours)} *linux/amd64/kubelet\n`);
    const r = spawnSync("sha256sum", ["-c", "--strict", "SHA256SUMS"], { cwd: out, encoding: "utf8" });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    // The folder still verifies as the build left it, signature included.
    const v = cli(["verify", out, "--key", dsse.public, "--catalog", catalog]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    const statement = JSON.parse(readFileSync(join(out, "packages.json"), "utf8")) as { subject: { name: string; digest: { sha256: string } }[] };
    expect(statement.subject).toEqual(packaged.packages.map((p) => ({ name: p.name, digest: { sha256: p.sha256 } })));
    // Signed with the build's key: the envelope opens with its public key and carries packages.json's bytes.
    const env = parseEnvelope(readFileSync(join(out, "packages.dsse.json"), "utf8"), "packages.dsse.json");
    expect(openEnvelope(env, verifyingKeyFromPem(readFileSync(dsse.public, "utf8"), "build.pub"))?.equals(readFileSync(join(out, "packages.json")))).toBe(true);
    const stranger = generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" }).toString();
    expect(openEnvelope(env, verifyingKeyFromPem(stranger, "stranger"))).toBeNull();
  });

  it("verify and audit take the package files: the kubelet inside is patched and matches its pin", () => {
    const pkgs = [join(out, "packages", RPM), join(out, "packages", DEB)];
    const v = cli(["verify", ...pkgs, "--catalog", catalog, "--json"]);
    expect(v.code, v.stderr).toBe(0);
    expect((JSON.parse(v.stdout) as { results: { outcome: string; path: string }[] }).results.map((r) => [r.outcome, r.path])).toEqual(
      pkgs.map((p) => ["match", `${p}!/usr/bin/kubelet`]),
    );
    const a = cli(["audit", ...pkgs, "--catalog", catalog, "--json"]);
    expect(a.code, a.stderr).toBe(0);
    expect((JSON.parse(a.stdout) as { reports: { verdict: string; pin: { status: string } }[] }).reports.map((r) => [r.verdict, r.pin.status])).toEqual([
      ["patched", "match"],
      ["patched", "match"],
    ]);
  });

  it("gives the same bytes when the same kubelet is packaged again with the same SOURCE_DATE_EPOCH (unsigned)", () => {
    const digests = ["again-1", "again-2"].map((name) => {
      const dir = join(work, name);
      writeOutDir(dir, "1.20.2", { "linux/amd64": ours });
      const r = cli(["package", dir, "--catalog", catalog, "--json"], { SOURCE_DATE_EPOCH: "1700000000" });
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as typeof packaged).packages.map((p) => p.sha256);
    });
    expect(digests[1]).toEqual(digests[0]);
  });

  it("refuses a folder that no longer verifies, is signed by another key or holds an unpatched kubelet (exit 4), and one whose kubelet is not pinned (exit 10), packaging nothing", () => {
    const tampered = join(work, "tampered");
    writeOutDir(tampered, "1.20.2", { "linux/amd64": ours });
    writeFileSync(join(tampered, "linux/amd64/kubelet"), Buffer.concat([ours, Buffer.from("x")]));
    const r = cli(["package", tampered, "--catalog", catalog]);
    expect(r.code, r.stderr).toBe(4);
    expect(existsSync(join(tampered, "packages"))).toBe(false);
    // Signed by another key than --key names: the folder's signature does not verify.
    const strangerKey = join(work, "stranger.pub");
    writeFileSync(strangerKey, generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" }));
    const again = join(work, "other-signer");
    cpSync(out, again, { recursive: true });
    rmSync(join(again, "packages"), { recursive: true });
    const s = cli(["package", again, "--key", strangerKey, "--catalog", catalog]);
    expect(s.code, s.stderr).toBe(4);
    expect(existsSync(join(again, "packages"))).toBe(false);
    // Pinned, but the kubelet is not a nokmem one: the audit refuses it.
    const unpatchedDir = join(work, "unpatched");
    writeOutDir(unpatchedDir, "1.20.1", { "linux/amd64": stock });
    expect(cli(["pin", unpatchedDir, "--catalog", catalog]).code).toBe(0);
    const up = cli(["package", unpatchedDir, "--catalog", catalog]);
    expect(up.code, up.stderr).toBe(4);
    expect(up.stderr).toContain("unpatched");
    expect(existsSync(join(unpatchedDir, "packages"))).toBe(false);
    const unpinned = join(work, "unpinned");
    writeOutDir(unpinned, "1.20.3", { "linux/amd64": ours });
    const u = cli(["package", unpinned, "--catalog", catalog]);
    expect(u.code, u.stderr).toBe(10);
    expect(existsSync(join(unpinned, "packages"))).toBe(false);
  });
});

describe("kubelet-nokmem package of several folders (a CI matrix): one repository", () => {
  const ours204 = syntheticBinary({ markers: ["disabled-string:runc-build", "identity:kubelet"], stamps: { gitVersion: "v1.20.4" } });
  const folder = (name: string, version: string, kubelet: Buffer) => {
    const dir = join(work, "multi", name);
    writeOutDir(dir, version, { "linux/amd64": kubelet });
    const p = cli(["pin", dir, "--catalog", catalog]);
    expect(p.code, p.stderr).toBe(0);
    return dir;
  };

  it("packages two releases into one yum and one apt repository, each folder getting its own packages, SHA256SUMS lines and packages.json", () => {
    const a = folder("a", "1.20.2", ours);
    const b = folder("b", "1.20.4", ours204);
    const repo = join(work, "multi", "repo");
    const r = cli(["package", a, b, "--repo", repo, "--catalog", catalog, "--json"], { SOURCE_DATE_EPOCH: "1700000000" });
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as {
      folders: { outDir: string; kubernetes: string; packages: { name: string }[] }[];
      repositories: { root: string };
      signed: { gpg: null };
    };
    expect(result.folders.map((f) => [f.outDir, f.kubernetes, f.packages.map((p) => p.name)])).toEqual([
      [a, "1.20.2", [`packages/${RPM}`, `packages/${DEB}`]],
      [b, "1.20.4", ["packages/kubelet-1.20.4-1.nokmem.x86_64.rpm", "packages/kubelet_1.20.4-01+nokmem1_amd64.deb"]],
    ]);
    expect(result.repositories.root).toBe(repo);
    expect(result.signed.gpg).toBeNull();
    // createrepo_c and apt-ftparchive list both releases.
    const primary = ok("sh", ["-c", `zcat ${join(repo, "yum", "repodata")}/*-primary.xml.gz`]);
    expect([...primary.matchAll(/<version epoch="0" ver="([^"]+)" rel="([^"]+)"\/>/g)].map((m) => `${m[1]}-${m[2]}`).sort()).toEqual([
      "1.20.2-1.nokmem",
      "1.20.4-1.nokmem",
    ]);
    const packages = readFileSync(join(repo, "apt", "dists", "stable", "main", "binary-amd64", "Packages"), "utf8");
    expect([...packages.matchAll(/^Version: (.+)$/gm)].map((m) => m[1]).sort()).toEqual(["1.20.2-01+nokmem1", "1.20.4-01+nokmem1"]);
    for (const dir of [a, b]) {
      const check = spawnSync("sha256sum", ["-c", "--strict", "SHA256SUMS"], { cwd: dir, encoding: "utf8" });
      expect(check.status, check.stdout + check.stderr).toBe(0);
      expect(existsSync(join(dir, "packages.json"))).toBe(true);
    }
  });

  it("refuses several folders without --repo, a folder named twice, two folders of one release and platform, and packages none when one does not verify", () => {
    const a = folder("c", "1.20.2", ours);
    const twin = folder("c-twin", "1.20.2", ours);
    const repo = join(work, "multi", "repo-refused");
    for (const args of [
      [a, twin],
      [a, a, "--repo", repo],
      [a, twin, "--repo", repo],
    ]) {
      const r = cli(["package", ...args, "--catalog", catalog, "--json"]);
      expect(r.code, r.stderr).toBe(2);
      expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).toBe("E_USAGE");
    }
    const tampered = folder("d", "1.20.4", ours204);
    writeFileSync(join(tampered, "linux/amd64/kubelet"), Buffer.concat([ours204, Buffer.from("x")]));
    const r = cli(["package", a, tampered, "--repo", repo, "--catalog", catalog]);
    expect(r.code, r.stderr).toBe(4);
    for (const dir of [a, twin, tampered]) expect(existsSync(join(dir, "packages"))).toBe(false);
    expect(existsSync(repo)).toBe(false);
  });
});

describe("yum: dnf --installroot from the generated repository, over a stock kubelet", () => {
  let stockRepo: string;
  beforeAll(async () => {
    stockRepo = join(work, "stock-yum");
    stockRpmFiles = stockRpms(join(work, "stub-rpm"), stock);
    await makeRepositories(stockRepo, { rpms: stockRpmFiles, debs: [], debArch: new Map(), gpg: null });
  }, 120_000);
  let stockRpmFiles: string[];
  /** Lines the stock repository's section gets (a page's `exclude=`). */
  let stockSectionExtra = "";

  /** The page's .repo file for ours, as written. */
  const yumRepoFile = () => {
    const [ini] = fencedBlocks(docSection("## Rolling out on CentOS 7 / RHEL 7 (yum)"), "ini");
    expect(ini).toMatch(/^gpgcheck=1$/m);
    expect(ini).toMatch(/^repo_gpgcheck=1$/m);
    return ini!;
  };

  const dnf = (root: string, oursKey: string, args: string[]) => {
    const conf = join(work, `dnf-${root.split("/").at(-1)}`);
    mkdirSync(join(conf, "repos.d"), { recursive: true });
    writeFileSync(join(conf, "dnf.conf"), `[main]\nreposdir=${join(conf, "repos.d")}\ncachedir=${join(conf, "cache")}\ninstall_weak_deps=False\n`);
    writeFileSync(
      join(conf, "repos.d", "kubelet.repo"),
      `[stock]\nname=stock-shaped packages\nbaseurl=file://${stockRepo}/yum\ngpgcheck=0\n${stockSectionExtra}\n` +
        // Ours as docs/packages.md writes it (/etc/yum.repos.d/kubelet-nokmem.repo), served from the folder instead of a web server.
        yumRepoFile()
          .replaceAll("https://repo.example.internal/kubelet-nokmem", `file://${out}/repo`)
          .replace(/^gpgkey=.*$/m, `gpgkey=file://${oursKey}`),
    );
    // --refresh: with --installroot dnf keeps its metadata cache inside the root, and a repository
    // rewritten within the second of the last check would otherwise be taken as unchanged.
    return sh("dnf", [
      "-y",
      "--refresh",
      "--installroot",
      root,
      "--config",
      join(conf, "dnf.conf"),
      "--releasever",
      "7",
      "--setopt",
      `reposdir=${join(conf, "repos.d")}`,
      "--disablerepo",
      "*",
      ...args,
    ]);
  };

  it("installs the stock kubelet, upgrades it to ours, and an update afterwards keeps ours; rpm -V is clean; the audit says patched and pinned", () => {
    const root = join(work, "yum-root");
    const ourKey = join(out, "repo", "RPM-GPG-KEY-kubelet-nokmem");
    let r = dnf(root, ourKey, ["--enablerepo", "stock", "install", "kubelet-1.20.2-0", "kubeadm"]);
    expect(r.code, r.out).toBe(0);
    expect(ok("rpm", ["--root", root, "-q", "kubelet"]).trim()).toBe("kubelet-1.20.2-0.x86_64");
    // The page's rollout line (`yum update kubelet-1.20.2`), run by dnf with the same arguments.
    const update = indentedBlocks(docSection("## Rolling out on CentOS 7 / RHEL 7 (yum)"))
      .flat()
      .find((l) => l.startsWith("yum update "))!
      .replace(/\s+#.*$/, "")
      .split(/\s+/);
    expect(update).toEqual(["yum", "update", "kubelet-1.20.2"]);
    r = dnf(root, ourKey, ["--enablerepo", "stock,kubelet-nokmem", ...update.slice(1)]);
    expect(r.code, r.out).toBe(0);
    expect(ok("rpm", ["--root", root, "-q", "kubelet"]).trim()).toBe("kubelet-1.20.2-1.nokmem.x86_64");
    // The routine update that used to put the stock kubelet back.
    r = dnf(root, ourKey, ["--enablerepo", "stock,kubelet-nokmem", "upgrade"]);
    expect(r.code, r.out).toBe(0);
    r = dnf(root, ourKey, ["--enablerepo", "stock,kubelet-nokmem", "distro-sync", "kubelet"]);
    expect(r.code, r.out).toBe(0);
    expect(ok("rpm", ["--root", root, "-q", "kubelet"]).trim()).toBe("kubelet-1.20.2-1.nokmem.x86_64");
    const verify = sh("rpm", ["--root", root, "-V", "kubelet"]);
    expect(verify.code, verify.out).toBe(0);
    expect(verify.out.trim()).toBe("");
    expect(readFileSync(join(root, "usr/bin/kubelet")).equals(ours)).toBe(true);
    // kubeadm keeps its drop-in beside our unit.
    expect(ok("rpm", ["--root", root, "-qf", "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf"]).trim()).toBe("kubeadm-1.20.2-0.x86_64");
    // Every file at the path the stock RPM uses, owned by ours.
    for (const path of ["/usr/bin/kubelet", "/usr/lib/systemd/system/kubelet.service", "/etc/sysconfig/kubelet", "/etc/kubernetes/manifests"]) {
      expect(ok("rpm", ["--root", root, "-qf", path]).trim(), path).toBe("kubelet-1.20.2-1.nokmem.x86_64");
      expect(existsSync(join(root, path)), path).toBe(true);
    }
    const a = cli(["audit", join(root, "usr/bin/kubelet"), "--catalog", catalog, "--json"]);
    expect(a.code, a.stderr).toBe(0);
    expect((JSON.parse(a.stdout) as { reports: { verdict: string; pin: { status: string } }[] }).reports.map((x) => [x.verdict, x.pin.status])).toEqual([
      ["patched", "match"],
    ]);
  });

  it("holds ours as docs/packages.md says (exclude=kubelet in the stock repository's section) when stock publishes 1.20.3, and rolls back with its downgrade line", async () => {
    const root = join(work, "yum-root");
    const ourKey = join(out, "repo", "RPM-GPG-KEY-kubelet-nokmem");
    expect(ok("rpm", ["--root", root, "-q", "kubelet"]).trim()).toBe("kubelet-1.20.2-1.nokmem.x86_64");
    await makeRepositories(stockRepo, { rpms: [...stockRpmFiles, stockNextRpm(join(work, "stub-rpm-next"), stock)], debs: [], debArch: new Map(), gpg: null });
    // Without the hold, the next stock release replaces ours: what the page's hold is for.
    const unheld = dnf(root, ourKey, ["--enablerepo", "stock,kubelet-nokmem", "--assumeno", "upgrade"]);
    expect(unheld.out).toMatch(/kubelet\s+x86_64\s+1\.20\.3-0\s+stock/);
    const yumHold = docSection("### Holding it", DOC.indexOf("## Rolling out on CentOS 7 / RHEL 7 (yum)"));
    const exclude = indentedBlocks(yumHold).find((b) => b.some((l) => l.startsWith("exclude=")))!;
    expect(exclude).toEqual(["exclude=kubelet"]);
    stockSectionExtra = `${exclude.join("\n")}\n`;
    try {
      let r = dnf(root, ourKey, ["--enablerepo", "stock,kubelet-nokmem", "upgrade"]);
      expect(r.code, r.out).toBe(0);
      expect(ok("rpm", ["--root", root, "-q", "kubelet"]).trim()).toBe("kubelet-1.20.2-1.nokmem.x86_64");
      // Rolling back: the page's `yum downgrade` line, run by dnf (yum's successor, the same arguments), the exclude lifted as the page says first.
      stockSectionExtra = "";
      const back = indentedBlocks(docSection("## Rolling back to stock")).find((b) => b.some((l) => l.startsWith("yum downgrade")))!;
      const line = back.find((l) => l.startsWith("yum downgrade"))!.split(/\s+/);
      r = dnf(root, ourKey, ["--enablerepo", "stock,kubelet-nokmem", ...line.slice(1)]);
      expect(r.code, r.out).toBe(0);
      expect(ok("rpm", ["--root", root, "-q", "kubelet"]).trim()).toBe("kubelet-1.20.2-0.x86_64");
      expect(readFileSync(join(root, "usr/bin/kubelet")).equals(stock)).toBe(true);
    } finally {
      stockSectionExtra = "";
    }
  });

  it("refuses the repository when its key is another one", () => {
    const root = join(work, "yum-root-other");
    const r = dnf(root, keys.otherPublic, ["--enablerepo", "stock,kubelet-nokmem", "install", "kubelet"]);
    expect(r.code, r.out).not.toBe(0);
    expect(existsSync(join(root, "usr/bin/kubelet"))).toBe(false);
  });
});

describe("apt: a debootstrapped bookworm root, over a stock kubelet", () => {
  let root: string;
  let stockRepo: string;
  let debs: string[];
  const chroot = (...cmd: string[]) =>
    sh("chroot", [root, "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C", ...cmd]);
  const apt = (...args: string[]) => chroot("apt-get", "-y", "-q", "-o", "APT::Sandbox::User=root", ...args);
  const sources = (keyring: string) =>
    writeFileSync(
      join(root, "etc/apt/sources.list.d/kubelet.list"),
      `deb [trusted=yes] file:/srv/stock/apt stable main\ndeb [signed-by=${keyring}] file:/srv/kubelet-nokmem/apt stable main\n`,
    );

  beforeAll(async () => {
    root = join(work, "apt-root");
    // The real dependencies come from Debian; only kubernetes-cni and the stock kubelet/kubeadm are stand-ins.
    const spec = { suite: "bookworm", mirror: "http://deb.debian.org/debian", include: ["conntrack", "ebtables", "ethtool", "iproute2", "iptables", "socat"] };
    await makeRootfs(spec, root, {
      cacheDir: process.env.KUBELET_NOKMEM_ROOTFS_CACHE ?? join(homedir(), ".cache", "kubelet-nokmem", "rootfs"),
      signal: new AbortController().signal,
    });
    stockRepo = join(work, "stock-apt");
    debs = stockDebs(join(work, "stub-deb"), stock);
    await makeRepositories(stockRepo, { rpms: [], debs, debArch: new Map(debs.map((d) => [d, "amd64"])), gpg: null });
    mkdirSync(join(root, "srv"), { recursive: true });
    cpSync(stockRepo, join(root, "srv/stock"), { recursive: true });
    cpSync(join(out, "repo"), join(root, "srv/kubelet-nokmem"), { recursive: true });
    cpSync(keys.otherKeyring, join(root, "srv/other.gpg"));
    // Offline: no Debian mirror in the root's sources.
    writeFileSync(join(root, "etc/apt/sources.list"), "");
    rmSync(join(root, "etc/apt/sources.list.d/debian.sources"), { force: true });
  }, 15 * 60_000);

  it("installs the stock kubelet, upgrades it to ours, and an update afterwards keeps ours; dpkg --verify is clean; the audit says patched and pinned", () => {
    sources("/srv/kubelet-nokmem/kubelet-nokmem-archive-keyring.gpg");
    let r = apt("update");
    expect(r.code, r.out).toBe(0);
    r = apt("install", "kubelet=1.20.2-00", "kubeadm=1.20.2-00");
    expect(r.code, r.out).toBe(0);
    expect(chroot("dpkg-query", "-W", "-f", "${Version}", "kubelet").stdout).toBe("1.20.2-00");
    r = apt("install", "--only-upgrade", "kubelet");
    expect(r.code, r.out).toBe(0);
    expect(chroot("dpkg-query", "-W", "-f", "${Version}", "kubelet").stdout).toBe("1.20.2-01+nokmem1");
    r = apt("update");
    expect(r.code, r.out).toBe(0);
    r = apt("upgrade");
    expect(r.code, r.out).toBe(0);
    r = apt("dist-upgrade");
    expect(r.code, r.out).toBe(0);
    expect(chroot("dpkg-query", "-W", "-f", "${Version}", "kubelet").stdout).toBe("1.20.2-01+nokmem1");
    const verify = chroot("dpkg", "--verify", "kubelet");
    expect(verify.code, verify.out).toBe(0);
    expect(verify.out.trim()).toBe("");
    expect(readFileSync(join(root, "usr/bin/kubelet")).equals(ours)).toBe(true);
    expect(chroot("dpkg", "-S", "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf").stdout.trim()).toMatch(/^kubeadm: /);
    // Every file at the path the stock DEB uses, owned by ours.
    for (const path of ["/usr/bin/kubelet", "/lib/systemd/system/kubelet.service", "/etc/default/kubelet", "/etc/kubernetes/manifests"]) {
      expect(chroot("dpkg", "-S", path).stdout.trim(), path).toBe(`kubelet: ${path}`);
      expect(existsSync(join(root, path)), path).toBe(true);
    }
    const a = cli(["audit", join(root, "usr/bin/kubelet"), "--catalog", catalog, "--json"]);
    expect(a.code, a.stderr).toBe(0);
    expect((JSON.parse(a.stdout) as { reports: { verdict: string; pin: { status: string } }[] }).reports.map((x) => [x.verdict, x.pin.status])).toEqual([
      ["patched", "match"],
    ]);
  });

  it("refuses the repository's Release when its keyring holds another key", () => {
    sources("/srv/other.gpg");
    // Fresh lists: apt keeps the last good ones of a source whose new Release fails to verify.
    rmSync(join(root, "var/lib/apt/lists"), { recursive: true, force: true });
    mkdirSync(join(root, "var/lib/apt/lists/partial"), { recursive: true });
    const r = apt("update");
    expect(r.out).toMatch(/NO_PUBKEY|not signed|signatures couldn't be verified/);
    const policy = chroot("apt-cache", "policy", "kubelet").stdout;
    expect(policy).not.toContain("file:/srv/kubelet-nokmem/apt");
  });
  it(
    "runs docs/packages.md's apt steps as written: roll out, check the node, hold and pin against a newer stock release, roll back",
    async () => {
      // A node as the page starts from: the stock kubelet from the stock repository only, which has published 1.20.3 by now.
      chroot("dpkg", "--purge", "kubeadm", "kubelet");
      rmSync(join(root, "etc/apt/sources.list.d/kubelet.list"), { force: true });
      writeFileSync(join(root, "etc/apt/sources.list.d/stock.list"), "deb [trusted=yes] file:/srv/stock/apt stable main\n");
      // The test root's own set-up, not the page's: no network (curl, systemctl stand-ins), apt fetching as root.
      writeFileSync(join(root, "etc/apt/apt.conf.d/99test-sandbox"), 'APT::Sandbox::User "root";\n');
      mkdirSync(join(root, "usr/local/bin"), { recursive: true });
      writeFileSync(
        join(root, "usr/local/bin/curl"),
        '#!/bin/sh\n# curl for file:// URLs only (the root has no network)\nout=""; url=""\nwhile [ $# -gt 0 ]; do case "$1" in -*o) out="$2"; shift 2;; -*) shift;; *) url="$1"; shift;; esac; done\n' +
          'case "$url" in file://*) cp "${url#file://}" "$out";; *) echo "curl: no network: $url" >&2; exit 6;; esac\n',
      );
      writeFileSync(join(root, "usr/local/bin/systemctl"), '#!/bin/sh\necho "$*" >> /var/log/systemctl.calls\n');
      for (const f of ["curl", "systemctl"]) execFileSync("chmod", ["0755", join(root, "usr/local/bin", f)]);
      const next = stockNextDeb(join(work, "stub-deb-next"), stock);
      await makeRepositories(stockRepo, { rpms: [], debs: [...debs, next], debArch: new Map([...debs, next].map((d) => [d, "amd64"])), gpg: null });
      rmSync(join(root, "srv/stock"), { recursive: true, force: true });
      cpSync(stockRepo, join(root, "srv/stock"), { recursive: true });
      // The stock-shaped repository is made by the same writer as ours: it gets the stock repository's own origin, so a pin on ours can tell them apart.
      const stockRelease = join(root, "srv/stock/apt/dists/stable/Release");
      writeFileSync(
        stockRelease,
        readFileSync(stockRelease, "utf8")
          .replace(/^Origin: .*$/m, "Origin: kubernetes")
          .replace(/^Label: .*$/m, "Label: kubernetes"),
      );
      rmSync(join(root, "var/lib/apt/lists"), { recursive: true, force: true });
      mkdirSync(join(root, "var/lib/apt/lists/partial"), { recursive: true });
      expect(apt("update").code).toBe(0);
      let r = apt("install", "kubelet=1.20.2-00");
      expect(r.code, r.out).toBe(0);

      /** A block of the page, in bash -eu in the root, its URLs pointing at the repository copied into the root. */
      const runDoc = (script: string) =>
        chroot(
          "/usr/bin/env",
          "PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
          "bash",
          // --norc: bash run with a socket as stdin (as here) reads /etc/bash.bashrc otherwise.
          "--norc",
          "--noprofile",
          "-euo",
          "pipefail",
          "-c",
          script.replaceAll("https://repo.example.internal/kubelet-nokmem", "file:///srv/kubelet-nokmem"),
        );
      const version = () => chroot("dpkg-query", "-W", "-f", "${Version}", "kubelet").stdout;
      const apt_ = docSection("## Rolling out on Debian / Ubuntu (apt)");

      // 1. Roll out: the page's sh block.
      const [rollout] = fencedBlocks(apt_, "sh");
      expect(rollout).toContain("apt-get update");
      r = runDoc(rollout!);
      expect(r.code, r.out).toBe(0);
      expect(version()).toBe("1.20.2-01+nokmem1");
      expect(readFileSync(join(root, "var/log/systemctl.calls"), "utf8")).toBe("daemon-reload\nrestart kubelet\n");

      // 2. Check the node: the page's dpkg lines in the root, its audit line on the root's kubelet, its cat of pin.json.
      const [check] = indentedBlocks(docSection("## Checking a node afterwards"));
      const commands = check!.map((l) => l.replace(/\s+#.*$/, ""));
      for (const line of commands.filter((l) => l.startsWith("dpkg"))) {
        const c = runDoc(line);
        expect(c.code, `${line}: ${c.out}`).toBe(0);
        if (line.startsWith("dpkg --verify")) expect(c.out.trim(), line).toBe("");
        else expect(c.stdout, line).toBe("kubelet\t1.20.2-01+nokmem1\n");
      }
      const audit = commands.find((l) => l.startsWith("kubelet-nokmem audit "))!;
      const a = cli([
        ...audit
          .split(" ")
          .slice(1)
          .map((w) => (w === "/usr/bin/kubelet" ? join(root, w) : w)),
        "--catalog",
        catalog,
        "--json",
      ]);
      expect(a.code, a.stderr).toBe(0);
      expect((JSON.parse(a.stdout) as { reports: { verdict: string; pin: { status: string } }[] }).reports.map((x) => [x.verdict, x.pin.status])).toEqual([
        ["patched", "match"],
      ]);
      const pinJson = runDoc(commands.find((l) => l.startsWith("cat "))!);
      expect(JSON.parse(pinJson.stdout)).toMatchObject({ kubernetes: "1.20.2", sha256: sha(ours) });

      // 3. Unheld and unpinned, the next stock release would replace ours: what the page's hold and pin are for.
      expect(apt("-s", "upgrade").out).toMatch(/^Inst kubelet \[1\.20\.2-01\+nokmem1\] \(1\.20\.3-00 /m);
      const hold = docSection("### Holding it", DOC.indexOf("## Rolling out on Debian / Ubuntu (apt)"));
      const [holdLines] = indentedBlocks(hold);
      expect(holdLines).toEqual(["apt-mark hold kubelet"]);
      r = runDoc(holdLines!.join("\n"));
      expect(r.code, r.out).toBe(0);
      r = apt("upgrade");
      expect(r.code, r.out).toBe(0);
      expect(version()).toBe("1.20.2-01+nokmem1");

      // 4. Pinned instead of held: the page's preferences file, with the Pin line it names for a repository without a host name.
      expect(chroot("apt-mark", "unhold", "kubelet").code).toBe(0);
      const [prefs] = fencedBlocks(hold, "");
      const path = /^# (\/etc\/apt\/preferences\.d\/\S+)$/m.exec(prefs!)![1]!;
      const alternative = /`(Pin: release o=[^`]+)`/.exec(hold)![1]!;
      writeFileSync(join(root, path), prefs!.replace(/^Pin: .*$/m, alternative));
      expect(chroot("apt-cache", "policy", "kubelet").stdout).toMatch(/Candidate: 1\.20\.2-01\+nokmem1/);
      r = apt("upgrade");
      expect(r.code, r.out).toBe(0);
      r = apt("dist-upgrade");
      expect(r.code, r.out).toBe(0);
      expect(version()).toBe("1.20.2-01+nokmem1");

      // 5. Roll back to stock: the page's apt block.
      const back = indentedBlocks(docSection("## Rolling back to stock")).find((b) => b.some((l) => l.startsWith("apt-get")))!;
      r = runDoc(back.join("\n"));
      expect(r.code, r.out).toBe(0);
      expect(version()).toBe("1.20.2-00");
      expect(existsSync(join(root, path))).toBe(false);
      expect(readFileSync(join(root, "usr/bin/kubelet")).equals(stock)).toBe(true);
      expect(readFileSync(join(root, "var/log/systemctl.calls"), "utf8")).toMatch(/restart kubelet\n$/);
    },
    5 * 60_000,
  );
});
