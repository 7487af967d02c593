import { afterEach, describe, expect, it } from "vitest";
import { examineNode, type NodeReport } from "../../src/node/doctor.js";
import { catalogBinaryAuditor } from "../../src/node/binary-auditor.js";
import { loadCatalog } from "../../src/catalog/load.js";

const realAuditor = catalogBinaryAuditor(loadCatalog());
import type { BinaryAuditor } from "../../src/node/binaries.js";
import type { Finding, FindingId } from "../../src/node/types.js";
import {
  centos7AtRiskNode,
  centos7LeakingNode,
  centos7NokmemBinariesNode,
  DIR,
  FIFO,
  healthyNode,
  nokmemBootNode,
  removeRoot,
  writeRoot,
  type NodeFiles,
} from "./node-root.js";

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map(removeRoot));
});

async function examine(files: NodeFiles, auditor: BinaryAuditor = realAuditor, extra: { dmesg?: string } = {}): Promise<NodeReport> {
  const root = await writeRoot(files);
  roots.push(root);
  return examineNode({ root, auditor, ...extra });
}

function finding(r: NodeReport, id: FindingId): Finding {
  const f = r.findings.find((x) => x.id === id);
  if (!f) throw new Error(`no finding ${id}`);
  return f;
}

describe("verdicts on fixture nodes", () => {
  it("a 5.x node is healthy, even with a kubelet that enables kmem", async () => {
    const r = await examine(healthyNode());
    expect(r.verdict).toBe("healthy");
    expect(r.node).toBe("worker-1");
    expect(r.kernelRelease).toBe("5.10.0-21-amd64");
    expect(finding(r, "kernel-release").severity).toBe("ok");
    expect(finding(r, "kubepods-kmem").severity).toBe("info");
    expect(finding(r, "kubelet-binary")).toMatchObject({ severity: "info", remedy: null });
    expect(r.summary).toMatch(/^healthy: kernel 5\.10\.0-21-amd64/);
  });

  it("a 5.x node with SLUB failures and dying cgroups is still healthy: memory pressure, not the leak", async () => {
    const r = await examine({
      ...healthyNode(),
      "proc/cgroups": "#subsys_name\thierarchy\tnum_cgroups\tenabled\nmemory\t8\t9000\t1\n",
      "var/log/kern.log": "Mar  3 10:11:12 worker-1 kernel: SLUB: Unable to allocate memory on node -1 (gfp=0x8020)\n",
    });
    expect(finding(r, "memory-cgroup-gap").severity).toBe("info");
    expect(finding(r, "kernel-log").severity).toBe("info");
    expect(r.verdict).toBe("healthy");
  });

  it("a CentOS 7 node with kmem on and 60000 cgroups against 40 directories is leaking", async () => {
    const r = await examine(centos7LeakingNode());
    expect(r.verdict).toBe("leaking");
    expect(finding(r, "kernel-release").severity).toBe("critical");
    expect(finding(r, "boot-nokmem").severity).toBe("warning");
    expect(finding(r, "boot-nokmem").remedy).toContain("grubby --update-kernel=ALL --args=cgroup.memory=nokmem");
    expect(finding(r, "kernel-config-kmem").title).toContain("CONFIG_MEMCG_KMEM=y");
    expect(finding(r, "memory-cgroup-ids")).toMatchObject({
      severity: "critical",
      title: "60000/65535 memory cgroup ids in use (92%), pod creation fails soon",
    });
    expect(finding(r, "memory-cgroup-gap")).toMatchObject({ severity: "critical", title: "kernel counts 60000 memory cgroups, 40 exist: 59960 leaked" });
    expect(finding(r, "kubepods-kmem")).toMatchObject({ severity: "critical" });
    expect(finding(r, "kubepods-kmem").evidence.join("\n")).toContain("memory.kmem.usage_in_bytes: 1837056");
    expect(finding(r, "slab-memory").severity).toBe("warning");
    expect(finding(r, "kernel-log")).toMatchObject({
      severity: "critical",
      title: "2 SLUB allocation failures, 1 failed memory cgroup mkdirs in the kernel log",
    });
    expect(finding(r, "kubelet-binary").severity).toBe("critical");
    expect(finding(r, "runc-binary").remedy).toContain("`kubelet-nokmem build runc --version ");
    expect(r.summary).toMatch(/^leaking: /);
  });

  it("the same node before the leak shows is at risk, and the remedy names the build command", async () => {
    const pinnedAuditor: BinaryAuditor = async (p) => ({ ...(await realAuditor(p)), kubernetesVersion: "1.17.9" });
    const r = await examine(centos7AtRiskNode(), pinnedAuditor);
    expect(r.verdict).toBe("at-risk");
    expect(finding(r, "memory-cgroup-gap").severity).toBe("ok");
    expect(finding(r, "kernel-log").severity).toBe("ok");
    expect(finding(r, "kubelet-binary").remedy).toContain("`kubelet-nokmem build --version v1.17.9`");
    expect(finding(r, "kubepods-kmem").remedy).toContain(
      "boot with cgroup.memory=nokmem (see boot-nokmem), or run a nokmem kubelet (see kubelet-binary) and runc",
    );
    expect(r.binaries.kubelet).toMatchObject({ path: "/usr/bin/kubelet", verdict: "unpatched", kubernetesVersion: "1.17.9" });
  });

  it("a node booted with cgroup.memory=nokmem is healthy; old SLUB lines are history", async () => {
    const r = await examine(nokmemBootNode());
    expect(r.verdict).toBe("healthy");
    expect(finding(r, "boot-nokmem")).toMatchObject({ severity: "ok", title: expect.stringContaining("cgroup.memory=nokmem") });
    expect(finding(r, "kubepods-kmem")).toMatchObject({ severity: "ok", title: "kmem accounting off on /sys/fs/cgroup/memory/kubepods" });
    expect(finding(r, "kubepods-kmem").evidence[0]).toContain("(kmem accounting off)");
    expect(finding(r, "kernel-log").severity).toBe("info");
    expect(finding(r, "kubelet-binary").severity).toBe("info");
    expect(r.summary).toBe("healthy: booted with cgroup.memory=nokmem: kmem accounting is off");
  });

  it("a boot parameter the kernel ignores does not count: kmem still on means at risk", async () => {
    const r = await examine({
      ...nokmemBootNode(),
      "sys/fs/cgroup/memory/kubepods/memory.kmem.slabinfo": "slabinfo - version: 2.1\n",
      "sys/fs/cgroup/memory/kubepods/memory.kmem.usage_in_bytes": "4096\n",
      "var/log/messages": "Mar  3 09:00:00 worker-7 systemd: Started Session 1 of user root.\n",
    });
    expect(r.verdict).toBe("at-risk");
    expect(finding(r, "kubepods-kmem").title).toContain("despite cgroup.memory=nokmem");
  });

  it("a CentOS 7 node without the boot parameter but with nokmem kubelet and runc is healthy", async () => {
    const r = await examine(centos7NokmemBinariesNode());
    expect(r.verdict).toBe("healthy");
    expect(finding(r, "kubelet-binary")).toMatchObject({ severity: "ok" });
    expect(finding(r, "runc-binary")).toMatchObject({ severity: "ok" });
  });

  it("the systemd cgroup driver's kubepods.slice is examined too", async () => {
    const files = centos7AtRiskNode();
    for (const k of Object.keys(files)) if (k.includes("/kubepods")) delete files[k];
    files["sys/fs/cgroup/memory/kubepods.slice"] = DIR;
    files["sys/fs/cgroup/memory/kubepods.slice/memory.kmem.slabinfo"] = "slabinfo - version: 2.1\n";
    files["sys/fs/cgroup/memory/kubepods.slice/memory.kmem.usage_in_bytes"] = "8192\n";
    const r = await examine(files);
    expect(finding(r, "kubepods-kmem").title).toContain("/sys/fs/cgroup/memory/kubepods.slice");
    expect(r.verdict).toBe("at-risk");
  });

  it("a kubelet linked to another place in the host is found inside the root, not outside", async () => {
    const files = centos7NokmemBinariesNode();
    files["usr/bin/kubelet"] = { kind: "symlink", target: "/opt/kubernetes/bin/kubelet" };
    files["opt/kubernetes/bin/kubelet"] = files["usr/bin/runc"]!;
    const r = await examine(files);
    expect(finding(r, "kubelet-binary").severity).toBe("ok");
  });

  it("--dmesg replaces the log files", async () => {
    const dir = await writeRoot({ "dmesg.txt": "[43073.004575] SLUB: Unable to allocate memory on node -1 (gfp=0x8020)\n" });
    roots.push(dir);
    const r = await examine(centos7AtRiskNode(), realAuditor, { dmesg: `${dir}/dmesg.txt` });
    expect(finding(r, "kernel-log")).toMatchObject({
      severity: "critical",
      evidence: expect.arrayContaining([`${dir}/dmesg.txt: 1 SLUB allocation failures, 0 failed memory cgroup mkdirs`]),
    });
    expect(r.verdict).toBe("leaking");
  });
});

