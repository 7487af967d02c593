/**
 * What an operator can do, as text with the exact commands. docs/domain.md ("The problem") lists
 * the three cures: boot with cgroup.memory=nokmem, upgrade the kernel, or run a
 * kubelet (and runc) that never enables kmem.
 */
import { kubeletBuildCommand, runcBuildCommand } from "../audit/fix.js";
import type { KernelRelease } from "./types.js";

/** The command that builds a nokmem kubelet for a release with this tool. */
export function nokmemBuildCommand(version: string | undefined): string {
  return kubeletBuildCommand(version);
}

export const remedies = {
  bootParameter(): string {
    return (
      "boot with cgroup.memory=nokmem: `grubby --update-kernel=ALL --args=cgroup.memory=nokmem` (RHEL/CentOS), " +
      "or add it to GRUB_CMDLINE_LINUX in /etc/default/grub and run `grub2-mkconfig -o /boot/grub2/grub.cfg` " +
      "(`update-grub` on Debian/Ubuntu); then drain and reboot the node"
    );
  },

  kernelUpgrade(k: KernelRelease): string {
    if (k.major === 3 && k.minor === 10 && k.distro === "el7") {
      return (
        "upgrade to kernel 3.10.0-1075.el7 or later (`yum update kernel`, RHEL/CentOS 7.8+) and boot with cgroup.memory=nokmem, " +
        "or move the node to a 4.18+ (RHEL 8) or 5.x kernel"
      );
    }
    return "move the node to a 4.18+ or 5.x kernel, or boot with cgroup.memory=nokmem";
  },

  nokmemKubelet(version: string | undefined, path: string | undefined): string {
    return `run a kubelet that never enables kmem: \`${nokmemBuildCommand(version)}\`, then install it in place of ${path ?? "the node's kubelet"} and restart kubelet`;
  },

  nokmemRunc(path: string | undefined, version?: string | null): string {
    return (
      `the runtime's runc (${path ?? "runc"}) enables kmem for every container: build a nokmem runc of the same release with \`${runcBuildCommand(version)}\` ` +
      `and install it in place of ${path ?? "the runtime's runc"} (docs/runc.md), or upgrade to runc 1.0.0-rc94 or later (no kmem code)`
    );
  },

  /** For kmem found on: point at the findings that carry the full commands. */
  stopKmem(runcToo: boolean): string {
    return `keep kmem from being turned on: boot with cgroup.memory=nokmem (see boot-nokmem), or run a nokmem kubelet (see kubelet-binary)${runcToo ? " and runc (see runc-binary)" : ""}, then drain and reboot`;
  },

  reboot(): string {
    return "only a reboot frees leaked memory cgroups: drain and reboot the node, after applying one of the fixes so the leak does not start again";
  },
};
