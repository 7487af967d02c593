import { describe, expect, it } from "vitest";
import { dependencies, formatDependency, packageFileName, packageVersion, parseFormats, parsePackageRelease } from "../../src/package/layout.js";
import { debChangelog, debControl, rpmSpec } from "../../src/package/spec.js";

describe("package names and versions", () => {
  it.each([
    ["linux/amd64", "rpm", 1, "kubelet-1.20.2-1.nokmem.x86_64.rpm"],
    ["linux/arm64", "rpm", 2, "kubelet-1.20.2-2.nokmem.aarch64.rpm"],
    ["linux/amd64", "deb", 1, "kubelet_1.20.2-01+nokmem1_amd64.deb"],
    ["linux/ppc64le", "deb", 3, "kubelet_1.20.2-01+nokmem3_ppc64el.deb"],
    ["linux/arm", "deb", 1, "kubelet_1.20.2-01+nokmem1_armhf.deb"],
  ] as const)("%s %s release %d → %s", (platform, format, release, name) => {
    expect(packageFileName("1.20.2", release, platform, format)).toBe(name);
  });

  it("keeps the Kubernetes release as the package version and puts ours in the release part", () => {
    expect(packageVersion("1.16.15", 4, "rpm")).toEqual({ version: "1.16.15", release: "4.nokmem", full: "1.16.15-4.nokmem" });
    expect(packageVersion("1.16.15", 4, "deb")).toEqual({ version: "1.16.15", release: "01+nokmem4", full: "1.16.15-01+nokmem4" });
  });

  it.each([
    ["rpm,deb", ["rpm", "deb"]],
    ["deb", ["deb"]],
    ["rpm, rpm", ["rpm"]],
  ])("--format %s", (given, formats) => {
    expect(parseFormats(given)).toEqual(formats);
  });
  it.each(["", "apk", "rpm,zip"])("--format %j is a usage error", (given) => {
    expect(() => parseFormats(given)).toThrow(expect.objectContaining({ code: "E_PACKAGE_FORMAT", exitCode: 2 }));
  });
  it.each(["0", "-1", "1.5", "01", "x", "1234567"])("--release %j is a usage error", (given) => {
    expect(() => parsePackageRelease(given)).toThrow(expect.objectContaining({ code: "E_PACKAGE_RELEASE", exitCode: 2 }));
  });
});

describe("dependencies per release line, named as each distribution names them", () => {
  it.each([
    ["1.10.13", "0.6.0"],
    ["1.13.12", "0.7.5"],
    ["1.17.17", "0.7.5"],
    ["1.18.20", "0.8.7"],
    ["1.21.1", "0.8.7"],
  ])("%s needs kubernetes-cni >= %s", (version, cni) => {
    expect(dependencies(version, "rpm").map((d) => formatDependency(d, "rpm"))).toContain(`kubernetes-cni >= ${cni}`);
    expect(dependencies(version, "deb").map((d) => formatDependency(d, "deb"))).toContain(`kubernetes-cni (>= ${cni})`);
  });
  it("names iproute for yum and iproute2 plus mount for apt", () => {
    expect(dependencies("1.20.2", "rpm").map((d) => d.name)).toEqual([
      "conntrack",
      "ebtables",
      "ethtool",
      "iproute",
      "iptables",
      "kubernetes-cni",
      "socat",
      "util-linux",
    ]);
    expect(dependencies("1.20.2", "deb").map((d) => d.name)).toEqual([
      "conntrack",
      "ebtables",
      "ethtool",
      "iproute2",
      "iptables",
      "kubernetes-cni",
      "socat",
      "util-linux",
      "mount",
    ]);
  });
});

describe("spec and control text", () => {
  const input = { kubernetes: "1.20.2", release: 1, platform: "linux/amd64", sha256: "a".repeat(64), date: new Date("2026-12-06T09:00:00Z") };
  it("keeps the kubelet's bytes (no strip, no debug split) and writes what rpm 4.11 reads", () => {
    const spec = rpmSpec(input);
    expect(spec).toContain("%global __os_install_post %{nil}");
    expect(spec).toContain("%global debug_package %{nil}");
    expect(spec).toContain("%define _binary_payload w9.gzdio");
    expect(spec).toContain("%config(noreplace) /etc/sysconfig/kubelet");
    expect(spec).not.toMatch(/^%(pre|post|preun|postun)\b/m);
    expect(spec).toContain(`* Sun Dec 06 2026 kubelet-nokmem <packages@kubelet-nokmem.invalid> - 1.20.2-1.nokmem`);
  });
  it("control and changelog carry the version and the pinned sha256", () => {
    expect(debControl(input, 7)).toMatch(/^Version: 1\.20\.2-01\+nokmem1$/m);
    expect(debControl(input, 7)).toMatch(/^Installed-Size: 7$/m);
    const changelog = debChangelog(input);
    expect(changelog).toContain(`sha256 ${"a".repeat(64)}`);
    expect(changelog).toContain(" -- kubelet-nokmem <packages@kubelet-nokmem.invalid>  Sun, 06 Dec 2026 09:00:00 +0000");
    // lintian: entry lines (not the trailer) at most 80 columns.
    for (const line of changelog.split("\n").filter((l) => l.startsWith("  "))) expect(line.length).toBeLessThanOrEqual(80);
  });
});
