/**
 * The fleet bundle (deploy/kustomize, rendered) as deployed: the tool image made by
 * `kubelet-nokmem image build --tool` (offline: Debian packages and the packed
 * package), run with `docker run` exactly as the DaemonSet's containers and the
 * NPD plugin rule say — command, args, user, groups, dropped capabilities,
 * no-new-privileges, read-only root filesystem, the host paths each mounts
 * (read-only) — over generated host roots standing in for the node's /. The verdicts must be those `node dist/cli.js` gives
 * on the same roots from the checkout.
 *
 * The debootstrapped root is cached as a tar (KUBELET_NOKMEM_ROOTFS_CACHE,
 * default ~/.cache/kubelet-nokmem/rootfs): the first build takes a minute or
 * two, later ones about ten seconds.
 */
import { chmod, chown, mkdtemp, readFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOCKER } from "../../src/pipeline/docker.js";
import { toolTag } from "../../src/pipeline/tool-image.js";
import { run } from "../../src/process/exec.js";
import { centos7AtRiskNode, centos7LeakingNode, centos7NokmemBinariesNode, healthyNode, NOKMEM_BINARY, nokmemBootNode, removeRoot, writeRoot, type NodeFiles } from "../node/node-root.js";
import { cli, ensureBuilt, REPO } from "../support/built-cli.js";
import { CHECK_DAEMONSET, containersOf, NPD_DAEMONSET, podOf, podRunArgs, type PodSpec } from "./manifests.js";

const version = (JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { version: string }).version;
const npd = JSON.parse(await readFile(join(REPO, "deploy/kustomize/base/npd-plugin.json"), "utf8")) as {
  pluginConfig: { max_output_length: number };
  rules: { path: string; args: string[] }[];
};
const ds = podOf(CHECK_DAEMONSET);
const npdPod = podOf(NPD_DAEMONSET);
const container = (pod: PodSpec, name: string) => containersOf(pod).find((c) => c.name === name)!;
const NODE_NAME = "worker-under-test";

/** An Ubuntu-style node: the leak's lines in /var/log/kern.log, owned syslog:<gid>, mode 0640; no /var/log/messages. */
function ubuntuLeakingNode(): NodeFiles {
  const n = centos7LeakingNode();
  return { ...n, "var/log/kern.log": n["var/log/messages"]!, "var/log/messages": null };
}
/** A node whose /usr/bin/kubelet is an absolute link into /opt, as some installers make it. */
function linkedKubeletNode(): NodeFiles {
  return { ...centos7NokmemBinariesNode(), "usr/bin/kubelet": { kind: "symlink", target: "/opt/kube/bin/kubelet" }, "opt/kube/bin/kubelet": NOKMEM_BINARY };
}
const SYSLOG_UID = 104;
const ADM_GID = 4;

const roots: Record<string, string> = {};
let textfileDir = "";
let image = "";
let replaced = "";
let seq = 0;
const names: string[] = [];

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function dockerRun(pod: PodSpec, name: string, root: string, exec?: { path: string; args: string[] }): Promise<Ran> {
  const cname = `kubelet-nokmem-fleet-test-${process.pid}-${++seq}`;
  names.push(cname);
  const args = podRunArgs(pod, container(pod, name), { nodeRoot: root, writable: { textfile: textfileDir }, env: { NODE_NAME }, exec, name: cname });
  const r = await run({ file: DOCKER, args }, { reject: false, timeoutMs: 120_000 });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  await ensureBuilt();
  const cache = process.env.KUBELET_NOKMEM_ROOTFS_CACHE ?? join(homedir(), ".cache", "kubelet-nokmem", "rootfs");
  // A rebuild moves the tag: the image it leaves behind is removed after (only that one).
  const before = await run({ file: DOCKER, args: ["image", "inspect", "--format", "{{.Id}}", toolTag(version)] }, { reject: false });
  // The product's own command makes the image, with the tag it chooses.
  const built = await cli(["image", "build", "--tool", "--rootfs-cache", cache, "--json"]);
  if (built.exitCode !== 0) throw new Error(`image build --tool failed (${built.exitCode}): ${built.stderr}`);
  const made = JSON.parse(built.stdout) as { image: string; id: string };
  image = made.image;
  if (before.exitCode === 0 && before.stdout.trim() !== made.id) replaced = before.stdout.trim();

  textfileDir = await mkdtemp(join(tmpdir(), "kubelet-nokmem-textfile-"));
  for (const [name, files] of Object.entries({ healthy: healthyNode(), atRisk: centos7AtRiskNode(), leaking: centos7LeakingNode(), nokmemBoot: nokmemBootNode(), ubuntuAdm: ubuntuLeakingNode(), ubuntuOtherGroup: ubuntuLeakingNode(), linked: linkedKubeletNode() })) {
    roots[name] = await writeRoot(files);
  }
  for (const [name, gid] of [["ubuntuAdm", ADM_GID], ["ubuntuOtherGroup", 5]] as const) {
    const log = join(roots[name]!, "var/log/kern.log");
    await chown(log, SYSLOG_UID, gid);
    await chmod(log, 0o640);
  }
}, 15 * 60_000);

