import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NODE_VERDICTS, SEVERITIES } from "../../src/node/types.js";
import { VERDICTS as BINARY_VERDICTS } from "../../src/verdict.js";
import { npdMessage } from "../../src/commands/doctor.js";
import { cli, ensureBuilt } from "../support/built-cli.js";
import { centos7AtRiskNode, centos7LeakingNode, DIR, healthyNode, nokmemBootNode, removeRoot, writeRoot } from "./node-root.js";

const roots: Record<string, string> = {};
beforeAll(async () => {
  await ensureBuilt();
  roots.healthy = await writeRoot(healthyNode());
  roots.leaking = await writeRoot(centos7LeakingNode());
  roots.atRisk = await writeRoot(centos7AtRiskNode());
  roots.nokmem = await writeRoot(nokmemBootNode());
  roots.empty = await writeRoot({ "etc/hostname": "bare\n" });
  roots.garbage = await writeRoot({ ...centos7AtRiskNode(), "proc/sys/kernel/osrelease": "not a kernel\n", "proc/cgroups": DIR });
}, 120_000);
afterAll(async () => {
  await Promise.all(Object.values(roots).map(removeRoot));
});

describe("doctor --npd follows node-problem-detector's custom-plugin contract", () => {
  it.each([
    ["healthy", 0, /^healthy: /],
    ["nokmem", 0, /^healthy: booted with cgroup\.memory=nokmem/],
    ["atRisk", 1, /^at-risk: /],
    ["leaking", 1, /^leaking: /],
    ["empty", 2, /^unknown: /],
    ["garbage", 2, /^unknown: kernel release unknown/],
  ] as const)("%s node: exit %i, one short line on stdout, nothing else", async (name, code, message) => {
    const r = await cli(["doctor", "--root", roots[name]!, "--npd"]);
    expect(r.exitCode).toBe(code);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")).toHaveLength(1);
    expect(Buffer.byteLength(r.stdout)).toBeLessThanOrEqual(80);
    expect(r.stdout).toMatch(message);
  });

  it("a --root that does not exist is unknown, in one line", async () => {
    const r = await cli(["doctor", "--root", "/no/such/mount", "--npd"]);
    expect(r).toMatchObject({ exitCode: 2, stderr: "" });
    expect(r.stdout).toMatch(/^unknown: doctor failed: expected --root to be/);
    expect(Buffer.byteLength(r.stdout)).toBeLessThanOrEqual(80);
  });

  it("cuts the line at NPD's limit in bytes, never inside a character", async () => {
    // A --root named in Cyrillic: two bytes a character, so 80 characters would be far over 80 bytes.
    const r = await cli(["doctor", "--root", `/нет/такой/точки/монтирования/${"узел".repeat(10)}`, "--npd"]);
    expect(r.exitCode).toBe(2);
    expect(Buffer.byteLength(r.stdout)).toBeLessThanOrEqual(80);
    expect(Buffer.byteLength(r.stdout)).toBeGreaterThan(70);
    expect(r.stdout).toMatch(/^unknown: doctor failed: .*\.\.\.$/);
    expect(Buffer.from(r.stdout, "utf8").toString("utf8")).not.toContain("\uFFFD");
  });

  it("a bad flag value is still exit 2 (unknown), never 1", async () => {
    const r = await cli(["doctor", "--npd", "--no-such-flag"]);
    expect(r.exitCode).toBe(2);
  });
});

