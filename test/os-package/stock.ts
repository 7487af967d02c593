/**
 * Stock-shaped packages for the install tests, made with the real tools:
 * the stock `kubelet` and `kubeadm` of 1.20.2 as the upstream repositories
 * shipped them (kubelet-1.20.2-0 / 1.20.2-00, kubeadm owning the drop-in),
 * and empty stand-ins for the dependencies an empty install root lacks
 * (conntrack, kubernetes-cni, …). Written for these tests, modelled on the
 * stock packages' names, versions and paths; no upstream file is copied.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

interface StubPackage {
  name: string;
  version: string;
  /** RPM release / DEB revision */
  release: string;
  arch: "noarch" | "x86_64";
  requires?: string[];
  /** path → [content, mode, config] */
  files?: Record<string, [string | Buffer, number, boolean?]>;
}

function stubRpm(work: string, p: StubPackage): string {
  const top = join(work, `rpm-${p.name}`);
  const src = join(top, "SOURCES");
  mkdirSync(src, { recursive: true });
  const files = Object.entries(p.files ?? {});
  const install = files.map(([path, [data, mode]], i) => {
    writeFileSync(join(src, `f${i}`), data);
    return `install -D -m ${mode.toString(8)} %{_sourcedir}/f${i} %{buildroot}${path}`;
  });
  const spec = [
    "%global debug_package %{nil}",
    "%global __os_install_post %{nil}",
    "%define _binary_payload w9.gzdio",
    `Name: ${p.name}`,
    `Version: ${p.version}`,
    `Release: ${p.release}`,
    "Summary: stock-shaped test package",
    "License: ASL 2.0",
    ...(p.arch === "noarch" ? ["BuildArch: noarch"] : []),
    ...(p.requires ?? []).map((r) => `Requires: ${r}`),
    "%description",
    "A stand-in with the stock package's name, version and paths.",
    "%install",
    ...install,
    "%files",
    ...files.map(([path, [, , config]]) => (config ? `%config(noreplace) ${path}` : path)),
  ].join("\n");
  writeFileSync(join(top, "stub.spec"), `${spec}\n`);
  execFileSync("rpmbuild", ["-bb", ...(p.arch === "x86_64" ? ["--target", "x86_64-linux"] : []), "--define", `_topdir ${top}`, join(top, "stub.spec")], {
    stdio: "pipe",
  });
  const dir = join(top, "RPMS", p.arch);
  return join(dir, readdirSync(dir)[0]!);
}

function stubDeb(work: string, p: StubPackage): string {
  const root = join(work, `deb-${p.name}`);
  mkdirSync(join(root, "DEBIAN"), { recursive: true });
  const conffiles: string[] = [];
  for (const [path, [data, mode, config]] of Object.entries(p.files ?? {})) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), data);
    chmodSync(join(root, path), mode);
    if (config) conffiles.push(path);
  }
  const arch = p.arch === "noarch" ? "all" : "amd64";
  writeFileSync(
    join(root, "DEBIAN", "control"),
    [
      `Package: ${p.name}`,
      `Version: ${p.version}-${p.release}`,
      `Architecture: ${arch}`,
      "Maintainer: test <test@example.invalid>",
      ...(p.requires?.length ? [`Depends: ${p.requires.join(", ")}`] : []),
      "Description: stock-shaped test package",
      " A stand-in with the stock package's name, version and paths.",
      "",
    ].join("\n"),
  );
  if (conffiles.length) writeFileSync(join(root, "DEBIAN", "conffiles"), conffiles.map((c) => `${c}\n`).join(""));
  const out = join(work, `${p.name}_${p.version}-${p.release}_${arch}.deb`);
  execFileSync("dpkg-deb", ["--root-owner-group", "--build", root, out], { stdio: "pipe" });
  return out;
}

