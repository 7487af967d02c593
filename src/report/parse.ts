/**
 * What the fleet DaemonSet printed, as `kubectl logs` hands it over: the
 * doctor's and the audit's `--json` documents (two-space indented, so one
 * document spans many lines; a compact document is one line), each line
 * possibly prefixed by `kubectl logs --prefix` (`[pod/NAME/CONTAINER] `), the
 * logs of many pods interleaved or concatenated. Pure: text in, documents and
 * the lines that were not part of one out. The input is someone else's:
 * lines and documents are bounded, and nothing in it is trusted to be of
 * the shape it claims.
 */

/** A line longer than this is not one the tool printed. */
const MAX_LINE_BYTES = 1024 * 1024;
/** A document longer than this neither. */
const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;
/** Malformed lines kept as examples (all are counted). */
const MALFORMED_SAMPLES = 20;

export interface LogDocument {
  /** Where it came from: the file, and the `kubectl logs --prefix` prefix when there was one. */
  source: string;
  prefix: string | null;
  line: number;
  value: unknown;
}

export interface Malformed {
  source: string;
  line: number;
  reason: string;
}

export interface ParsedLogs {
  documents: LogDocument[];
  malformedCount: number;
  malformed: Malformed[];
}

const PREFIX = /^\[([^\]\n]{1,512})\] ?/;

interface Stream {
  prefix: string | null;
  lines: string[];
  bytes: number;
  start: number;
}

export function emptyLogs(): ParsedLogs {
  return { documents: [], malformedCount: 0, malformed: [] };
}

/** Add one file's text (its name in `source`) to `into`. */
export function parseLogs(text: string, source: string, into: ParsedLogs = emptyLogs()): ParsedLogs {
  const bad = (line: number, reason: string) => {
    into.malformedCount++;
    if (into.malformed.length < MALFORMED_SAMPLES) into.malformed.push({ source, line, reason });
  };
  // An open multi-line document per prefix: interleaved pods' logs do not mix.
  const open = new Map<string, Stream>();
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    // A UTF-16 unit is at most 3 UTF-8 bytes: count bytes only for lines that may be too long.
    if (raw.length * 3 > MAX_LINE_BYTES && Buffer.byteLength(raw, "utf8") > MAX_LINE_BYTES) return bad(lineNo, `line longer than ${MAX_LINE_BYTES} bytes`);
    const m = PREFIX.exec(raw);
    const prefix = m ? m[1]! : null;
    const line = (m ? raw.slice(m[0].length) : raw).replace(/\r$/, "");
    const key = prefix ?? "";
    const stream = open.get(key);
    if (!stream) {
      if (line.trim() === "") return;
      if (!line.startsWith("{")) return bad(lineNo, "not part of a JSON document");
      const one = tryParse(line);
      if (one.ok) return void into.documents.push({ source, prefix, line: lineNo, value: one.value });
      open.set(key, { prefix, lines: [line], bytes: line.length, start: lineNo });
      return;
    }
    stream.lines.push(line);
    stream.bytes += line.length + 1;
    if (stream.bytes > MAX_DOCUMENT_BYTES) {
      open.delete(key);
      return bad(stream.start, `JSON document longer than ${MAX_DOCUMENT_BYTES} bytes`);
    }
    // The end of a two-space indented document: its closing brace alone at column 0.
    if (line === "}") {
      open.delete(key);
      const doc = tryParse(stream.lines.join("\n"));
      if (doc.ok) into.documents.push({ source, prefix, line: stream.start, value: doc.value });
      else bad(stream.start, `invalid JSON: ${doc.reason}`);
    }
  });
  for (const s of open.values()) bad(s.start, "JSON document cut short (no closing brace)");
  return into;
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, reason: (err instanceof Error ? err.message : String(err)).slice(0, 120) };
  }
}