describe("doctor --json", () => {
  it("prints the documented schema", async () => {
    const r = await cli(["doctor", "--root", roots.leaking!, "--json", "--node-name", "worker-7.example"]);
    expect(r.exitCode).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(Object.keys(report)).toEqual(["schemaVersion", "root", "node", "kernelRelease", "verdict", "summary", "findings", "binaries", "facts"]);
    expect(report.facts).toEqual({
      kernelRisk: "strong",
      memoryCgroupsCounted: 60000,
      memoryCgroupsExisting: 40,
      memoryCgroupIdLimit: 65535,
      slabUnreclaimableBytes: 4_600_000 * 1024,
      kubepodsKmem: "on",
      bootNokmem: false,
    });
    expect(report).toMatchObject({
      schemaVersion: 1,
      root: roots.leaking,
      node: "worker-7.example",
      kernelRelease: "3.10.0-957.el7.x86_64",
      verdict: "leaking",
    });
    expect(NODE_VERDICTS).toContain(report.verdict);
    for (const f of report.findings) {
      expect(Object.keys(f)).toEqual(["id", "severity", "title", "evidence", "remedy"]);
      expect(SEVERITIES).toContain(f.severity);
      expect(Array.isArray(f.evidence)).toBe(true);
      expect(f.remedy === null || typeof f.remedy === "string").toBe(true);
    }
    expect(report.findings.map((f: { id: string }) => f.id)).toEqual([
      "kernel-release",
      "boot-nokmem",
      "kernel-config-kmem",
      "memory-cgroup-ids",
      "memory-cgroup-gap",
      "kubepods-kmem",
      "slab-memory",
      "kernel-log",
      "kubelet-binary",
      "runc-binary",
    ]);
    for (const b of [report.binaries.kubelet, report.binaries.runc]) {
      expect(Object.keys(b)).toEqual(["path", "verdict", "kubernetesVersion", "evidence", "pin", "error"]);
      expect(BINARY_VERDICTS).toContain(b.verdict);
    }
  });

  it("reports unknowns on a bare root and still exits 0: the verdict is in the report", async () => {
    const r = await cli(["doctor", "--root", roots.empty!, "--json"]);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: "unknown", node: "bare", kernelRelease: null });
  });

  it("a --root that does not exist is a usage error", async () => {
    const r = await cli(["doctor", "--root", "/no/such/mount", "--json"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("expected --root to be the directory");
  });

  it("--json and --npd together are a usage error", async () => {
    const r = await cli(["doctor", "--json", "--npd"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("expected at most one of --json, --npd and --metrics, found --json and --npd");
  });
});

describe("doctor, readable report", () => {
  it("shows each problem with its evidence and fix", async () => {
    const r = await cli(["doctor", "--root", roots.leaking!, "--kubelet", `${roots.leaking}/usr/bin/kubelet`]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("verdict: leaking: ");
    expect(r.stdout).toMatch(/CRITICAL +kernel counts 60000 memory cgroups, 40 exist: 59960 leaked/);
    expect(r.stdout).toContain("fix: boot with cgroup.memory=nokmem");
    expect(r.stdout).toContain(`${roots.leaking}/usr/bin/kubelet: unpatched`);
  });
});

describe("npdMessage", () => {
  it.each([
    ["ascii that fits", "healthy: kernel 5.10.0-21-amd64: not affected", 80],
    ["ascii too long", `at-risk: ${"x".repeat(120)}`, 80],
    ["two-byte characters", `leaking: ${"ü".repeat(60)}`, 80],
    ["a four-byte character across the cut", `leaking: ${"a".repeat(66)}${"🔥".repeat(5)}`, 80],
    ["a small limit", "unknown: ä ö ü ß", 12],
  ])("%s: at most the limit in UTF-8 bytes, whole characters, marked when cut", (_name, text, max) => {
    const m = npdMessage(text, max);
    expect(Buffer.byteLength(m, "utf8")).toBeLessThanOrEqual(max);
    // Round-trips through UTF-8 unchanged: no character was split.
    expect(Buffer.from(m, "utf8").toString("utf8")).toBe(m);
    if (Buffer.byteLength(text, "utf8") <= max) expect(m).toBe(text);
    else {
      expect(m.endsWith("...")).toBe(true);
      expect(text.startsWith(m.slice(0, -3))).toBe(true);
      // Nothing more would have fitted: one more character would pass the limit.
      const next = [...text.slice(m.length - 3)][0]!;
      expect(Buffer.byteLength(m, "utf8") + Buffer.byteLength(next, "utf8")).toBeGreaterThan(max);
    }
  });
});
