/**
 * The text rpmbuild and dpkg-deb read: an RPM spec and a DEB control file,
 * pure functions of what a package holds (layout.ts). Written for this
 * project; the stock packages only set the layout to match.
 */
import { dependencies, description, formatDependency, packageArch, packageVersion, SUMMARY } from "./layout.js";

export interface PackageInput {
  /** "1.20.2" */
  kubernetes: string;
  release: number;
  platform: string;
  /** The kubelet's sha256, as its pin records it. */
  sha256: string;
  /** When the package is made (changelog dates, file times): SOURCE_DATE_EPOCH when set. */
  date: Date;
}

const HOMEPAGE = "https://github.com/kubelet-nokmem/kubelet-nokmem";
const PACKAGER = "kubelet-nokmem <packages@kubelet-nokmem.invalid>";

/** `Sun Dec 06 2026`: the date form of an RPM %changelog entry. */
function rpmDate(d: Date): string {
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, "0")} ${d.getUTCFullYear()}`;
}

/** Wrap prose at 72 columns, each line prefixed. */
function wrap(text: string, prefix = ""): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > 72) {
      lines.push(prefix + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(prefix + line);
  return lines.join("\n");
}

/**
 * The spec: no scriptlets (an install root without a shell takes it, and
 * the stock package has none), no stripping or debug split (the kubelet's
 * bytes are its pin), gzip payload and sha256 file digests (what rpm 4.11 on
 * CentOS 7 reads), and times from SOURCE_DATE_EPOCH.
 */
export function rpmSpec(p: PackageInput): string {
  const v = packageVersion(p.kubernetes, p.release, "rpm");
  const requires = dependencies(p.kubernetes, "rpm").map((d) => `Requires: ${formatDependency(d, "rpm")}`);
  return `# Made by kubelet-nokmem from a verified build output folder.
%global debug_package %{nil}
%global __os_install_post %{nil}
%global _build_id_links none
%define _binary_payload w9.gzdio
%define _binary_filedigest_algorithm 8
%define use_source_date_epoch_as_buildtime 1
%define clamp_mtime_to_source_date_epoch 1
%define _buildhost kubelet-nokmem

Name: kubelet
Version: ${v.version}
Release: ${v.release}
Summary: ${SUMMARY}
License: ASL 2.0
Group: System Environment/Daemons
URL: ${HOMEPAGE}
Packager: ${PACKAGER}
Source0: kubelet
Source1: kubelet.service
Source2: kubelet.sysconfig
Source3: pin.json
${requires.join("\n")}

%description
${wrap(description(p.kubernetes))}

%prep

%build

%install
install -D -p -m 0755 %{SOURCE0} %{buildroot}/usr/bin/kubelet
install -D -p -m 0644 %{SOURCE1} %{buildroot}/usr/lib/systemd/system/kubelet.service
install -D -p -m 0644 %{SOURCE2} %{buildroot}/etc/sysconfig/kubelet
install -D -p -m 0644 %{SOURCE3} %{buildroot}/usr/share/kubelet-nokmem/pin.json
install -d -m 0755 %{buildroot}/etc/kubernetes/manifests

%files
/usr/bin/kubelet
/usr/lib/systemd/system/kubelet.service
%config(noreplace) /etc/sysconfig/kubelet
%dir /etc/kubernetes
%dir /etc/kubernetes/manifests
%dir /usr/share/kubelet-nokmem
/usr/share/kubelet-nokmem/pin.json

%changelog
* ${rpmDate(p.date)} ${PACKAGER} - ${v.full}
- Kubernetes ${p.kubernetes} kubelet (${p.platform}) built without kmem accounting,
  pinned at sha256 ${p.sha256}.
`;
}

/** DEBIAN/control. Installed-Size in KiB, as dpkg counts it. */
export function debControl(p: PackageInput, installedKiB: number): string {
  const v = packageVersion(p.kubernetes, p.release, "deb");
  const depends = dependencies(p.kubernetes, "deb").map((d) => formatDependency(d, "deb"));
  return `Package: kubelet
Version: ${v.full}
Architecture: ${packageArch(p.platform, "deb")}
Maintainer: ${PACKAGER}
Installed-Size: ${installedKiB}
Depends: ${depends.join(", ")}
Section: admin
Priority: optional
Homepage: ${HOMEPAGE}
Description: ${SUMMARY}
${wrap(description(p.kubernetes), " ")}
`;
}

/** usr/share/doc/kubelet/changelog.Debian (gzipped by the builder). */
export function debChangelog(p: PackageInput): string {
  const v = packageVersion(p.kubernetes, p.release, "deb");
  // RFC 5322 date, as dpkg-parsechangelog wants it.
  const d = p.date.toUTCString().replace(/GMT$/, "+0000");
  return `kubelet (${v.full}) stable; urgency=medium

  * Kubernetes ${p.kubernetes} kubelet (${p.platform}) built without kmem
    accounting, pinned at
    sha256 ${p.sha256}.

 -- ${PACKAGER}  ${d}
`;
}
