/**
 * `report`: the fleet summary from what the DaemonSet printed on every node,
 * as `kubectl logs` (with and without --prefix) hands it over: the real
 * CLI's doctor and audit output over generated node roots, plus hostile
 * and broken input, which is counted, never fatal, and escaped.
 */
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { summariseFleet, type FleetReport } from "../../src/report/fleet.js";
import { parseLogs } from "../../src/report/parse.js";
import { escapeHtml, renderHtml, renderMarkdown } from "../../src/report/render.js";
import { run } from "../../src/process/exec.js";
import { centos7AtRiskNode, centos7LeakingNode, healthyNode, removeRoot, writeRoot } from "../node/node-root.js";
import { CLI, cli, ensureBuilt } from "../support/built-cli.js";

const work: string[] = [];
let logs = "";
let dir = "";

/** What `kubectl logs --prefix` prints for one node's check pod: the doctor's JSON, then the audit's, each line prefixed. */
async function podLog(node: string, root: string, pod: string): Promise<string> {
  const env = { NODE_NAME: node };
  const doctor = await run({ file: process.execPath, args: [CLI, "doctor", "--root", root, "--json"], env }, { reject: false });
  const audit = await run(
    { file: process.execPath, args: [CLI, "audit", "--json", "--root", root, "--skip-missing", "--fail-on", "none", "/usr/bin", "/usr/bin/runc"], env },
    { reject: false },
  );
  const prefixed = (text: string, c: string) =>
    text
      .split("\n")
      .map((l) => `[pod/${pod}/${c}] ${l}`)
      .join("\n");
  return `${prefixed(doctor.stdout, "doctor")}\n${prefixed(audit.stdout, "audit")}\n`;
}

beforeAll(async () => {
  await ensureBuilt();
  const roots = { leaking: await writeRoot(centos7LeakingNode()), atRisk: await writeRoot(centos7AtRiskNode()), healthy: await writeRoot(healthyNode()) };
  work.push(...Object.values(roots));
  dir = await mkdtemp(join(tmpdir(), "kubelet-nokmem-report-"));
  work.push(dir);
  logs = [
    await podLog("worker-7", roots.leaking, "kubelet-nokmem-check-aaaaa"),
    await podLog("worker-3", roots.atRisk, "kubelet-nokmem-check-bbbbb"),
    await podLog("worker-1", roots.healthy, "kubelet-nokmem-check-ccccc"),
    "[pod/kubelet-nokmem-check-ddddd/doctor] Error: container is waiting to start\n",
    "not json at all\n",
  ].join("");
  await writeFile(join(dir, "fleet.log"), logs);
}, 120_000);
afterAll(async () => {
  await Promise.all(work.map(removeRoot));
});

