/**
 * Is this kernel one that leaks memory cgroups once kmem accounting is on?
 * Pure: the text of /proc/sys/kernel/osrelease in, a KernelAssessment out.
 */
import { describeUnusable, type Finding, type KernelRelease, type NodeRead } from "./types.js";
import { remedies } from "./remedy.js";

/**
 * - `strong`: RHEL/CentOS 7 3.10 builds before 3.10.0-1075 (the fix tracked in
 *   https://bugzilla.redhat.com/show_bug.cgi?id=1507149 landed there): the worst.
 * - `affected`: any other 3.x kernel, later el7 builds included (field reports
 *   show 3.10.0-1160.el7 nodes still failing pod creation).
 * - `possible`: 4.x before 4.18 (the leak was still reported on 4.4 elrepo kernels).
 * - `none`: 4.18 (RHEL 8) and later.
 */
export type KernelRisk = "strong" | "affected" | "possible" | "none" | "unknown";

interface KernelAssessment {
  release: KernelRelease | null;
  risk: KernelRisk;
  finding: Finding;
}

/** The first RHEL 7 3.10 build with the memory-cgroup fix (BZ 1507149). */
const RHEL7_FIXED_BUILD = 1075;

const RELEASE = /^(\d{1,3})\.(\d{1,3})(?:\.(\d{1,5}))?(?:-([0-9A-Za-z._+~-]{1,120}))?$/;

export function parseKernelRelease(text: string): KernelRelease | null {
  const raw = text.trim();
  const m = RELEASE.exec(raw);
  if (!m) return null;
  const suffix = m[4] ?? "";
  const build = /^(\d+)/.exec(suffix);
  const distro = /(?:^|[.-])(el\d+|elrepo)(?:[._-]|$)/.exec(suffix);
  return {
    raw,
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3] ?? 0),
    build: build ? Number(build[1]) : null,
    distro: distro ? distro[1]! : null,
  };
}

export function kernelRisk(k: KernelRelease): Exclude<KernelRisk, "unknown"> {
  if (k.major < 4) {
    if (k.major === 3 && k.minor === 10 && k.distro === "el7" && k.build !== null && k.build < RHEL7_FIXED_BUILD) return "strong";
    return "affected";
  }
  if (k.major === 4 && k.minor < 18) return "possible";
  return "none";
}

export function assessKernel(read: NodeRead): KernelAssessment {
  const id = "kernel-release" as const;
  if (read.state !== "ok") {
    return {
      release: null,
      risk: "unknown",
      finding: {
        id,
        severity: "unknown",
        title: `kernel release unknown: ${read.state === "missing" ? "osrelease not found" : read.reason}`,
        evidence: [describeUnusable(read)],
        remedy: null,
      },
    };
  }
  const release = parseKernelRelease(read.text);
  if (!release) {
    const shown = JSON.stringify(read.text.trim().slice(0, 60));
    return {
      release: null,
      risk: "unknown",
      finding: {
        id,
        severity: "unknown",
        title: `kernel release unknown: expected e.g. 3.10.0-1160.el7.x86_64, found ${shown}`,
        evidence: [`${read.path}: ${shown}`],
        remedy: null,
      },
    };
  }
  const risk = kernelRisk(release);
  const evidence = [`${read.path}: ${release.raw}`];
  switch (risk) {
    case "strong":
      return {
        release,
        risk,
        finding: {
          id,
          severity: "critical",
          title: `kernel ${release.raw}: RHEL 7 build before 3.10.0-${RHEL7_FIXED_BUILD}, leaks memory cgroups with kmem on`,
          evidence,
          remedy: remedies.kernelUpgrade(release),
        },
      };
    case "affected":
      return {
        release,
        risk,
        finding: {
          id,
          severity: "warning",
          title: `kernel ${release.raw}: 3.x kernel, leaks memory cgroups with kmem on`,
          evidence,
          remedy: remedies.kernelUpgrade(release),
        },
      };
    case "possible":
      return {
        release,
        risk,
        finding: {
          id,
          severity: "warning",
          title: `kernel ${release.raw}: 4.x before 4.18, the leak was reported on such kernels`,
          evidence,
          remedy: remedies.kernelUpgrade(release),
        },
      };
    case "none":
      return { release, risk, finding: { id, severity: "ok", title: `kernel ${release.raw}: not affected by the kmem cgroup leak`, evidence, remedy: null } };
  }
}
