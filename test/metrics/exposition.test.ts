/**
 * doctor --metrics / --textfile: the Prometheus text format as promtool reads
 * it, on the output of the real CLI over generated node roots; every metric
 * documented in docs/metrics.md; label values escaped; the textfile written
 * whole, and nothing else written.
 */
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { escapeLabelValue, renderFamilies, TEXTFILE_NAME } from "../../src/metrics/exposition.js";
import { run } from "../../src/process/exec.js";
import { centos7LeakingNode, healthyNode, nokmemBootNode, removeRoot, writeRoot } from "../node/node-root.js";
import { CLI, cli, ensureBuilt, REPO } from "../support/built-cli.js";

const roots: Record<string, string> = {};
const dirs: string[] = [];

beforeAll(async () => {
  await ensureBuilt();
  roots.leaking = await writeRoot(centos7LeakingNode());
  roots.healthy = await writeRoot(healthyNode());
  roots.nokmem = await writeRoot(nokmemBootNode());
}, 120_000);
afterAll(async () => {
  await Promise.all(Object.values(roots).map(removeRoot));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Samples as `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

async function promtoolCheck(text: string): Promise<{ code: number; out: string }> {
  // The child-process helper strips stdout's final newline; the format ends every line with one.
  const r = await run({ file: "promtool", args: ["check", "metrics"] }, { reject: false, input: text.endsWith("\n") ? text : `${text}\n` });
  return { code: r.exitCode, out: `${r.stdout}${r.stderr}` };
}

describe("doctor --metrics", () => {
  it.each(["leaking", "healthy", "nokmem"])("%s root: promtool check metrics finds nothing to complain about", async (name) => {
    const r = await cli(["doctor", "--root", roots[name]!, "--metrics"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await promtoolCheck(r.stdout)).toEqual({ code: 0, out: "" });
  });

  it("a leaking CentOS 7 node: ids counted vs existing, the limit, slab in bytes, kmem on, no nokmem boot, unpatched binaries", async () => {
    const r = await cli(["doctor", "--root", roots.leaking!, "--metrics", "--node", "worker-7.example"]);
    const s = samples(r.stdout);
    expect(s.get("kubelet_nokmem_memory_cgroups_counted")).toBe(60000);
    expect(s.get("kubelet_nokmem_memory_cgroups_existing")).toBe(40);
    expect(s.get("kubelet_nokmem_memory_cgroup_id_limit")).toBe(65535);
    expect(s.get("kubelet_nokmem_slab_unreclaimable_bytes")).toBe(4_600_000 * 1024);
    expect(s.get('kubelet_nokmem_kubepods_kmem_state{state="on"}')).toBe(1);
    expect(s.get('kubelet_nokmem_kubepods_kmem_state{state="off"}')).toBe(0);
    expect(s.get("kubelet_nokmem_boot_nokmem")).toBe(0);
    expect(s.get("kubelet_nokmem_kernel_affected")).toBe(1);
    expect(s.get('kubelet_nokmem_node_state{state="leaking"}')).toBe(1);
    expect(s.get('kubelet_nokmem_node_state{state="healthy"}')).toBe(0);
    expect(s.get('kubelet_nokmem_node_info{node="worker-7.example",kernel_release="3.10.0-957.el7.x86_64",kernel_risk="strong"}')).toBe(1);
    expect(s.get('kubelet_nokmem_binary_info{program="kubelet",path="/usr/bin/kubelet",version="",verdict="unpatched",pin="unpinned"}')).toBe(1);
    expect([...s.keys()].filter((k) => k.startsWith("kubelet_nokmem_binary_info")).map((k) => /program="(\w+)"/.exec(k)![1])).toEqual(["kubelet", "runc"]);
    const ts = s.get("kubelet_nokmem_last_run_timestamp_seconds")!;
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(600);
  });

  it("a node booted with cgroup.memory=nokmem says so, and kmem is off on kubepods", async () => {
    const s = samples((await cli(["doctor", "--root", roots.nokmem!, "--metrics"])).stdout);
    expect(s.get("kubelet_nokmem_boot_nokmem")).toBe(1);
    expect(s.get('kubelet_nokmem_kubepods_kmem_state{state="off"}')).toBe(1);
    expect(s.get('kubelet_nokmem_node_state{state="healthy"}')).toBe(1);
  });

  it("the node name comes from env NODE_NAME when --node is not given", async () => {
    const r = await run(
      { file: process.execPath, args: [CLI, "doctor", "--root", roots.healthy!, "--json"], env: { NODE_NAME: "from-downward-api" } },
      { reject: false },
    );
    expect(JSON.parse(r.stdout).node).toBe("from-downward-api");
  });

  it("--metrics with --json is a usage error", async () => {
    const r = await cli(["doctor", "--root", roots.healthy!, "--metrics", "--json"]);
    expect(r.exitCode).toBe(2);
  });

  it("every metric it prints is documented in docs/metrics.md with its type", async () => {
    const doc = await readFile(join(REPO, "docs/metrics.md"), "utf8");
    const text = (await cli(["doctor", "--root", roots.leaking!, "--metrics"])).stdout;
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as const);
    expect(types.length).toBeGreaterThanOrEqual(11);
    for (const [name, type] of types) expect(doc, name).toMatch(new RegExp(`\\| \`${name}\` \\| ${type} \\|`));
    for (const line of text.split("\n").filter((l) => l.startsWith("# TYPE"))) expect(line).not.toMatch(/_total /);
  });
});

