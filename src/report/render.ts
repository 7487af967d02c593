/**
 * The fleet report for people: plain text, Markdown for a ticket, and one
 * self-contained HTML page (inline CSS, an inline SVG chart, no script, no
 * external resource, a Content-Security-Policy that forbids loading any) that
 * opens offline. Every value from the input is escaped for where it goes.
 */
import type { FleetNode, FleetReport } from "./fleet.js";

/** Bars in the chart: the nodes nearest the limit (the table lists every node). */
const CHART_NODES = 60;

const pct = (r: number | null) => (r === null ? "-" : `${(r * 100).toFixed(1)}%`);
const ids = (n: FleetNode) => (n.idsCounted === null ? "-" : `${n.idsCounted}/${n.idLimit}`);
const unpatchedOf = (n: FleetNode) => n.binaries.filter((b) => b.verdict === "unpatched");

function countsLine(r: FleetReport): string {
  const states =
    Object.entries(r.counts.states)
      .filter(([, n]) => n)
      .map(([k, n]) => `${n} ${k}`)
      .join(", ") || "none";
  return `${r.counts.nodes} node${r.counts.nodes === 1 ? "" : "s"}: ${states}`;
}

function verdictLines(r: FleetReport): string[] {
  return Object.entries(r.counts.verdicts).map(
    ([program, v]) =>
      `${program}: ${Object.entries(v)
        .filter(([, n]) => n)
        .map(([k, n]) => `${n} ${k}`)
        .join(", ")}`,
  );
}

/** Not a contract: use --json for machines. */
export function renderText(r: FleetReport): string {
  const lines = [countsLine(r), ...verdictLines(r).map((l) => `  ${l}`), ""];
  if (r.nearestLimit.length) {
    lines.push("nearest the memory-cgroup id limit:");
    for (const n of r.nearestLimit) lines.push(`  ${pct(n.idRatio).padStart(6)}  ${n.idsCounted}/${n.idLimit}  ${n.node}`);
    lines.push("");
  }
  if (r.unpatched.length) {
    lines.push("unpatched binaries:");
    for (const u of r.unpatched) lines.push(`  ${u.node}  ${u.program} ${u.path}${u.version ? ` (${u.version})` : ""}`);
    lines.push("");
  }
  lines.push("nodes by risk:");
  const width = Math.max(4, ...r.nodes.map((n) => n.node.length));
  for (const n of r.nodes)
    lines.push(
      `  ${n.node.padEnd(width)}  ${n.state.padEnd(9)}  ${pct(n.idRatio).padStart(6)}  ${unpatchedOf(n)
        .map((b) => `${b.program} unpatched`)
        .join(", ")}`,
    );
  if (r.input.malformedCount) {
    lines.push("", `${r.input.malformedCount} malformed input line(s) or document(s) skipped:`);
    for (const m of r.input.malformed) lines.push(`  ${m.source}:${m.line}: ${m.reason}`);
  }
  return lines.join("\n");
}

