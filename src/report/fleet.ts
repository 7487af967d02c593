/**
 * One fleet summary from the doctor's and the audit's documents of every
 * node: counts by node state and binary verdict, the nodes nearest the
 * memory-cgroup id limit, the unpatched binaries by node, every node sorted
 * by risk. Pure. The documents are untrusted: every field is checked for its
 * type, and a document of neither shape counts as malformed.
 */
import { NODE_VERDICTS, type NodeVerdict } from "../node/types.js";
import { VERDICTS, type Verdict } from "../verdict.js";
import type { LogDocument, ParsedLogs } from "./parse.js";

/** MEM_CGROUP_ID_MAX, when a report does not say. */
const DEFAULT_ID_LIMIT = 65535;
const NEAREST = 10;
/** Longest text taken from a field of the input. */
const MAX_FIELD = 512;

export interface FleetBinary {
  program: string;
  path: string;
  verdict: Verdict | "error";
  version: string | null;
  pin: string | null;
}

export interface FleetNode {
  node: string;
  /** The doctor's verdict, or `no-doctor` when only an audit was found. */
  state: NodeVerdict | "no-doctor";
  summary: string | null;
  kernel: string | null;
  idsCounted: number | null;
  idsExisting: number | null;
  idLimit: number;
  /** idsCounted / idLimit, or null. */
  idRatio: number | null;
  binaries: FleetBinary[];
  /** Higher is worse: what the page sorts by. */
  risk: number;
}

/** The `report --json` contract (docs/report.md). */
export interface FleetReport {
  schemaVersion: 1;
  nodes: FleetNode[];
  counts: {
    nodes: number;
    states: Record<NodeVerdict | "no-doctor", number>;
    /** By program (kubelet, runc, …), then verdict; each binary path of each node once. */
    verdicts: Record<string, Record<Verdict | "error", number>>;
  };
  nearestLimit: { node: string; idsCounted: number; idLimit: number; idRatio: number }[];
  unpatched: { node: string; program: string; path: string; version: string | null }[];
  input: { documents: number; doctorReports: number; auditResults: number; malformedCount: number; malformed: ParsedLogs["malformed"] };
}

const STATE_RISK: Record<FleetNode["state"], number> = { leaking: 3, "at-risk": 2, unknown: 1, "no-doctor": 1, healthy: 0 };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === "string" && v.length ? v.slice(0, MAX_FIELD) : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : null);
const verdictOf = (v: unknown): Verdict | "error" => ((VERDICTS as readonly unknown[]).includes(v) ? (v as Verdict) : "error");

/** `pod/NAME/CONTAINER` from kubectl logs --prefix: the pod, when a document names no node. */
function nodeName(doc: LogDocument, named: unknown): string {
  return str(named) ?? (doc.prefix ? `(unnamed: ${doc.prefix.slice(0, MAX_FIELD)})` : `(unnamed: ${doc.source}:${doc.line})`);
}

interface Gathered {
  nodes: Map<string, { doctor: Record<string, unknown> | null; binaries: Map<string, FleetBinary> }>;
  doctorReports: number;
  auditResults: number;
  notOurs: number;
}

function gather(docs: LogDocument[]): Gathered {
  const g: Gathered = { nodes: new Map(), doctorReports: 0, auditResults: 0, notOurs: 0 };
  const entry = (name: string) => {
    let e = g.nodes.get(name);
    if (!e) g.nodes.set(name, (e = { doctor: null, binaries: new Map() }));
    return e;
  };
  for (const d of docs) {
    const v = d.value;
    if (isRecord(v) && typeof v.verdict === "string" && Array.isArray(v.findings) && isRecord(v.binaries)) {
      g.doctorReports++;
      const e = entry(nodeName(d, v.node));
      e.doctor = v;
      for (const program of ["kubelet", "runc"]) {
        const b = v.binaries[program];
        if (!isRecord(b) || !str(b.path)) continue;
        const path = str(b.path)!;
        // The audit's result, with its version and pin, wins over the doctor's summary of the same file.
        const audited = e.binaries.get(path);
        if (!audited)
          e.binaries.set(path, {
            program,
            path,
            verdict: b.verdict === null ? "error" : verdictOf(b.verdict),
            version: str(b.kubernetesVersion),
            pin: str(b.pin),
          });
        // The doctor knows which program it looked for where the audit could not tell from the file.
        else if (audited.program === "other") audited.program = program;
      }
    } else if (isRecord(v) && Array.isArray(v.reports) && isRecord(v.summary)) {
      g.auditResults++;
      const e = entry(nodeName(d, v.node));
      for (const r of v.reports) {
        if (!isRecord(r) || !str(r.path)) continue;
        const k8s = isRecord(r.kubernetesVersion) ? str(r.kubernetesVersion.gitVersion) : null;
        const runc = isRecord(r.runcVersion) ? str(r.runcVersion.version) : null;
        const errors = Array.isArray(r.errors) && r.errors.length > 0 && !str(r.sha256);
        const program = str(r.program) ?? "other";
        e.binaries.set(str(r.path)!, {
          program: program === "other" ? (e.binaries.get(str(r.path)!)?.program ?? program) : program,
          path: str(r.path)!,
          verdict: errors ? "error" : verdictOf(r.verdict),
          version: k8s ?? runc,
          pin: isRecord(r.pin) ? str(r.pin.status) : null,
        });
      }
    } else {
      g.notOurs++;
    }
  }
  return g;
}

