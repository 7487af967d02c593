/** The whole detector chain over synthetic binaries held in memory: no disk, no toolchain. */
import { describe, expect, it } from "vitest";
import { analyse, readLayout } from "../../src/audit/analyse.js";
import { loadCatalog } from "../../src/catalog/load.js";
import { MARKERS } from "../../src/audit/markers.js";
import { scanBuffer } from "../../src/audit/scan.js";
import { bufferSource } from "../../src/audit/source.js";
import { syntheticBinary, type SyntheticOptions } from "./synthetic.js";

const catalog = loadCatalog();

async function audit(o: SyntheticOptions, path = "/opt/bin/kubelet") {
  const bytes = syntheticBinary(o);
  const src = bufferSource(bytes);
  const layout = await readLayout(src, bytes.subarray(0, 64));
  const scan = scanBuffer(bytes, MARKERS, 64, { ignore: layout?.image?.unsearchedRanges() ?? [] });
  return analyse(path, layout, scan, { catalog });
}

const ENABLED = [
  "enabled-string:kmem-limit-file",
  "enabled-string:kmem-failed-to-set",
  "enabled-string:kmem-not-supported",
  "source-path:kmem.go",
  "identity:kubelet",
];
const DISABLED = ["disabled-string:runc-build", "source-path:kmem_disabled.go", "identity:kubelet"];
const STAMPS = {
  gitVersion: "v1.20.2",
  gitCommit: "faecb196815e248d3ecfb03c680a4507229c2a56",
  gitTreeState: "clean",
  buildDate: "2021-01-13T13:20:00Z",
  gitMajor: "1",
  gitMinor: "20",
};