const STOCK_UNIT = "[Unit]\nDescription=stock-shaped kubelet unit\n[Service]\nExecStart=/usr/bin/kubelet\n";
const DROP_IN = "[Service]\nEnvironmentFile=-/etc/sysconfig/kubelet\nExecStart=\nExecStart=/usr/bin/kubelet $KUBELET_EXTRA_ARGS\n";

/** The stock 1.20.2 set for yum: kubelet-1.20.2-0, kubeadm-1.20.2-0 (owner of the drop-in), and the dependencies as empty stand-ins. */
export function stockRpms(work: string, stockKubelet: Buffer): string[] {
  const deps = [
    ["conntrack", "1.4.4"],
    ["ebtables", "2.0.10"],
    ["ethtool", "4.8"],
    ["iproute", "4.11.0"],
    ["iptables", "1.4.21"],
    ["kubernetes-cni", "0.8.7"],
    ["socat", "1.7.3.2"],
    ["util-linux", "2.23.2"],
  ];
  return [
    ...deps.map(([name, version]) => stubRpm(work, { name: name!, version: version!, release: "0", arch: "noarch" })),
    stockKubeletRpm(work, "1.20.2", stockKubelet),
    stubRpm(work, {
      name: "kubeadm",
      version: "1.20.2",
      release: "0",
      arch: "x86_64",
      requires: ["kubelet >= 1.19.0"],
      files: { "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf": [DROP_IN, 0o644] },
    }),
  ];
}

/** The stock 1.20.2 set for apt: kubelet 1.20.2-00, kubeadm 1.20.2-00 (owner of the drop-in), kubernetes-cni 0.8.7-00. */
export function stockDebs(work: string, stockKubelet: Buffer): string[] {
  return [
    stubDeb(work, { name: "kubernetes-cni", version: "0.8.7", release: "00", arch: "noarch" }),
    stockKubeletDeb(work, "1.20.2", stockKubelet),
    stubDeb(work, {
      name: "kubeadm",
      version: "1.20.2",
      release: "00",
      arch: "x86_64",
      requires: ["kubelet (>= 1.19.0)"],
      files: { "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf": [DROP_IN, 0o644] },
    }),
  ];
}

/** A stock-shaped kubelet RPM of `version` (release 0), as the upstream yum repository ships it. */
function stockKubeletRpm(work: string, version: string, stockKubelet: Buffer): string {
  return stubRpm(work, {
    name: "kubelet",
    version,
    release: "0",
    arch: "x86_64",
    requires: ["kubernetes-cni >= 0.8.7"],
    files: {
      "/usr/bin/kubelet": [stockKubelet, 0o755],
      "/usr/lib/systemd/system/kubelet.service": [STOCK_UNIT, 0o644],
      "/etc/sysconfig/kubelet": ["KUBELET_EXTRA_ARGS=\n", 0o644, true],
    },
  });
}

/** A stock-shaped kubelet DEB of `version` (revision 00), as the upstream apt repository ships it. */
function stockKubeletDeb(work: string, version: string, stockKubelet: Buffer): string {
  return stubDeb(work, {
    name: "kubelet",
    version,
    release: "00",
    arch: "x86_64",
    requires: ["kubernetes-cni (>= 0.8.7)", "iptables (>= 1.4.21)", "conntrack", "socat"],
    files: { "/usr/bin/kubelet": [stockKubelet, 0o755], "/lib/systemd/system/kubelet.service": [STOCK_UNIT, 0o644] },
  });
}

/** The next stock release for apt, kubelet 1.20.3-00: what a hold or a pin must keep off a node that runs ours of 1.20.2. */
export function stockNextDeb(work: string, stockKubelet: Buffer): string {
  return stockKubeletDeb(work, "1.20.3", stockKubelet);
}

/** The next stock release for yum, kubelet-1.20.3-0: what `exclude=kubelet` must keep off a node that runs ours of 1.20.2. */
export function stockNextRpm(work: string, stockKubelet: Buffer): string {
  return stockKubeletRpm(work, "1.20.3", stockKubelet);
}