afterAll(async () => {
  for (const n of names) await run({ file: DOCKER, args: ["rm", "-f", n] }, { reject: false });
  if (replaced) await run({ file: DOCKER, args: ["image", "rm", replaced] }, { reject: false });
  await Promise.all([...Object.values(roots), textfileDir].filter(Boolean).map(removeRoot));
});

describe("image build --tool", () => {
  it("tags the image with the name both fleet manifests use, derived from package.json", async () => {
    expect(image).toBe(toolTag(version));
    for (const pod of [ds, npdPod]) expect(containersOf(pod).map((c) => c.image)).toContain(image);
    const inspect = JSON.parse((await run({ file: DOCKER, args: ["image", "inspect", image] })).stdout)[0];
    expect(inspect.Config.Entrypoint).toEqual(["/usr/local/bin/kubelet-nokmem"]);
    expect(inspect.Config.Labels["io.github.kubelet-nokmem.version"]).toBe(version);
    expect(inspect.Config.Labels["io.github.kubelet-nokmem.node-version"]).toMatch(/^20\./);
  });

  it("its entry point is the bin: docker run IMAGE --version prints the package version", async () => {
    const r = await run({ file: DOCKER, args: ["run", "--rm", "--network", "none", image, "--version"] }, { reject: false });
    expect({ code: r.exitCode, stdout: r.stdout }).toEqual({ code: 0, stdout: version });
  });
});

describe("the DaemonSet's doctor container, run as deployed", () => {
  it.each([
    ["healthy", "healthy"],
    ["atRisk", "at-risk"],
    ["leaking", "leaking"],
    ["nokmemBoot", "healthy"],
  ])("%s root: logs one JSON report with verdict %s, the same findings as from the checkout", async (name, verdict) => {
    const r = await dockerRun(ds, "doctor", roots[name]!);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ root: "/host", node: NODE_NAME, verdict });
    const local = JSON.parse((await cli(["doctor", "--root", roots[name]!, "--json"])).stdout);
    const shape = (x: { findings: { id: string; severity: string }[] }) => x.findings.map((f) => [f.id, f.severity]);
    expect(shape(report)).toEqual(shape(local));
  });

  it("reads a syslog:adm 0640 kern.log through the pod's group adm, without any capability", async () => {
    const r = await dockerRun(ds, "doctor", roots.ubuntuAdm!);
    const log = JSON.parse(r.stdout).findings.find((f: { id: string }) => f.id === "kernel-log");
    expect(log.severity).toBe("critical");
    expect(log.evidence[0]).toMatch(/^\/var\/log\/kern\.log: 2 SLUB allocation failures/);
  });

  it("a kernel log of another group is reported unknown, with the reason, never as clean", async () => {
    const r = await dockerRun(ds, "doctor", roots.ubuntuOtherGroup!);
    const report = JSON.parse(r.stdout);
    const log = report.findings.find((f: { id: string }) => f.id === "kernel-log");
    expect(log.severity).toBe("unknown");
    expect(log.title).toMatch(/kernel log not readable: \/var\/log\/kern\.log: permission denied \(run with the log's group/);
    // The leak still shows in the cgroup ids.
    expect(report.verdict).toBe("leaking");
  });
});

describe("the DaemonSet's audit container, run as deployed", () => {
  it.each([
    ["healthy", "usr/bin/kubelet"],
    ["leaking", "usr/bin/kubelet"],
    ["nokmemBoot", "usr/bin/kubelet"],
    ["linked", "opt/kube/bin/kubelet"],
  ])("%s root: the host's kubelet (the file: %s) and runc audited by their node paths, paths the node lacks skipped quietly", async (name, file) => {
    const r = await dockerRun(ds, "audit", roots[name]!);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.node).toBe(NODE_NAME);
    expect(json.reports.map((x: { path: string }) => x.path)).toEqual(["/usr/bin/kubelet", "/usr/bin/runc"]);
    expect(json.summary.errors).toBe(0);
    const local = JSON.parse((await cli(["audit", "--json", join(roots[name]!, file)])).stdout);
    expect(json.reports[0].verdict).toBe(local.reports[0].verdict);
    expect(json.reports[0].sha256).toBe(local.reports[0].sha256);
  });
});

