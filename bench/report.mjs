#!/usr/bin/env node
/**
 * How fast is `kubelet-nokmem report` on a big fleet? Run after `npm run build`:
 *
 *   node bench/report.mjs [--nodes N] [--runs R]
 *
 * Makes the logs `kubectl logs --prefix` would give for N nodes (default
 * 1000): per node the doctor's two-space indented JSON and the audit's, every
 * line prefixed `[pod/…/doctor]` / `[pod/…/audit]`, the shapes the real
 * commands print. Then runs `report FILE --json` and `report FILE --html OUT`
 * R times each (default 5) after a warm-up, and prints the median wall time,
 * process start included, and (where /usr/bin/time exists) the median CPU
 * time, user + system: on a shared, loaded machine the wall time measures the
 * neighbours too. Target: under a second for 1,000 nodes.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "dist", "cli.js");

function argValue(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const NODES = argValue("--nodes", 1000);
const RUNS = argValue("--runs", 5);

function finding(id, severity, title) {
  return {
    id,
    severity,
    title,
    evidence: [`/proc/cgroups: memory hierarchy=8 num_cgroups=1 enabled=1`, `/sys/fs/cgroup/memory: 40 directories`],
    remedy: severity === "ok" ? null : "drain the node, reboot it, and boot with cgroup.memory=nokmem",
  };
}

function doctor(i) {
  const leaking = i % 7 === 0;
  const counted = leaking ? 40000 + ((i * 37) % 25000) : 200 + (i % 500);
  return {
    schemaVersion: 1,
    root: "/host",
    node: `node-${String(i).padStart(4, "0")}.fleet.example`,
    kernelRelease: leaking ? "3.10.0-957.el7.x86_64" : "3.10.0-1160.el7.x86_64",
    verdict: leaking ? "leaking" : i % 3 === 0 ? "at-risk" : "healthy",
    summary: leaking ? `leaking: ${counted}/65535 memory cgroup ids in use` : "healthy: booted with cgroup.memory=nokmem",
    findings: [
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
    ].map((id) => finding(id, leaking ? "critical" : "ok", `${id}: something was found`)),
    binaries: {
      kubelet: {
        path: "/usr/bin/kubelet",
        verdict: leaking ? "unpatched" : "patched",
        kubernetesVersion: "1.17.9",
        evidence: [{ id: "enabled-string:kmem-limit-file" }],
        pin: "unpinned",
        error: null,
      },
      runc: { path: "/usr/bin/runc", verdict: leaking ? "unpatched" : "not-affected", kubernetesVersion: null, evidence: [], pin: "unpinned", error: null },
    },
    facts: {
      kernelRisk: "strong",
      memoryCgroupsCounted: counted,
      memoryCgroupsExisting: 40 + (i % 300),
      memoryCgroupIdLimit: 65535,
      slabUnreclaimableBytes: 123456789,
      kubepodsKmem: leaking ? "on" : "off",
      bootNokmem: !leaking,
    },
  };
}

function audit(i) {
  const leaking = i % 7 === 0;
  const report = (path, program) => ({
    path,
    size: 105000000,
    sha256: "0".repeat(64),
    elf: { bits: 64, endian: "little", type: "EXEC", machine: 62, arch: "amd64", executable: true },
    go: true,
    goBuildInfo: null,
    program,
    kubernetesVersion: program === "kubelet" ? { gitVersion: "v1.17.9", source: "ldflags" } : null,
    runcVersion: program === "runc" ? { version: "1.0.0-rc10" } : null,
    release: null,
    verdict: leaking ? "unpatched" : "patched",
    reasons: ["the kmem strings are present"],
    evidence: [{ id: "enabled-string:kmem-limit-file", kind: "kmem" }],
    pin: { status: "unpinned", checks: [] },
    errors: [],
  });
  return {
    schemaVersion: 1,
    node: `node-${String(i).padStart(4, "0")}.fleet.example`,
    reports: [report("/usr/bin/kubelet", "kubelet"), report("/usr/bin/runc", "runc")],
    summary: { binaries: 2 },
    failOn: [],
    failed: [],
  };
}

const prefixed = (value, prefix) =>
  JSON.stringify(value, null, 2)
    .split("\n")
    .map((l) => `[${prefix}] ${l}`)
    .join("\n");
const work = mkdtempSync(join(tmpdir(), "kubelet-nokmem-bench-report-"));
try {
  const log = join(work, "fleet.log");
  const parts = [];
  for (let i = 0; i < NODES; i++) {
    parts.push(prefixed(doctor(i), `pod/kubelet-nokmem-check-${i}/doctor`), prefixed(audit(i), `pod/kubelet-nokmem-check-${i}/audit`));
  }
  writeFileSync(log, `${parts.join("\n")}\n`);
  const size = statSync(log).size;
  const html = join(work, "fleet.html");

  const TIME = "/usr/bin/time";
  const cpu = [];
  const time = (args) => {
    const t = process.hrtime.bigint();
    const [file, argv] = existsSync(TIME) ? [TIME, ["-f", "cpu %U %S", process.execPath, CLI, ...args]] : [process.execPath, [CLI, ...args]];
    const r = spawnSync(file, argv, { encoding: "utf8", maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`report failed (${r.status}): ${r.stderr}`);
    const m = /cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
    if (m) cpu.push({ args, ms: (Number(m[1]) + Number(m[2])) * 1000 });
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const cases = { json: ["report", log, "--json"], html: ["report", log, "--html", html] };
  for (const args of Object.values(cases)) time(args); // warm-up
  const results = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let r = 0; r < RUNS; r++) for (const [k, args] of Object.entries(cases)) results[k].push(time(args));
  console.log(`${NODES} nodes, ${(size / 1e6).toFixed(1)} MB of kubectl logs output (doctor + audit per node, prefixed)`);
  for (const [k, xs] of Object.entries(results)) {
    const c = cpu
      .filter((x) => x.args === cases[k])
      .slice(1)
      .map((x) => x.ms);
    console.log(
      `  report --${k.padEnd(5)} median ${median(xs).toFixed(0)} ms wall over ${RUNS} runs (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})${c.length ? `, ${median(c).toFixed(0)} ms CPU` : ""}`,
    );
  }
  console.log(`  HTML page: ${(statSync(html).size / 1e3).toFixed(0)} kB`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
