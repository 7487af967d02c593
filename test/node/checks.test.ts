import { describe, expect, it } from "vitest";
import { assessCmdline, parseCmdline, parseKmemConfig } from "../../src/node/boot.js";
import { assessCgroupGap, assessCgroupIds, parseProcCgroups, type CgroupRow } from "../../src/node/cgroups.js";
import { assessKernel, kernelRisk, parseKernelRelease } from "../../src/node/kernel.js";
import { assessKubepodsKmem } from "../../src/node/kmem.js";
import { assessKernelLog, assessSlab, newLogScan, scanLogLine } from "../../src/node/memory.js";
import { nokmemBuildCommand } from "../../src/node/remedy.js";
import type { Finding, NodeRead } from "../../src/node/types.js";
import { decideVerdict, type VerdictInputs } from "../../src/node/node-verdict.js";

const ok = (path: string, text: string): NodeRead => ({ path, state: "ok", text });

describe("kernel release", () => {
  it.each([
    ["3.10.0-957.el7.x86_64", "strong"],
    ["3.10.0-693.17.1.el7.x86_64", "strong"],
    ["3.10.0-1074.el7.x86_64", "strong"],
    ["3.10.0-1075.el7.x86_64", "affected"],
    ["3.10.0-1160.el7.x86_64", "affected"],
    ["3.10.0-327.el7.centos.plus.x86_64", "strong"],
    ["3.16.0-11-amd64", "affected"],
    ["3.13.0-170-generic", "affected"],
    ["4.4.227-1.el7.elrepo.x86_64", "possible"],
    ["4.9.0-7-amd64", "possible"],
    ["4.18.0-193.14.2.el8_2.x86_64", "none"],
    ["4.19.91-26.al7.x86_64", "none"],
    ["5.4.0-150-generic", "none"],
    ["5.10.0-21-amd64", "none"],
    ["6.1.0", "none"],
  ] as const)("%s is %s", (release, risk) => {
    const k = parseKernelRelease(`${release}\n`);
    expect(k).not.toBeNull();
    expect(kernelRisk(k!)).toBe(risk);
  });

  it("reads the RHEL build number and distribution", () => {
    expect(parseKernelRelease("3.10.0-957.21.3.el7.x86_64")).toMatchObject({ major: 3, minor: 10, patch: 0, build: 957, distro: "el7" });
    expect(parseKernelRelease("4.4.227-1.el7.elrepo.x86_64")).toMatchObject({ build: 1, distro: "el7" });
  });

  it.each(["", "\n", "garbage", "3.10.0 957", "linux-5.10", "3.10.0-957.el7/../../etc", "\u0000\u00ff"])("%j is not a release", (text) => {
    expect(parseKernelRelease(text)).toBeNull();
    const a = assessKernel(ok("/proc/sys/kernel/osrelease", text));
    expect(a).toMatchObject({ risk: "unknown", finding: { severity: "unknown" } });
    expect(a.finding.title).toMatch(/^kernel release unknown: expected/);
  });

  it.each([
    ["3.10.0-957.el7.x86_64", "critical"],
    ["3.10.0-1160.el7.x86_64", "warning"],
    ["4.4.227-1.el7.elrepo.x86_64", "warning"],
    ["5.10.0-21-amd64", "ok"],
  ] as const)("%s is flagged %s", (release, severity) => {
    expect(assessKernel(ok("/proc/sys/kernel/osrelease", release)).finding.severity).toBe(severity);
  });
});

describe("boot parameters and config", () => {
  it.each([
    ["ro quiet cgroup.memory=nokmem", { nokmem: true, memcgDisabled: false }],
    ["ro cgroup.memory=nosocket,nokmem quiet", { nokmem: true, memcgDisabled: false }],
    ["ro cgroup.memory=nosocket", { nokmem: false, memcgDisabled: false }],
    ["ro cgroup_disable=memory", { nokmem: false, memcgDisabled: true }],
    ["ro xcgroup.memory=nokmem", { nokmem: false, memcgDisabled: false }],
  ])("%s", (cmdline, facts) => {
    expect(parseCmdline(cmdline)).toEqual(facts);
  });

  it.each([
    ["strong", "warning"],
    ["possible", "warning"],
    ["unknown", "info"],
    ["none", "ok"],
  ] as const)("a missing boot parameter on a %s kernel is %s", (risk, severity) => {
    expect(assessCmdline(ok("/proc/cmdline", "ro quiet"), risk).finding.severity).toBe(severity);
  });

  it.each([
    ["CONFIG_MEMCG=y\nCONFIG_MEMCG_KMEM=y\n", { kmem: true, memcg: true }],
    ["CONFIG_MEMCG=y\n# CONFIG_MEMCG_KMEM is not set\n", { kmem: false, memcg: true }],
    ["# CONFIG_MEMCG is not set\n", { kmem: null, memcg: false }],
    ["CONFIG_MEMCG_KMEM_EXTRA=y\n", { kmem: null, memcg: null }],
  ])("%j", (text, expected) => {
    expect(parseKmemConfig(text)).toEqual(expected);
  });
});