describe("missing, unreadable and malformed files give unknown findings, never a crash", () => {
  it("a truncated /proc/cgroups", async () => {
    const r = await examine({
      ...centos7AtRiskNode(),
      "proc/cgroups": "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t5\t12\t1\ncpu\t2\t90\t1\nmemory\t8\t6",
    });
    expect(finding(r, "memory-cgroup-ids")).toMatchObject({ severity: "unknown", title: expect.stringContaining("line 4 is malformed or cut short") });
    expect(finding(r, "memory-cgroup-gap").severity).toBe("unknown");
    expect(r.verdict).toBe("at-risk");
  });

  it("a /proc/cgroups cut before the memory row", async () => {
    const r = await examine({ ...centos7AtRiskNode(), "proc/cgroups": "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t5\t12\t1\n" });
    expect(finding(r, "memory-cgroup-ids")).toMatchObject({ severity: "unknown", title: expect.stringContaining("no memory row") });
  });

  it("garbage in osrelease", async () => {
    const r = await examine({ ...centos7AtRiskNode(), "proc/sys/kernel/osrelease": Buffer.from([0x00, 0xff, 0x41, 0x0a, 0x42]) });
    expect(finding(r, "kernel-release")).toMatchObject({
      severity: "unknown",
      title: expect.stringMatching(/^kernel release unknown: expected e\.g\. 3\.10\.0-1160\.el7\.x86_64, found /),
    });
    expect(r.kernelRelease).toBeNull();
    expect(finding(r, "kernel-config-kmem").title).toBe("kernel config not checked: kernel release unknown");
    expect(r.verdict).toBe("unknown");
  });

  it("missing files: an empty root", async () => {
    const r = await examine({ "etc/motd": "nothing here\n" });
    expect(r.verdict).toBe("unknown");
    for (const id of [
      "kernel-release",
      "boot-nokmem",
      "memory-cgroup-ids",
      "memory-cgroup-gap",
      "kubepods-kmem",
      "slab-memory",
      "kernel-log",
      "kubelet-binary",
      "runc-binary",
    ] as const) {
      const f = finding(r, id);
      expect(f.severity, id).toBe("unknown");
      expect(f.title.length, id).toBeGreaterThan(10);
      expect(f.evidence.join(" "), id).toMatch(/not found/);
    }
    expect(finding(r, "kernel-config-kmem").severity).toBe("info");
  });

  it("an unreadable file: a FIFO where /proc/cgroups belongs is refused without blocking", async () => {
    const r = await examine({ ...centos7AtRiskNode(), "proc/cgroups": FIFO });
    expect(finding(r, "memory-cgroup-ids")).toMatchObject({ severity: "unknown", title: "memory cgroup count unknown: not a regular file (a FIFO)" });
  });

  it("an unreadable file: a directory where osrelease belongs reads as an I/O error", async () => {
    const r = await examine({ ...healthyNode(), "proc/sys/kernel/osrelease": DIR });
    expect(finding(r, "kernel-release")).toMatchObject({
      severity: "unknown",
      evidence: ["/proc/sys/kernel/osrelease: unreadable (EISDIR: a directory where a file belongs)"],
    });
    expect(r.verdict).toBe("unknown");
  });

  it("unreadable kubepods files and binaries: FIFOs everywhere", async () => {
    const r = await examine({
      ...centos7AtRiskNode(),
      "sys/fs/cgroup/memory/kubepods/memory.kmem.slabinfo": FIFO,
      "sys/fs/cgroup/memory/kubepods/memory.kmem.usage_in_bytes": FIFO,
      "proc/meminfo": FIFO,
      "var/log/messages": FIFO,
      "usr/bin/kubelet": FIFO,
      "usr/bin/runc": DIR,
    });
    expect(finding(r, "kubepods-kmem").severity).toBe("unknown");
    expect(finding(r, "slab-memory").severity).toBe("unknown");
    expect(finding(r, "kernel-log").severity).toBe("unknown");
    // /usr/bin/kubelet is not a regular file, so the search goes on and finds nothing.
    expect(finding(r, "kubelet-binary")).toMatchObject({ severity: "unknown", title: "no kubelet found (pass --kubelet PATH)" });
    expect(r.verdict).toBe("at-risk");
  });

  it("an auditor that throws gives an unknown binary finding", async () => {
    const r = await examine(centos7AtRiskNode(), async () => {
      throw new Error("truncated ELF header");
    });
    expect(finding(r, "kubelet-binary")).toMatchObject({ severity: "unknown", title: "kubelet /usr/bin/kubelet not audited: truncated ELF header" });
  });
});