describe("the NPD plugin rule, run in the NPD container as deployed", () => {
  const rule = npd.rules[0]!;
  const messages: Record<string, string> = {};
  it.each([
    ["healthy", 0, "healthy"],
    ["nokmemBoot", 0, "healthy"],
    ["atRisk", 1, "at-risk"],
    ["leaking", 1, "leaking"],
  ])("%s root: exit %i, one line within max_output_length bytes, starting with %s", async (name, code, verdict) => {
    const r = await dockerRun(npdPod, "node-problem-detector", roots[name]!, { path: rule.path, args: rule.args });
    expect(r.code, r.stderr).toBe(code);
    expect(r.stdout.split("\n")).toHaveLength(1);
    expect(Buffer.byteLength(r.stdout)).toBeLessThanOrEqual(npd.pluginConfig.max_output_length);
    expect(r.stdout.startsWith(`${verdict}: `)).toBe(true);
    messages[name] = r.stdout;
  });

  it("at-risk and leaking give different messages, so the condition follows the node into the leak", () => {
    expect(messages.atRisk).toBeDefined();
    expect(messages.leaking).toBeDefined();
    expect(messages.atRisk).not.toBe(messages.leaking);
  });
});

/** Tries to write through each path (a new file in a folder, the file itself otherwise); prints path → error code or "written". */
const WRITE_PROBE = `
const fs = require("node:fs");
const out = {};
for (const p of process.argv.slice(1)) {
  try {
    if (fs.statSync(p).isDirectory()) fs.writeFileSync(p + "/.kubelet-nokmem-write-probe", "x");
    else fs.writeFileSync(p, "x", { flag: "r+" });
    out[p] = "written";
  } catch (e) {
    out[p] = e.code;
  }
}
console.log(JSON.stringify(out));
`;

describe("a write through any read-only host mount fails, in every container, as deployed", () => {
  const pods = [
    ["check", ds],
    ["npd", npdPod],
  ] as const;
  const cases = pods.flatMap(([podName, pod]) => containersOf(pod).filter((c) => (c.volumeMounts ?? []).some((m) => pod.volumes?.find((v) => v.name === m.name)?.hostPath)).map((c) => [podName, c.name, pod] as const));

  it.each(cases)("%s pod, container %s: EROFS or EACCES under every read-only host mount; only the textfile folder takes a file", async (_pod, name, pod) => {
    const c = container(pod, name);
    const hostMounts = (c.volumeMounts ?? []).filter((m) => pod.volumes?.find((v) => v.name === m.name)?.hostPath);
    const paths = hostMounts.map((m) => m.mountPath);
    const r = await dockerRun(pod, name, roots.leaking!, { path: "node", args: ["-e", WRITE_PROBE, ...paths] });
    expect(r.code, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as Record<string, string>;
    expect(Object.keys(got).sort()).toEqual([...paths].sort());
    for (const m of hostMounts) {
      if (m.readOnly) expect(["EROFS", "EACCES"], `${m.mountPath} (${m.name})`).toContain(got[m.mountPath]);
      else expect(got[m.mountPath], m.mountPath).toBe("written");
    }
    // The run used exactly the rendered mounts: each read-only hostPath as :ro, nothing else of the node.
    const args = podRunArgs(pod, c, { nodeRoot: roots.leaking!, writable: { textfile: textfileDir }, env: { NODE_NAME }, name: "probe" });
    const volumes = args.filter((_, i) => args[i - 1] === "--volume");
    expect(volumes).toHaveLength(hostMounts.length);
    expect(args).toEqual(expect.arrayContaining(["--network", "none", "--read-only", "--cap-drop", "ALL"]));
  });
});

describe("the NPD rule writes the metrics into the textfile folder", () => {
  it("kubelet_nokmem.prom appears in the host folder with the leaking node's counts", async () => {
    const rule = npd.rules[0]!;
    const r = await dockerRun(npdPod, "node-problem-detector", roots.leaking!, { path: rule.path, args: rule.args });
    expect(r.code, r.stderr).toBe(1);
    const text = await readFile(join(textfileDir, "kubelet_nokmem.prom"), "utf8");
    expect(text).toMatch(/^kubelet_nokmem_memory_cgroups_counted 60000$/m);
    expect(text).toMatch(new RegExp(`^kubelet_nokmem_node_info\\{node="${NODE_NAME}",`, "m"));
  });
});
