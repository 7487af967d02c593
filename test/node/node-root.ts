/**
 * Fixture root filesystems for the node doctor: each preset names the node it
 * imitates; tests override single paths (null removes one) and write the tree
 * into a temporary directory.
 *
 * Tests run as root, so chmod 000 does not make a file unreadable. Fixtures
 * imitate unreadable files the ways the doctor meets them on real nodes:
 * - `{ kind: "dir" }` where a file belongs reads as an I/O error (EISDIR is
 *   treated like the EIO a kmem-less memory.kmem.slabinfo gives);
 * - `{ kind: "fifo" }` is a special file the doctor must refuse without blocking.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { run } from "../../src/process/exec.js";

export type Entry = string | Buffer | { kind: "dir" } | { kind: "fifo" } | { kind: "symlink"; target: string };
export type NodeFiles = Record<string, Entry | null>;

export const DIR = { kind: "dir" } as const;
export const FIFO = { kind: "fifo" } as const;

export async function writeRoot(files: NodeFiles): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "kubelet-nokmem-node-"));
  for (const [path, entry] of Object.entries(files)) {
    if (entry === null) continue;
    const local = join(root, path);
    await mkdir(dirname(local), { recursive: true });
    if (typeof entry === "string" || Buffer.isBuffer(entry)) await writeFile(local, entry);
    else if (entry.kind === "dir") await mkdir(local, { recursive: true });
    else if (entry.kind === "fifo") await run({ file: "mkfifo", args: [local] });
    else await symlink(entry.target, local);
  }
  return root;
}

export async function removeRoot(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
}

/** An ELF-looking file holding the given strings, as the marker check reads it. */
function fakeBinary(...strings: string[]): Buffer {
  return Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(4096), ...strings.map((s) => Buffer.from(`\0${s}\0`, "latin1"))]);
}

/** A kubelet/runc whose vendored runc enables kmem (a normal 1.16–1.21.1 build). */
export const KMEM_ENABLED_BINARY = fakeBinary("memory.kmem.limit_in_bytes", "kernel memory accounting not supported by this kernel", "Kubernetes v1.17.9");
/** The same built with the nokmem tag (rc7+ runc). */
export const NOKMEM_BINARY = fakeBinary("kernel memory accounting disabled in this runc build", "Kubernetes v1.17.9");

function procCgroups(memoryCount: number, opts: { hierarchy?: number; enabled?: boolean } = {}): string {
  const rows = [
    "#subsys_name\thierarchy\tnum_cgroups\tenabled",
    "cpuset\t5\t12\t1",
    "cpu\t2\t90\t1",
    "cpuacct\t2\t90\t1",
    `memory\t${opts.hierarchy ?? 8}\t${memoryCount}\t${opts.enabled === false ? 0 : 1}`,
    "devices\t9\t88\t1",
    "freezer\t4\t12\t1",
    "pids\t11\t88\t1",
  ];
  return `${rows.join("\n")}\n`;
}

/** `count` memory cgroup directories (the top included): kubepods, QoS classes and pods. */
function memoryCgroupTree(count: number, kubepods = "kubepods"): NodeFiles {
  const base = "sys/fs/cgroup/memory";
  const files: NodeFiles = {
    [base]: DIR,
    [`${base}/${kubepods}`]: DIR,
    [`${base}/${kubepods}/burstable`]: DIR,
    [`${base}/${kubepods}/besteffort`]: DIR,
    [`${base}/system.slice`]: DIR,
  };
  for (let i = 0; Object.keys(files).length < count; i++) files[`${base}/${kubepods}/burstable/pod${i}`] = DIR;
  return files;
}

function meminfo(totalKb: number, slabKb: number, unreclaimKb: number): string {
  return [
    `MemTotal:       ${totalKb} kB`,
    "MemFree:         1048576 kB",
    `Slab:           ${slabKb} kB`,
    `SReclaimable:   ${slabKb - unreclaimKb} kB`,
    `SUnreclaim:     ${unreclaimKb} kB`,
    "",
  ].join("\n");
}

const SLABINFO_ON =
  "slabinfo - version: 2.1\n# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n";
const CENTOS_CMDLINE = "BOOT_IMAGE=/vmlinuz-3.10.0-957.el7.x86_64 root=/dev/mapper/centos-root ro crashkernel=auto rd.lvm.lv=centos/root rhgb quiet\n";
const SLUB_LINES = [
  "Mar  3 10:11:12 worker-7 kernel: SLUB: Unable to allocate memory on node -1 (gfp=0x8020)",
  "Mar  3 10:11:12 worker-7 kernel:   cache: kmalloc-64(3713:a1b2c3), object size: 64, buffer size: 64, default order: 0, min order: 0",
  "Mar  3 10:11:13 worker-7 kubelet: E0303 10:11:13 pod_workers.go:191] failed to create container for [kubepods burstable pod1234]: mkdir /sys/fs/cgroup/memory/kubepods/burstable/pod1234: cannot allocate memory",
  "Mar  3 10:12:40 worker-7 kernel: SLUB: Unable to allocate memory on node -1 (gfp=0x8020)",
];

