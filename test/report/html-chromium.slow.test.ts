/**
 * The HTML fleet report in a real browser: Debian's chromium, headless, in a
 * network namespace of its own (no network at all), opening the page from a
 * file URL. The DOM it builds has a row per node and the chart's bars; the
 * screenshot shows the chart's bar colours and the table header.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/process/exec.js";
import { cli, ensureBuilt } from "../support/built-cli.js";

const CHROMIUM = "chromium";
let work = "";
let page = "";
const NODES = 12;

/** A doctor report as the DaemonSet logs it, for node i: every third leaking near the limit, the rest healthy. */
function doctorLine(i: number): string {
  const leaking = i % 3 === 0;
  return JSON.stringify({
    schemaVersion: 1,
    root: "/host",
    node: `worker-${String(i).padStart(2, "0")}`,
    kernelRelease: leaking ? "3.10.0-957.el7.x86_64" : "5.10.0-21-amd64",
    verdict: leaking ? "leaking" : "healthy",
    summary: leaking ? "leaking: ids" : "healthy: fine",
    findings: [],
    binaries: {
      kubelet: {
        path: "/usr/bin/kubelet",
        verdict: leaking ? "unpatched" : "patched",
        kubernetesVersion: "1.17.9",
        evidence: [],
        pin: "unpinned",
        error: null,
      },
      runc: { path: null, verdict: null, kubernetesVersion: null, evidence: [], pin: null, error: null },
    },
    facts: {
      kernelRisk: leaking ? "strong" : "none",
      memoryCgroupsCounted: leaking ? 50000 + i * 1000 : 300 + i,
      memoryCgroupsExisting: 40,
      memoryCgroupIdLimit: 65535,
      slabUnreclaimableBytes: 1,
      kubepodsKmem: "on",
      bootNokmem: false,
    },
  });
}

const chromiumArgs = (userData: string) => [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--hide-scrollbars",
  `--user-data-dir=${userData}`,
];

/** chromium with no network: its own empty network namespace (unshare -n). */
async function chromium(args: string[]) {
  return run({ file: "unshare", args: ["--net", CHROMIUM, ...args] }, { reject: false, timeoutMs: 120_000 });
}

/** RGBA pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what chromium writes). */
function decodePng(png: Buffer): { width: number; height: number; rgba: Buffer } {
  expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (pos < png.length) {
    const len = png.readUInt32BE(pos);
    const type = png.toString("latin1", pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + len);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8]).toBe(8);
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      expect(channels, `PNG colour type ${data[9]}`).toBeGreaterThan(0);
      expect(data[12]).toBe(0);
    } else if (type === "IDAT") idat.push(data);
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(width * height * 4);
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? line[x - channels]! : 0;
      const b = prev[x]!;
      const c = x >= channels ? prev[x - channels]! : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const add = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter]!;
      line[x] = (line[x]! + add) & 0xff;
    }
    for (let x = 0; x < width; x++) {
      line.copy(out, (y * width + x) * 4, x * channels, x * channels + 3);
      out[(y * width + x) * 4 + 3] = channels === 4 ? line[x * channels + 3]! : 255;
    }
    prev = line;
  }
  return { width, height, rgba: out };
}

function countColour(img: { rgba: Buffer }, hex: string): number {
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(hex.slice(1 + i, 3 + i), 16));
  let n = 0;
  for (let i = 0; i < img.rgba.length; i += 4) if (img.rgba[i] === r && img.rgba[i + 1] === g && img.rgba[i + 2] === b) n++;
  return n;
}

beforeAll(async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), "kubelet-nokmem-html-"));
  const log = Array.from({ length: NODES }, (_, i) => `[pod/kubelet-nokmem-check-${i}/doctor] ${doctorLine(i)}`).join("\n");
  await writeFile(join(work, "fleet.log"), `${log}\n`);
  page = join(work, "fleet.html");
  const r = await cli(["report", join(work, "fleet.log"), "--html", page]);
  expect(r.exitCode, r.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("the HTML report in headless chromium, offline, from a file URL", () => {
  it("the DOM has one table row per node, leaking first, and one bar per node in the SVG chart", async () => {
    const r = await chromium([...chromiumArgs(join(work, "profile-dom")), "--dump-dom", `file://${page}`]);
    expect(r.exitCode, r.stderr.slice(-2000)).toBe(0);
    const dom = r.stdout;
    const rows = [...dom.matchAll(/<tr class="node s-([\w-]+)"><td>([^<]+)<\/td>/g)].map((m) => [m[2], m[1]]);
    expect(rows).toHaveLength(NODES);
    expect(rows.slice(0, 4).every(([, s]) => s === "leaking")).toBe(true);
    expect(rows[0]![0]).toBe("worker-09");
    expect(dom).toMatch(/<svg[^>]*id="id-chart"/);
    expect(dom.match(/<g class="bar"/g)).toHaveLength(NODES);
  });

  it("the screenshot shows the chart's bars in the states' colours and the table", async () => {
    const shot = join(work, "fleet.png");
    const r = await chromium([...chromiumArgs(join(work, "profile-shot")), "--window-size=1280,1400", `--screenshot=${shot}`, `file://${page}`]);
    expect(r.exitCode, r.stderr.slice(-2000)).toBe(0);
    const img = decodePng(await readFile(shot));
    expect(img.width).toBe(1280);
    // Leaking bars (#c62828), healthy bars (#2e7d32), the bars' track (#eeeeee), the table header (#f5f5f5).
    expect(countColour(img, "#c62828")).toBeGreaterThan(4 * 100);
    expect(countColour(img, "#2e7d32")).toBeGreaterThan(8 * 4);
    expect(countColour(img, "#eeeeee")).toBeGreaterThan(1000);
    expect(countColour(img, "#f5f5f5")).toBeGreaterThan(1000);
  });
});