describe("report over real doctor and audit output", () => {
  let json: FleetReport;
  beforeAll(async () => {
    const r = await cli(["report", join(dir, "fleet.log"), "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    json = JSON.parse(r.stdout) as FleetReport;
  });

  it("counts the nodes by state and the binaries by verdict, joined by node name", () => {
    expect(json.counts.nodes).toBe(3);
    expect(json.counts.states).toMatchObject({ leaking: 1, "at-risk": 1, healthy: 1, "no-doctor": 0 });
    expect(json.counts.verdicts.kubelet).toMatchObject({ unpatched: 3 });
    expect(json.input).toMatchObject({ doctorReports: 3, auditResults: 3, malformedCount: 2 });
  });

  it("sorts by risk: leaking first, then at-risk, healthy last; the nearest to the limit first", () => {
    expect(json.nodes.map((n) => [n.node, n.state])).toEqual([
      ["worker-7", "leaking"],
      ["worker-3", "at-risk"],
      ["worker-1", "healthy"],
    ]);
    expect(json.nearestLimit[0]).toEqual({ node: "worker-7", idsCounted: 60000, idLimit: 65535, idRatio: 60000 / 65535 });
  });

  it("lists unpatched binaries by node, runc included", () => {
    expect(json.unpatched.filter((u) => u.node === "worker-7").map((u) => [u.program, u.path])).toEqual([
      ["kubelet", "/usr/bin/kubelet"],
      ["runc", "/usr/bin/runc"],
    ]);
  });

  it("a folder of log files gives the same summary, and --html writes one page", async () => {
    const folder = join(dir, "per-node");
    await mkdir(folder);
    const parts = logs.split(/(?=\[pod\/kubelet-nokmem-check-\w+\/doctor\] \{)/);
    await Promise.all(parts.map((p, i) => writeFile(join(folder, `node-${i}.log`), p)));
    const html = join(dir, "fleet.html");
    const r = await cli(["report", folder, "--json", "--html", html]);
    expect((JSON.parse(r.stdout) as FleetReport).counts).toEqual(json.counts);
    const page = await readFile(html, "utf8");
    expect(page).toMatch(/<svg[^>]*id="id-chart"/);
    expect(page.match(/<tr class="node /g)).toHaveLength(3);
  });

  it("text and Markdown name the leaking node and its unpatched kubelet", async () => {
    const text = (await cli(["report", join(dir, "fleet.log")])).stdout;
    expect(text).toMatch(/^3 nodes: 1 at-risk, 1 leaking, 1 healthy|^3 nodes: 1 healthy, 1 at-risk, 1 leaking/m);
    expect(text).toMatch(/worker-7\s+kubelet \/usr\/bin\/kubelet/);
    const md = (await cli(["report", join(dir, "fleet.log"), "--markdown"])).stdout;
    expect(md).toMatch(/\| worker-7 \| kubelet \| \/usr\/bin\/kubelet \|/);
  });

  it("a missing input is a usage error", async () => {
    const r = await cli(["report", join(dir, "no-such.log")]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/no-such\.log/);
  });
});

describe("parsing kubectl logs output", () => {
  const doc = (node: string, verdict = "healthy") =>
    JSON.stringify(
      {
        schemaVersion: 1,
        node,
        verdict,
        summary: `${verdict}: x`,
        findings: [],
        binaries: {},
        facts: { memoryCgroupsCounted: 100, memoryCgroupIdLimit: 65535 },
      },
      null,
      2,
    );

  it("interleaved prefixed documents of two pods are kept apart", () => {
    const a = doc("a")
      .split("\n")
      .map((l) => `[pod/p1/doctor] ${l}`);
    const b = doc("b", "leaking")
      .split("\n")
      .map((l) => `[pod/p2/doctor] ${l}`);
    const mixed = a.flatMap((l, i) => [l, b[i]!]).join("\n");
    const parsed = parseLogs(mixed, "mixed.log");
    expect(parsed.malformedCount).toBe(0);
    expect(parsed.documents.map((d) => (d.value as { node: string }).node)).toEqual(["a", "b"]);
  });

  it.each([
    ["a line longer than the bound", `${"{".padEnd(1024 * 1024 + 10, "x")}\n${doc("ok")}`, /line longer than/],
    ["a document cut short", `${doc("ok")}\n{\n  "node": "half"`, /cut short/],
    ["invalid JSON that ends like a document", `{\n  "node": x\n}\n${doc("ok")}`, /invalid JSON/],
    ["a stray line", `hello\n${doc("ok")}`, /not part of a JSON document/],
  ])("%s is counted and named, and the rest is read", (_name, text, reason) => {
    const parsed = parseLogs(text, "in.log");
    expect(parsed.malformedCount).toBe(1);
    expect(parsed.malformed[0]!.reason).toMatch(reason);
    expect(parsed.documents.map((d) => (d.value as { node: string }).node)).toEqual(["ok"]);
  });

  it("a JSON document of another shape is counted as malformed, a document without a node is named by its pod", () => {
    const text = `[pod/x/doctor] {"hello": 1}\n[pod/kubelet-nokmem-check-zz/doctor] ${JSON.stringify({ verdict: "leaking", findings: [], binaries: {} })}\n`;
    const r = summariseFleet(parseLogs(text, "in.log"));
    expect(r.input.malformedCount).toBe(1);
    expect(r.nodes.map((n) => n.node)).toEqual(["(unnamed: pod/kubelet-nokmem-check-zz/doctor)"]);
  });
});

describe("hostile values are escaped", () => {
  const evil = `<script>alert(1)</script><img src="http://example.invalid/x.png">"'&`;
  const text = `${JSON.stringify({ schemaVersion: 1, node: evil, verdict: "leaking", summary: evil, kernelRelease: evil, findings: [], binaries: { kubelet: { path: `/usr/bin/${evil}`, verdict: "unpatched", kubernetesVersion: evil } }, facts: { memoryCgroupsCounted: 64000, memoryCgroupIdLimit: 65535 } })}\n`;
  const report = summariseFleet(parseLogs(text, "in.log"));

  it("in the HTML page: no tag, attribute or URL from the input survives; the page loads nothing", () => {
    const page = renderHtml(report, new Date(0));
    expect(page).not.toContain("<script");
    expect(page).not.toContain("<img");
    expect(page).not.toMatch(/(src|href)="/);
    expect(page).toContain(escapeHtml(evil));
    expect(page).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`);
  });

  it("in Markdown: no raw HTML, no table-breaking pipe or line break", () => {
    const bad = summariseFleet(
      parseLogs(`${JSON.stringify({ node: "a|b\nc<x>", verdict: "leaking", findings: [], binaries: {}, facts: { memoryCgroupsCounted: 9 } })}\n`, "in.log"),
    );
    const md = renderMarkdown(bad);
    expect(md).not.toContain("<x>");
    expect(md).toContain("a\\|b c&lt;x&gt;");
  });

  it.each([
    ["&", "&amp;"],
    ["<", "&lt;"],
    [">", "&gt;"],
    ['"', "&quot;"],
    ["'", "&#39;"],
  ])("escapeHtml(%j) is %j", (raw, escaped) => {
    expect(escapeHtml(raw)).toBe(escaped);
  });
});