describe("/proc/cgroups", () => {
  const header = "#subsys_name\thierarchy\tnum_cgroups\tenabled\n";
  it("parses the memory row", () => {
    expect(parseProcCgroups(`${header}cpuset\t5\t12\t1\nmemory\t8\t60000\t1\n`)).toEqual({
      ok: true,
      rows: [
        { subsys: "cpuset", hierarchy: 5, numCgroups: 12, enabled: true },
        { subsys: "memory", hierarchy: 8, numCgroups: 60000, enabled: true },
      ],
    });
  });

  it.each([
    ["", "the file is empty"],
    ["memory\t8\t60000\t1\n", "expected the header"],
    [`${header}memory\t8\t600`, "line 2 is malformed or cut short"],
    [`${header}memory\t8\tlots\t1\n`, "line 2 is malformed"],
  ])("rejects %j", (text, reason) => {
    const p = parseProcCgroups(text);
    expect(p.ok).toBe(false);
    expect(p.ok ? "" : p.reason).toContain(reason);
  });

  it.each([
    [100, "ok"],
    [32767, "ok"],
    [32768, "warning"],
    [58981, "warning"],
    [58982, "critical"],
    [65535, "critical"],
  ] as const)("%i ids in use is %s", (n, severity) => {
    expect(assessCgroupIds(ok("/proc/cgroups", `${header}memory\t8\t${n}\t1\n`)).finding.severity).toBe(severity);
  });

  const row = (n: number, hierarchy = 8): CgroupRow => ({ subsys: "memory", hierarchy, numCgroups: n, enabled: true });
  const dirs = (count: number, unlisted = 0) => ({ state: "ok" as const, count, unlisted, capped: false });
  it.each([
    [45, 40, "ok"],
    [1500, 900, "ok"], // 600 gone: below the warning gap
    [2000, 900, "warning"],
    [17000, 500, "critical"],
    [60000, 40, "critical"],
  ] as const)("num_cgroups %i against %i directories is %s", (n, d, severity) => {
    expect(assessCgroupGap(row(n), dirs(d), "/sys/fs/cgroup/memory").severity).toBe(severity);
  });

  it("a gap on a kernel that does not leak is dying cgroups, not the leak", () => {
    expect(assessCgroupGap(row(20000, 8), dirs(500), "/sys/fs/cgroup/memory", false)).toMatchObject({
      severity: "info",
      title: "kernel counts 20000 memory cgroups, 500 exist: 19500 dying, not the kmem leak on this kernel",
    });
  });

  it("a gap with directories that could not be listed is unknown, not a leak", () => {
    expect(assessCgroupGap(row(60000), dirs(40, 3), "/sys/fs/cgroup/memory").severity).toBe("unknown");
  });

  it("cgroup v2 has no v1 directories to compare", () => {
    expect(assessCgroupGap(row(300, 0), { path: "/sys/fs/cgroup/memory", state: "missing" }, "/sys/fs/cgroup/memory").severity).toBe("info");
  });
});

describe("kmem on kubepods", () => {
  const cg = "/sys/fs/cgroup/memory/kubepods";
  const slab = (r: Partial<NodeRead> & { state: NodeRead["state"] }) => ({ path: `${cg}/memory.kmem.slabinfo`, ...r }) as NodeRead;
  const usage = (text: string) => ok(`${cg}/memory.kmem.usage_in_bytes`, text);
  it.each([
    ["slabinfo readable", slab({ state: "ok", text: "slabinfo - version: 2.1\n" }), usage("0\n"), "on"],
    ["slabinfo EIO", slab({ state: "unreadable", cause: "io-error", reason: "EIO: input/output error" }), usage("0\n"), "off"],
    ["slabinfo EIO but usage above zero", slab({ state: "unreadable", cause: "io-error", reason: "EIO" }), usage("4096\n"), "on"],
    ["no kmem files (CONFIG_MEMCG_KMEM off)", slab({ state: "missing" }), { path: `${cg}/memory.kmem.usage_in_bytes`, state: "missing" }, "off"],
    ["slabinfo a FIFO, usage garbage", slab({ state: "unreadable", cause: "not-regular", reason: "not a regular file (a FIFO)" }), usage("lots"), "unknown"],
  ] as const)("%s → %s", (_name, slabinfo, usageRead, state) => {
    expect(assessKubepodsKmem({ cgroup: cg, cgroupV2: false, slabinfo, usage: usageRead }, "strong", false, "fix").state).toBe(state);
  });
});