describe("analyse", () => {
  it("reads the version stamps from the symbol table", async () => {
    const r = await audit({ markers: DISABLED, stamps: STAMPS });
    expect(r.kubernetesVersion).toMatchObject({ ...STAMPS, source: "symbols", package: "k8s.io/kubernetes/vendor/k8s.io/component-base/version" });
    expect(r.program).toBe("kubelet");
    expect(r.release).toMatchObject({ version: "1.20.2", line: "1.20", kmemLayout: "split-rc7+", affected: true });
    expect(r.verdict).toBe("patched");
    expect(r.elf).toMatchObject({ bits: 64, arch: "amd64", executable: true });
  });

  it("reads the 1.16-era version package too", async () => {
    const r = await audit({ markers: ENABLED, stamps: { gitVersion: "v1.16.15" }, versionPackage: "k8s.io/kubernetes/pkg/version" });
    expect(r.kubernetesVersion).toMatchObject({ gitVersion: "v1.16.15", package: "k8s.io/kubernetes/pkg/version" });
    expect(r.verdict).toBe("unpatched");
  });

  it("finds the stamps of a stripped binary by heuristic, confirmed through Go string headers", async () => {
    const r = await audit({
      markers: ["identity:kubelet"],
      stamps: { gitVersion: "v1.15.12", gitCommit: STAMPS.gitCommit, buildDate: STAMPS.buildDate, gitTreeState: "clean" },
      symbols: false,
    });
    expect(r.kubernetesVersion).toMatchObject({
      gitVersion: "v1.15.12",
      gitCommit: STAMPS.gitCommit,
      buildDate: STAMPS.buildDate,
      gitTreeState: "clean",
      source: "heuristic",
      confirmed: true,
    });
    // 1.15's nokmem build leaves no trace: absence in a recognised kubelet of an affected release.
    expect(r.verdict).toBe("patched");
    expect(r.evidence.map((e) => e.id)).toContain("absence:enabled-strings");
  });

  it("says a version found only as loose bytes is unconfirmed, and rests no verdict on it", async () => {
    const r = await audit({ markers: ["identity:kubelet"], stamps: { gitVersion: "v1.15.12" }, symbols: false, orphanStamps: true });
    expect(r.kubernetesVersion).toMatchObject({ gitVersion: "v1.15.12", source: "heuristic", confirmed: false });
    expect(r.verdict).toBe("unknown");
  });

  it("reads Go 1.18+ build info: version, path, tags → build-tag evidence", async () => {
    const modinfo = "path\tk8s.io/kubernetes/cmd/kubelet\nbuild\t-compiler=gc\nbuild\t-tags=selinux,nokmem\n";
    const r = await audit({ markers: DISABLED, stamps: STAMPS, buildInfo: { goVersion: "go1.19.8", modinfo } });
    expect(r.go).toBe(true);
    expect(r.goBuildInfo).toMatchObject({ goVersion: "go1.19.8", path: "k8s.io/kubernetes/cmd/kubelet", tags: ["selinux", "nokmem"], format: "inline" });
    expect(r.evidence.map((e) => e.id)).toContain("build-tag:nokmem");
  });

  it("takes stamps from the recorded -ldflags when the binary is stripped", async () => {
    const modinfo = `path\tk8s.io/kubernetes/cmd/kubelet\nbuild\t-ldflags="-s -w -X 'k8s.io/kubernetes/vendor/k8s.io/component-base/version.gitVersion=v1.21.1'"\n`;
    const r = await audit({ markers: ENABLED, buildInfo: { goVersion: "go1.19.8", modinfo }, symbols: false });
    expect(r.kubernetesVersion).toMatchObject({ gitVersion: "v1.21.1", source: "buildinfo-ldflags" });
    expect(r.verdict).toBe("unpatched");
  });

  it("a 1.22-era kubelet with no kmem code is not-affected", async () => {
    const r = await audit({ markers: ["identity:kubelet"], stamps: { ...STAMPS, gitVersion: "v1.22.17", gitMinor: "22" } });
    expect(r.verdict).toBe("not-affected");
  });

  it("recognises runc and its stamped version", async () => {
    const r = await audit(
      {
        markers: ["identity:runc", "enabled-string:kmem-limit-file", "enabled-string:kmem-failed-to-set"],
        stamps: { "main.version": "1.0.0-rc93", "main.gitCommit": "12644e614e25b05da6fd08a38ffa0cfe1903fdec" },
      },
      "/usr/bin/runc",
    );
    expect(r.program).toBe("runc");
    expect(r.runcVersion).toEqual({ version: "1.0.0-rc93", commit: "12644e614e25b05da6fd08a38ffa0cfe1903fdec", source: "symbols" });
    expect(r.verdict).toBe("unpatched");
    expect(r.kubernetesVersion).toBeNull();
  });

  it("finds a stripped runc's version by heuristic", async () => {
    const r = await audit({ markers: ["identity:runc"], stamps: { "main.version": "1.1.12" }, symbols: false }, "/usr/bin/runc");
    expect(r.runcVersion).toMatchObject({ version: "1.1.12", source: "heuristic" });
    expect(r.verdict).toBe("not-affected");
  });

  it("checks the sha256 against a catalog pin", async () => {
    const bytes = syntheticBinary({ markers: DISABLED, stamps: STAMPS });
    const { createHash } = await import("node:crypto");
    const sha = createHash("sha256").update(bytes).digest("hex");
    const pinned = { ...catalog, pins: { "1.20.2": { commit: "", image: "i", sha256: { "linux/amd64": sha } } } };
    const src = bufferSource(bytes);
    const layout = await readLayout(src, bytes.subarray(0, 64));
    const r = await analyse("/k/kubelet", layout, scanBuffer(bytes, MARKERS), { catalog: pinned });
    expect(r.pin).toEqual({ status: "match", checks: [{ source: "versions.json", name: "1.20.2 linux/amd64", expected: sha, status: "match" }] });
  });

  it("does not search code sections for markers", async () => {
    const r = await audit({ markers: ["identity:kubelet"], codeMarkers: ["enabled-string:kmem-limit-file"], stamps: STAMPS });
    expect(r.evidence.map((e) => e.id)).toEqual(["identity:kubelet"]);
  });
});
