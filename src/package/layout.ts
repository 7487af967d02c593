/**
 * What a package of the nokmem kubelet holds and how it is named: pure data
 * from the release, the package release number and the platform. The layout
 * follows the stock `kubelet` packages of the 1.1x release lines, so that
 * ours replaces the stock one in place and a kubeadm set-up keeps its unit:
 *
 * | | RPM (yum) | DEB (apt) |
 * |---|---|---|
 * | binary | /usr/bin/kubelet | /usr/bin/kubelet |
 * | unit | /usr/lib/systemd/system/kubelet.service | /lib/systemd/system/kubelet.service |
 * | config | /etc/sysconfig/kubelet (noreplace) | /etc/default/kubelet (conffile) |
 * | static pods | /etc/kubernetes/manifests/ | /etc/kubernetes/manifests/ |
 *
 * kubeadm's drop-in (`kubelet.service.d/10-kubeadm.conf`) is not ours: the
 * stock `kubeadm` package owns it, in both formats, and a second owner with
 * other bytes makes rpm refuse the transaction ("conflicts with file from
 * package kubeadm") and dpkg refuse the unpack. Our unit keeps its name and
 * path, so the drop-in keeps applying.
 */
import { UsageError } from "../errors.js";

export const PACKAGE_FORMATS = ["rpm", "deb"] as const;
export type PackageFormat = (typeof PACKAGE_FORMATS)[number];

/** Where the package records its pin: read back by `verify`/`audit PACKAGE` and by a person on the node. */
export const PIN_FILE = "usr/share/kubelet-nokmem/pin.json";
export const KUBELET_FILE = "usr/bin/kubelet";

/** A package names the machine in its own words. */
const ARCHES: Record<string, { rpm: string; deb: string }> = {
  "linux/amd64": { rpm: "x86_64", deb: "amd64" },
  "linux/arm64": { rpm: "aarch64", deb: "arm64" },
  "linux/arm": { rpm: "armv7hl", deb: "armhf" },
  "linux/ppc64le": { rpm: "ppc64le", deb: "ppc64el" },
  "linux/s390x": { rpm: "s390x", deb: "s390x" },
};

export function packageArch(platform: string, format: PackageFormat): string {
  const a = ARCHES[platform];
  if (!a)
    throw new UsageError(
      "E_PLATFORM",
      `expected a platform with a package architecture (${Object.keys(ARCHES).join(", ")}), found ${platform}`,
      "package the platforms upstream packages",
    );
  return a[format];
}

export function parseFormats(given: string): PackageFormat[] {
  const items = given
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = items.find((i) => !(PACKAGE_FORMATS as readonly string[]).includes(i));
  if (bad !== undefined || !items.length)
    throw new UsageError(
      "E_PACKAGE_FORMAT",
      `expected --format to list ${PACKAGE_FORMATS.join(", ")}, found ${JSON.stringify(bad ?? given)}`,
      "e.g. --format rpm,deb",
    );
  return [...new Set(items as PackageFormat[])];
}

/** The package release number N: a whole number from 1, bumped when the same kubelet is packaged again. */
export function parsePackageRelease(given: string): number {
  const n = /^[1-9]\d{0,5}$/.test(given) ? Number(given) : NaN;
  if (!Number.isInteger(n))
    throw new UsageError(
      "E_PACKAGE_RELEASE",
      `expected --release to be a whole number from 1, found ${JSON.stringify(given)}`,
      "e.g. --release 2 to package the same kubelet again",
    );
  return n;
}

/**
 * Versions that sort above the stock package of the same Kubernetes release
 * and below the next one (test/os-package proves both with rpm's and dpkg's
 * own comparison):
 * - RPM: stock `kubelet-1.20.2-0`; ours `1.20.2-<N>.nokmem` (rpmvercmp: 1 > 0).
 * - DEB: stock `1.20.2-00`; ours `1.20.2-01+nokmem<N>` (dpkg: 01 > 00, and a
 *   later stock `-01` still sorts below `-01+nokmem<N>`).
 */
export function packageVersion(version: string, release: number, format: PackageFormat): { version: string; release: string; full: string } {
  if (format === "rpm") return { version, release: `${release}.nokmem`, full: `${version}-${release}.nokmem` };
  return { version, release: `01+nokmem${release}`, full: `${version}-01+nokmem${release}` };
}

export function packageFileName(version: string, release: number, platform: string, format: PackageFormat): string {
  const v = packageVersion(version, release, format);
  const arch = packageArch(platform, format);
  return format === "rpm" ? `kubelet-${v.full}.${arch}.rpm` : `kubelet_${v.full}_${arch}.deb`;
}

/** kubernetes-cni the stock kubelet of a line required (the stock spec's CNI table). */
function cniFor(version: string): string {
  const minor = Number(version.split(".")[1]);
  if (minor >= 18) return "0.8.7";
  if (minor >= 11) return "0.7.5";
  return "0.6.0";
}

interface Dependency {
  name: string;
  /** e.g. ">= 1.4.21" */
  atLeast?: string;
}

/** The stock kubelet's run-time dependencies, named as each distribution names them. */
export function dependencies(version: string, format: PackageFormat): Dependency[] {
  const common: Dependency[] = [
    { name: "conntrack" },
    { name: "ebtables" },
    { name: "ethtool" },
    { name: format === "rpm" ? "iproute" : "iproute2" },
    { name: "iptables", atLeast: "1.4.21" },
    { name: "kubernetes-cni", atLeast: cniFor(version) },
    { name: "socat" },
    { name: "util-linux" },
  ];
  return format === "deb" ? [...common, { name: "mount" }] : common;
}

export const formatDependency = (d: Dependency, format: PackageFormat): string =>
  d.atLeast ? (format === "rpm" ? `${d.name} >= ${d.atLeast}` : `${d.name} (>= ${d.atLeast})`) : d.name;

/** What pin.json in the package says: the pinned release and the kubelet's sha256. */
export interface PackagePin {
  schemaVersion: 1;
  kubernetes: string;
  platform: string;
  sha256: string;
  package: { format: PackageFormat; version: string };
  pin: { commit: string; strategy: string | null; keyid: string | null };
}

export const SUMMARY = "Kubernetes node agent, built so that it never enables kernel-memory accounting";

export function description(version: string): string {
  return (
    `The kubelet of Kubernetes ${version}, built by kubelet-nokmem so that it never turns on ` +
    "kernel-memory (kmem) accounting for the cgroups it creates: on 3.10 and some 4.x kernels " +
    "that accounting leaks memory-cgroup ids until new pods fail. It replaces the stock kubelet " +
    "package of the same release in place; the pin it was checked against is in /usr/share/kubelet-nokmem/pin.json."
  );
}

/** The unit: the stock unit's behaviour (kubeadm's drop-in supplies the flags), in our words. */
export const UNIT_FILE = `[Unit]
Description=kubelet: the Kubernetes node agent (nokmem build)
Documentation=https://kubernetes.io/docs/reference/command-line-tools-reference/kubelet/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`;

/** /etc/sysconfig/kubelet or /etc/default/kubelet: where a node adds its own flags; never replaced by an update. */
export const CONFIG_FILE = `# Extra flags for the kubelet, read by kubeadm's drop-in for kubelet.service.
# An update of the kubelet package keeps this file as you left it.
KUBELET_EXTRA_ARGS=
`;

export const COPYRIGHT = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: kubernetes
Source: https://github.com/kubernetes/kubernetes

Files: *
Copyright: 2014-2021 The Kubernetes Authors
License: Apache-2.0
 On Debian systems, the full text of the Apache License 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
`;