describe("slab and kernel log", () => {
  const meminfo = (total: number, slab: number) => ok("/proc/meminfo", `MemTotal: ${total} kB\nSlab: ${slab} kB\nSUnreclaim: ${slab / 2} kB\n`);
  it.each([
    [1000, 100, "ok"],
    [1000, 200, "warning"],
    [1000, 500, "critical"],
  ] as const)("slab %i of %i kB is %s", (total, slab, severity) => {
    expect(assessSlab(meminfo(total, slab), "reboot").severity).toBe(severity);
  });

  it("meminfo without Slab is unknown", () => {
    expect(assessSlab(ok("/proc/meminfo", "MemTotal: 1000 kB\n"), null).severity).toBe("unknown");
  });

  it("counts SLUB failures and failed cgroup mkdirs", () => {
    const scan = newLogScan("/var/log/messages");
    for (const line of [
      "kernel: SLUB: Unable to allocate memory on node -1 (gfp=0x8020)",
      "kernel:   cache: kmalloc-64, object size: 64",
      "dockerd: mkdir /sys/fs/cgroup/memory/docker/406cfca0: no space left on device",
      "kubelet: mkdir /sys/fs/cgroup/memory/kubepods/burstable/pod1: cannot allocate memory",
      "kubelet: mkdir /var/lib/kubelet/pods: no space left on device",
    ])
      scanLogLine(scan, line);
    expect(scan).toMatchObject({ slub: 1, mkdir: 2 });
    expect(assessKernelLog([scan], [], "leak-possible", "reboot").severity).toBe("critical");
    expect(assessKernelLog([scan], [], "protected", "reboot").severity).toBe("info");
    expect(assessKernelLog([scan], [], "kernel-not-affected", "reboot").severity).toBe("info");
    expect(assessKernelLog([], [{ path: "/var/log/messages", state: "missing" }], "leak-possible", null).severity).toBe("unknown");
  });
});

describe("the node verdict", () => {
  const f = (id: Finding["id"], severity: Finding["severity"]): Finding => ({ id, severity, title: id, evidence: [], remedy: null });
  const base: VerdictInputs = {
    risk: "strong",
    bootProtected: false,
    kmemBuiltIn: true,
    kmem: "on",
    kubelet: "unpatched",
    runc: "unpatched",
    findings: [f("kernel-release", "critical"), f("kubepods-kmem", "critical")],
  };
  it.each<[string, Partial<VerdictInputs>, string]>([
    ["affected kernel, kmem on", {}, "at-risk"],
    ["leak visible", { findings: [f("memory-cgroup-gap", "critical")] }, "leaking"],
    ["ids above half, even on a new kernel", { risk: "none", findings: [f("memory-cgroup-ids", "warning")] }, "leaking"],
    ["booted nokmem, kmem off", { bootProtected: true, kmem: "off" }, "healthy"],
    ["booted nokmem but kmem on anyway", { bootProtected: true, kmem: "on" }, "at-risk"],
    ["kernel built without kmem", { kmemBuiltIn: false }, "healthy"],
    ["cgroup v2", { kmem: "cgroup-v2" }, "healthy"],
    ["new kernel", { risk: "none" }, "healthy"],
    ["kernel unknown", { risk: "unknown" }, "unknown"],
    ["kmem off, nokmem kubelet and runc", { kmem: "off", kubelet: "patched", runc: "not-affected" }, "healthy"],
    ["kmem off, runc unknown", { kmem: "off", kubelet: "patched", runc: "unknown" }, "at-risk"],
    ["kmem unknown, binaries unknown", { kmem: "unknown", kubelet: null, runc: null }, "at-risk"],
  ])("%s → %s", (_name, over, verdict) => {
    expect(decideVerdict({ ...base, ...over }).verdict).toBe(verdict);
  });
});

describe("remedy commands", () => {
  it.each([
    ["1.17.9", "kubelet-nokmem build --version v1.17.9"],
    ["v1.16.15", "kubelet-nokmem build --version v1.16.15"],
  ])("%s", (version, command) => {
    expect(nokmemBuildCommand(version)).toBe(command);
  });
});
