/**
 * markerStringAuditor: the minimal binary check the doctor uses until the full
 * audit (src/audit/) is wired in. It looks for the marker strings of DOMAIN.md
 * in one streamed pass and never runs the binary.
 *
 * It cannot read version stamps, so a binary without any marker (a runc >= rc94,
 * a 1.22 kubelet, or a 1.14/1.15 nokmem build) is `unknown` here, never `patched`.
 */
import { constants } from "node:fs";
import { open, stat } from "node:fs/promises";
import type { BinaryAudit, BinaryAuditor } from "./binaries.js";

/** Present only in builds whose runc can enable kmem. */
export const ENABLED_MARKERS = {
  "kmem-limit-file": "memory.kmem.limit_in_bytes",
  "kmem-enable-error": "failed to set %s, because either tasks have already joined this cgroup or it has children",
  "kmem-not-supported": "kernel memory accounting not supported by this kernel",
} as const;
// Not the source path kmem.go: the 1.16 kmem-override fix keeps that file name for the disabled code.

/** Present only in nokmem builds (runc rc7 and later). */
export const DISABLED_MARKERS = {
  "kmem-disabled-error": "kernel memory accounting disabled in this runc build",
  "kmem-disabled-source": "cgroups/fs/kmem_disabled.go",
} as const;

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const CHUNK = 1024 * 1024;

/** Which markers a stream of chunks contains, matches across chunk boundaries included. */
export function markerFinder(markers: Record<string, string>) {
  const needles = Object.entries(markers).map(([id, s]) => ({ id, bytes: Buffer.from(s, "latin1") }));
  const overlap = Math.max(...needles.map((n) => n.bytes.length)) - 1;
  const found = new Set<string>();
  let tail = Buffer.alloc(0);
  return {
    push(chunk: Buffer): void {
      const window = tail.length ? Buffer.concat([tail, chunk]) : chunk;
      for (const n of needles) if (!found.has(n.id) && window.indexOf(n.bytes) !== -1) found.add(n.id);
      tail = Buffer.from(window.subarray(Math.max(0, window.length - overlap)));
    },
    found: (): ReadonlySet<string> => found,
  };
}

export const markerStringAuditor: BinaryAuditor = async (path: string): Promise<BinaryAudit> => {
  const st = await stat(path);
  if (!st.isFile()) throw new Error(`expected a regular file, found ${st.isDirectory() ? "a directory" : "a special file"}`);
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const finder = markerFinder({ ...ENABLED_MARKERS, ...DISABLED_MARKERS });
  let head: Buffer | null = null;
  try {
    const buf = Buffer.alloc(CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      head ??= Buffer.from(chunk.subarray(0, 4));
      finder.push(chunk);
    }
  } finally {
    await fh.close();
  }
  if (!head || !head.equals(ELF_MAGIC)) {
    return { verdict: "unknown", evidence: [{ id: "not-elf", detail: "not an ELF executable" }] };
  }
  const found = finder.found();
  const enabled = Object.keys(ENABLED_MARKERS).filter((id) => found.has(id));
  const disabled = Object.keys(DISABLED_MARKERS).filter((id) => found.has(id));
  const evidence = [
    ...enabled.map((id) => ({ id, detail: `present: ${ENABLED_MARKERS[id as keyof typeof ENABLED_MARKERS]}` })),
    ...disabled.map((id) => ({ id, detail: `present: ${DISABLED_MARKERS[id as keyof typeof DISABLED_MARKERS]}` })),
  ];
  if (enabled.length && disabled.length) return { verdict: "unknown", evidence: [...evidence, { id: "contradiction", detail: "both kmem-enabling and nokmem markers" }] };
  if (enabled.length) return { verdict: "unpatched", evidence };
  if (disabled.length) return { verdict: "patched", evidence };
  return { verdict: "unknown", evidence: [{ id: "no-markers", detail: "no kmem markers: runc >= rc94, a release without kmem code, or a 1.14/1.15 nokmem build (the full audit tells them apart)" }] };
};