/** Debian 11 node, 5.10 kernel: not affected, whatever its kubelet does. */
export function healthyNode(): NodeFiles {
  return {
    "etc/hostname": "worker-1\n",
    "proc/sys/kernel/osrelease": "5.10.0-21-amd64\n",
    "proc/cmdline": "BOOT_IMAGE=/boot/vmlinuz-5.10.0-21-amd64 root=UUID=0b1c ro quiet\n",
    "boot/config-5.10.0-21-amd64": "CONFIG_CGROUPS=y\nCONFIG_MEMCG=y\nCONFIG_MEMCG_SWAP=y\nCONFIG_MEMCG_KMEM=y\n",
    "proc/cgroups": procCgroups(24),
    ...memoryCgroupTree(22),
    "sys/fs/cgroup/memory/kubepods/memory.kmem.slabinfo": SLABINFO_ON,
    "sys/fs/cgroup/memory/kubepods/memory.kmem.usage_in_bytes": "52428800\n",
    "proc/meminfo": meminfo(16_384_000, 409_600, 102_400),
    "var/log/kern.log": "Mar  3 10:00:00 worker-1 kernel: [    0.000000] Linux version 5.10.0-21-amd64\n",
    "usr/bin/kubelet": KMEM_ENABLED_BINARY,
    "usr/bin/runc": fakeBinary("runc version 1.1.4"),
  };
}

/** CentOS 7.6, 3.10.0-957, kmem on under kubepods, and the leak well under way. */
export function centos7LeakingNode(): NodeFiles {
  return {
    "etc/hostname": "worker-7\n",
    "proc/sys/kernel/osrelease": "3.10.0-957.el7.x86_64\n",
    "proc/cmdline": CENTOS_CMDLINE,
    "boot/config-3.10.0-957.el7.x86_64": "CONFIG_CGROUPS=y\nCONFIG_MEMCG=y\nCONFIG_MEMCG_SWAP=y\nCONFIG_MEMCG_KMEM=y\n",
    "proc/cgroups": procCgroups(60000),
    ...memoryCgroupTree(40),
    "sys/fs/cgroup/memory/kubepods/memory.kmem.slabinfo": SLABINFO_ON,
    "sys/fs/cgroup/memory/kubepods/memory.kmem.usage_in_bytes": "1837056\n",
    "proc/meminfo": meminfo(16_384_000, 5_000_000, 4_600_000),
    "var/log/messages": `Mar  3 09:00:00 worker-7 systemd: Started Session 1 of user root.\n${SLUB_LINES.join("\n")}\n`,
    "usr/bin/kubelet": KMEM_ENABLED_BINARY,
    "usr/bin/runc": KMEM_ENABLED_BINARY,
  };
}

/** The same CentOS 7 node freshly rebooted: kmem on, no leak visible yet. */
export function centos7AtRiskNode(): NodeFiles {
  return {
    ...centos7LeakingNode(),
    "proc/cgroups": procCgroups(42),
    "proc/meminfo": meminfo(16_384_000, 409_600, 102_400),
    "var/log/messages": "Mar  3 09:00:00 worker-7 systemd: Started Session 1 of user root.\n",
  };
}

/** CentOS 7.9 booted with cgroup.memory=nokmem: kmem reads give EIO, nothing leaks. */
export function nokmemBootNode(): NodeFiles {
  return {
    ...centos7LeakingNode(),
    "proc/sys/kernel/osrelease": "3.10.0-1160.el7.x86_64\n",
    "proc/cmdline": CENTOS_CMDLINE.replace("3.10.0-957", "3.10.0-1160").replace("rhgb quiet", "rhgb quiet cgroup.memory=nokmem"),
    "boot/config-3.10.0-957.el7.x86_64": null,
    "boot/config-3.10.0-1160.el7.x86_64": "CONFIG_MEMCG=y\nCONFIG_MEMCG_KMEM=y\n",
    "proc/cgroups": procCgroups(41),
    "sys/fs/cgroup/memory/kubepods/memory.kmem.slabinfo": DIR,
    "sys/fs/cgroup/memory/kubepods/memory.kmem.usage_in_bytes": "0\n",
    "proc/meminfo": meminfo(16_384_000, 409_600, 102_400),
    // Left over from before the reboot: /var/log/messages outlives boots.
    "var/log/messages": `${SLUB_LINES[0]}\n`,
  };
}

/** CentOS 7 without the boot parameter, but running a nokmem kubelet and runc. */
export function centos7NokmemBinariesNode(): NodeFiles {
  return {
    ...centos7AtRiskNode(),
    "sys/fs/cgroup/memory/kubepods/memory.kmem.slabinfo": DIR,
    "sys/fs/cgroup/memory/kubepods/memory.kmem.usage_in_bytes": "0\n",
    "usr/bin/kubelet": NOKMEM_BINARY,
    "usr/bin/runc": NOKMEM_BINARY,
  };
}