export function summariseFleet(logs: ParsedLogs): FleetReport {
  const g = gather(logs.documents);
  const nodes: FleetNode[] = [];
  for (const [name, e] of g.nodes) {
    const d = e.doctor;
    const facts = d && isRecord(d.facts) ? d.facts : {};
    const state: FleetNode["state"] = d ? ((NODE_VERDICTS as readonly unknown[]).includes(d.verdict) ? (d.verdict as NodeVerdict) : "unknown") : "no-doctor";
    const idsCounted = num(facts.memoryCgroupsCounted);
    const idLimit = num(facts.memoryCgroupIdLimit) || DEFAULT_ID_LIMIT;
    const idRatio = idsCounted === null ? null : idsCounted / idLimit;
    const binaries = [...e.binaries.values()].sort((a, b) => a.program.localeCompare(b.program) || a.path.localeCompare(b.path));
    const unpatched = binaries.filter((b) => b.verdict === "unpatched").length;
    nodes.push({
      node: name,
      state,
      summary: d ? str(d.summary) : null,
      kernel: d ? str(d.kernelRelease) : null,
      idsCounted,
      idsExisting: num(facts.memoryCgroupsExisting),
      idLimit,
      idRatio,
      binaries,
      // State first, then how close to the limit, then unpatched binaries.
      risk: STATE_RISK[state] * 10 + Math.min(idRatio ?? 0, 1) * 5 + Math.min(unpatched, 2),
    });
  }
  nodes.sort((a, b) => b.risk - a.risk || a.node.localeCompare(b.node));

  const states = Object.fromEntries([...NODE_VERDICTS, "no-doctor"].map((s) => [s, 0])) as FleetReport["counts"]["states"];
  const verdicts: FleetReport["counts"]["verdicts"] = {};
  for (const n of nodes) {
    states[n.state]++;
    for (const b of n.binaries) {
      const row = (verdicts[b.program] ??= Object.fromEntries([...VERDICTS, "error"].map((v) => [v, 0])) as Record<Verdict | "error", number>);
      row[b.verdict]++;
    }
  }
  const nearestLimit = nodes
    .filter((n): n is FleetNode & { idsCounted: number; idRatio: number } => n.idRatio !== null && n.idsCounted !== null)
    .sort((a, b) => b.idRatio - a.idRatio || a.node.localeCompare(b.node))
    .slice(0, NEAREST)
    .map((n) => ({ node: n.node, idsCounted: n.idsCounted, idLimit: n.idLimit, idRatio: n.idRatio }));
  const unpatched = nodes.flatMap((n) =>
    n.binaries.filter((b) => b.verdict === "unpatched").map((b) => ({ node: n.node, program: b.program, path: b.path, version: b.version })),
  );
  return {
    schemaVersion: 1,
    nodes,
    counts: { nodes: nodes.length, states, verdicts },
    nearestLimit,
    unpatched,
    input: {
      documents: logs.documents.length,
      doctorReports: g.doctorReports,
      auditResults: g.auditResults,
      malformedCount: logs.malformedCount + g.notOurs,
      malformed: [
        ...logs.malformed,
        ...(g.notOurs ? [{ source: "(documents)", line: 0, reason: `${g.notOurs} JSON documents neither a doctor report nor an audit result` }] : []),
      ],
    },
  };
}