describe("label values and help are escaped per the text format", () => {
  it.each([
    ['a"b', 'a\\"b'],
    ["a\\b", "a\\\\b"],
    ["a\nb", "a\\nb"],
    ['плохой\\"\n', 'плохой\\\\\\"\\n'],
  ])("%j -> %j", (raw, escaped) => {
    expect(escapeLabelValue(raw)).toBe(escaped);
  });

  it("a hostile node name and path still give metrics promtool accepts, the values intact", async () => {
    const text = renderFamilies([
      {
        name: "kubelet_nokmem_binary_info",
        help: "a help with \\ and\nnewline",
        type: "gauge",
        samples: [{ labels: { program: "kubelet", path: '/usr/bin/ku"be\\let\n} 2', version: "" }, value: 1 }],
      },
    ]);
    expect(text.split("\n").filter(Boolean)).toHaveLength(3);
    expect(await promtoolCheck(text)).toEqual({ code: 0, out: "" });
  });
});

describe("doctor --textfile DIR", () => {
  it("writes kubelet_nokmem.prom there (0644, the same metrics as stdout) and nothing else", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kubelet-nokmem-textfile-"));
    dirs.push(dir);
    const r = await cli(["doctor", "--root", roots.leaking!, "--npd", "--textfile", dir]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout.startsWith("leaking: ")).toBe(true);
    expect(await readdir(dir)).toEqual([TEXTFILE_NAME]);
    const text = await readFile(join(dir, TEXTFILE_NAME), "utf8");
    expect(samples(text).get("kubelet_nokmem_memory_cgroups_counted")).toBe(60000);
    expect(await promtoolCheck(text)).toEqual({ code: 0, out: "" });
    const { mode } = await stat(join(dir, TEXTFILE_NAME));
    expect(mode & 0o777).toBe(0o644);
  });

  it("a folder that cannot be written is an environment error (exit 3); with --npd the plugin line stays the node's state", async () => {
    // /proc takes no new files, for root neither.
    const r = await cli(["doctor", "--root", roots.healthy!, "--textfile", "/proc"]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/E_TEXTFILE_WRITE|expected to write \/proc\/kubelet_nokmem\.prom/);
    const npd = await cli(["doctor", "--root", roots.leaking!, "--npd", "--textfile", "/proc"]);
    expect(npd.exitCode).toBe(1);
    expect(npd.stdout.startsWith("leaking: ")).toBe(true);
  });

  it("a missing folder is a usage error naming it, not a silent success", async () => {
    const r = await cli(["doctor", "--root", roots.healthy!, "--textfile", "/no/such/textfile/dir"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/\/no\/such\/textfile\/dir/);
  });
});
