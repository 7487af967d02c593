/**
 * The metrics as a fleet sees them: Debian's prometheus-node-exporter with
 * only the textfile collector, the doctor writing kubelet_nokmem.prom into
 * its folder from a leaking CentOS 7 root, and a real Prometheus scraping it
 * every second with the bundle's rules (their `for:` shortened to a second in
 * a test copy). Both listen on 127.0.0.1 only and are stopped by pid.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { centos7LeakingNode, removeRoot, writeRoot } from "../node/node-root.js";
import { cli, ensureBuilt, REPO } from "../support/built-cli.js";

/** How long the servers get to come up and agree; a bound on waiting, not a timing under test. */
const WAIT_MS = 90_000;

const children: ChildProcess[] = [];
let work = "";
let root = "";
let promUrl = "";
let exporterUrl = "";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The end of each server's stderr, for the message when a wait gives up. */
const tails: Record<string, string> = {};

function start(file: string, args: string[], name: string): ChildProcess {
  const child = spawn(file, args, { stdio: ["ignore", "ignore", "pipe"] });
  tails[name] = "";
  child.stderr.on("data", (d: Buffer) => (tails[name] = (tails[name] + d.toString()).slice(-2000)));
  children.push(child);
  return child;
}

/** Poll until `probe` returns a value, or fail after WAIT_MS with the last thing seen. */
async function waitFor<T>(what: string, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== null) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `gave up waiting for ${what}: ${String(last)}\n${Object.entries(tails)
      .map(([n, t]) => `--- ${n}:\n${t}`)
      .join("\n")}`,
  );
}

interface PromResult {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(q: string): Promise<PromResult[]> {
  const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await r.json()) as { status: string; data: { result: PromResult[] } };
  if (body.status !== "success") throw new Error(JSON.stringify(body));
  return body.data.result;
}

beforeAll(async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), "kubelet-nokmem-prometheus-"));
  root = await writeRoot(centos7LeakingNode());
  const textfile = join(work, "textfile");
  await mkdir(textfile);

  const wrote = await cli(["doctor", "--root", root, "--node", "worker-7", "--textfile", textfile]);
  expect(wrote.exitCode, wrote.stderr).toBe(0);

  const exporterPort = await freePort();
  exporterUrl = `http://127.0.0.1:${exporterPort}`;
  start(
    "prometheus-node-exporter",
    ["--web.listen-address", `127.0.0.1:${exporterPort}`, "--collector.disable-defaults", "--collector.textfile", "--collector.textfile.directory", textfile],
    "node-exporter",
  );

  // The bundle's rules with every `for:` cut to a second, so the test does not wait 15 minutes.
  const rules = (await readFile(join(REPO, "deploy/prometheus/kubelet-nokmem.rules.yaml"), "utf8")).replace(/^(\s+for:) \S+$/gm, "$1 1s");
  await writeFile(join(work, "rules.yaml"), rules);
  const config = {
    global: { scrape_interval: "1s", evaluation_interval: "1s" },
    rule_files: [join(work, "rules.yaml")],
    scrape_configs: [{ job_name: "node-exporter", static_configs: [{ targets: [`127.0.0.1:${exporterPort}`] }] }],
  };
  await writeFile(join(work, "prometheus.yml"), stringify(config));
  const promPort = await freePort();
  promUrl = `http://127.0.0.1:${promPort}`;
  start(
    "prometheus",
    ["--config.file", join(work, "prometheus.yml"), "--storage.tsdb.path", join(work, "data"), "--web.listen-address", `127.0.0.1:${promPort}`],
    "prometheus",
  );
}, WAIT_MS);

afterAll(async () => {
  for (const c of children) if (c.pid && c.exitCode === null) process.kill(c.pid, "SIGTERM");
  await Promise.all(children.filter((c) => c.exitCode === null).map((c) => new Promise((r) => c.once("exit", r))));
  if (root) await removeRoot(root);
  if (work) await rm(work, { recursive: true, force: true });
}, 30_000);

describe("node-exporter's textfile collector and Prometheus over a leaking node's metrics", () => {
  it("node-exporter serves the doctor's metrics, and reads the file without errors", async () => {
    const text = await waitFor("node-exporter", async () => {
      const r = await fetch(`${exporterUrl}/metrics`);
      return r.ok ? await r.text() : null;
    });
    expect(text).toMatch(/^kubelet_nokmem_memory_cgroups_counted 60000$/m);
    expect(text).toMatch(/^node_textfile_scrape_error 0$/m);
  });

  it("the counted ids are queryable over Prometheus' HTTP API, with the node's name joined from node_info", async () => {
    const result = await waitFor("the metric in Prometheus", async () => {
      const r = await query("kubelet_nokmem_memory_cgroups_counted * on(instance, job) group_left(node) kubelet_nokmem_node_info");
      return r.length ? r : null;
    });
    expect(result).toHaveLength(1);
    expect(result[0]!.metric).toMatchObject({ node: "worker-7", job: "node-exporter" });
    expect(Number(result[0]!.value[1])).toBe(60000);
  });

  it("KubeletNokmemCgroupIdsNearLimit and KubeletNokmemUnpatchedBinary fire; the check is not reported stale or absent", async () => {
    const firing = await waitFor("the id-usage alert to fire", async () => {
      const r = await query('ALERTS{alertstate="firing"}');
      const names = r.map((x) => x.metric.alertname);
      return names.includes("KubeletNokmemCgroupIdsNearLimit") && names.includes("KubeletNokmemUnpatchedBinary") ? r : null;
    });
    const near = firing.find((x) => x.metric.alertname === "KubeletNokmemCgroupIdsNearLimit")!;
    expect(near.metric).toMatchObject({ node: "worker-7", severity: "warning" });
    const names = firing.map((x) => x.metric.alertname);
    expect(names).not.toContain("KubeletNokmemCheckStale");
    expect(names).not.toContain("KubeletNokmemCheckAbsent");
    expect(
      firing
        .filter((x) => x.metric.alertname === "KubeletNokmemUnpatchedBinary")
        .map((x) => x.metric.program)
        .sort(),
    ).toEqual(["kubelet", "runc"]);
  });
});