/** A Markdown table cell: no line breaks, pipes and backticks escaped, HTML escaped (Markdown renders it). */
function md(v: string | number | null): string {
  return escapeHtml(String(v ?? "-"))
    .replace(/[\r\n]+/g, " ")
    .replace(/\|/g, "\\|")
    .replace(/`/g, "\\`");
}

export function renderMarkdown(r: FleetReport): string {
  const out = ["## kmem memory-cgroup leak: fleet report", "", `**${md(countsLine(r))}**`, ""];
  out.push("| state | nodes |", "|---|---:|", ...Object.entries(r.counts.states).map(([k, n]) => `| ${k} | ${n} |`), "");
  for (const l of verdictLines(r)) out.push(`- ${md(l)}`);
  if (r.nearestLimit.length) {
    out.push("", "### Nearest the id limit", "", "| node | ids | used |", "|---|---:|---:|");
    for (const n of r.nearestLimit) out.push(`| ${md(n.node)} | ${n.idsCounted}/${n.idLimit} | ${pct(n.idRatio)} |`);
  }
  out.push("", "### Unpatched binaries", "");
  if (r.unpatched.length) {
    out.push("| node | program | path | version |", "|---|---|---|---|");
    for (const u of r.unpatched) out.push(`| ${md(u.node)} | ${md(u.program)} | ${md(u.path)} | ${md(u.version)} |`);
  } else out.push("none");
  if (r.input.malformedCount) out.push("", `${r.input.malformedCount} malformed input line(s) or document(s) skipped.`);
  return out.join("\n");
}

export function escapeHtml(v: string): string {
  return v.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const STATE_COLOUR: Record<FleetNode["state"], string> = {
  leaking: "#c62828",
  "at-risk": "#ef6c00",
  unknown: "#757575",
  "no-doctor": "#9e9e9e",
  healthy: "#2e7d32",
};

/** Horizontal bars: each node's counted ids against the limit, a line at 80%. */
function chart(r: FleetReport): string {
  const nodes = r.nodes
    .filter((n) => n.idRatio !== null)
    .sort((a, b) => b.idRatio! - a.idRatio! || a.node.localeCompare(b.node))
    .slice(0, CHART_NODES);
  const label = 220;
  const width = 560;
  const bar = 16;
  const height = nodes.length * (bar + 4) + 30;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" id="id-chart" role="img" aria-label="memory-cgroup ids per node against the limit" width="${label + width + 70}" height="${height}">`,
    `<title>memory-cgroup ids per node against the limit of ${nodes[0]?.idLimit ?? 65535}</title>`,
  ];
  nodes.forEach((n, i) => {
    const y = i * (bar + 4) + 4;
    const w = Math.max(1, Math.round(Math.min(n.idRatio!, 1) * width));
    parts.push(
      `<g class="bar" data-node="${escapeHtml(n.node)}"><text x="${label - 6}" y="${y + 12}" text-anchor="end">${escapeHtml(n.node.length > 32 ? `${n.node.slice(0, 31)}…` : n.node)}</text>` +
        `<rect x="${label}" y="${y}" width="${width}" height="${bar}" fill="#eeeeee"/>` +
        `<rect x="${label}" y="${y}" width="${w}" height="${bar}" fill="${STATE_COLOUR[n.state]}"/>` +
        `<text x="${label + width + 6}" y="${y + 12}">${pct(n.idRatio)}</text></g>`,
    );
  });
  const limitY = nodes.length * (bar + 4) + 4;
  const x80 = label + width * 0.8;
  parts.push(
    `<line x1="${x80}" y1="0" x2="${x80}" y2="${limitY}" stroke="#000" stroke-dasharray="4 3"/>`,
    `<text x="${x80}" y="${limitY + 16}" text-anchor="middle">80%</text>`,
    `<text x="${label + width}" y="${limitY + 16}" text-anchor="end">limit</text>`,
    "</svg>",
  );
  return parts.join("\n");
}

export function renderHtml(r: FleetReport, generatedAt: Date): string {
  const rows = r.nodes.map((n) => {
    const unpatched = unpatchedOf(n);
    const bins = n.binaries
      .map(
        (b) =>
          `${escapeHtml(b.program)} <code>${escapeHtml(b.path)}</code>${b.version ? ` ${escapeHtml(b.version)}` : ""}: <span class="v-${escapeHtml(b.verdict)}">${escapeHtml(b.verdict)}</span>`,
      )
      .join("<br>");
    return (
      `<tr class="node s-${n.state}"><td>${escapeHtml(n.node)}</td><td><span class="state">${n.state}</span></td><td>${escapeHtml(n.kernel ?? "-")}</td>` +
      `<td class="num">${ids(n)}</td><td class="num">${pct(n.idRatio)}</td><td class="num">${n.idsCounted !== null && n.idsExisting !== null ? n.idsCounted - n.idsExisting : "-"}</td>` +
      `<td>${bins || "-"}</td><td class="num">${unpatched.length}</td></tr>`
    );
  });
  const counts = Object.entries(r.counts.states)
    .map(([k, n]) => `<li class="s-${k}"><b>${n}</b> ${k}</li>`)
    .join("");
  const verdicts = verdictLines(r)
    .map((l) => `<li>${escapeHtml(l)}</li>`)
    .join("");
  const malformed = r.input.malformedCount
    ? `<section><h2>Skipped input</h2><p>${r.input.malformedCount} malformed line(s) or document(s).</p><ul>${r.input.malformed.map((m) => `<li><code>${escapeHtml(`${m.source}:${m.line}`)}</code> ${escapeHtml(m.reason)}</li>`).join("")}</ul></section>`
    : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kmem memory-cgroup leak: fleet report</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #212121; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.5em; }
ul.counts { list-style: none; padding: 0; display: flex; gap: 1.5em; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f5f5f5; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.state { font-weight: bold; }
.s-leaking .state, li.s-leaking { color: #c62828; } .s-at-risk .state, li.s-at-risk { color: #ef6c00; }
.s-healthy .state, li.s-healthy { color: #2e7d32; } .s-unknown .state, .s-no-doctor .state { color: #757575; }
.v-unpatched { color: #c62828; font-weight: bold; } .v-patched, .v-not-affected { color: #2e7d32; }
svg text { font: 11px system-ui, sans-serif; }
code { font-size: 0.95em; }
</style>
</head>
<body>
<h1>kmem memory-cgroup leak: fleet report</h1>
<p>Generated ${escapeHtml(generatedAt.toISOString())} by <code>kubelet-nokmem report</code> from ${r.input.doctorReports} doctor report(s) and ${r.input.auditResults} audit result(s).</p>
<ul class="counts">${counts}</ul>
<ul>${verdicts}</ul>
<h2>Memory-cgroup ids against the limit</h2>
<p>The ${Math.min(CHART_NODES, r.nodes.filter((n) => n.idRatio !== null).length)} nodes nearest the limit; pod creation fails when a node reaches it. Colour: the node's state.</p>
${chart(r)}
<h2>Nodes, by risk</h2>
<table id="nodes">
<thead><tr><th>node</th><th>state</th><th>kernel</th><th>ids</th><th>used</th><th>leaked</th><th>binaries</th><th>unpatched</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>
${malformed}
</body>
</html>
`;
}
