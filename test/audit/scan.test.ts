import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MARKERS, MARKER_BY_ID } from "../../src/audit/markers.js";
import { anchorsFor, MarkerSearch, scanBuffer } from "../../src/audit/scan.js";

const kmemFile = MARKER_BY_ID.get("enabled-string:kmem-limit-file")!;
const failedToSet = MARKER_BY_ID.get("enabled-string:kmem-failed-to-set")!;

function withMarkerAt(size: number, at: number, text: string): Buffer {
  const b = Buffer.alloc(size, 0x41);
  b.write(text, at, "latin1");
  return b;
}

describe("markers", () => {
  it.each(MARKERS.map((m) => [m.id, m] as const))("%s has a short anchor inside its text", (_id, m) => {
    expect(m.anchor.length).toBeGreaterThan(0);
    expect(m.anchor.length).toBeLessThanOrEqual(6);
    expect(m.text.includes(m.anchor)).toBe(true);
  });

  it("groups markers that share an anchor into one pass", () => {
    const kmem = anchorsFor(MARKERS).find((a) => a.needle.toString() === "kmem")!;
    expect(kmem.members.map((m) => m.marker.id).sort()).toEqual(["enabled-string:kmem-limit-file", "source-path:kmem.go", "source-path:kmem_disabled.go"]);
  });
});

describe("MarkerSearch across chunk boundaries", () => {
  // Every split of the longest marker, for chunk sizes from one byte up.
  const text = failedToSet.text;
  const cases = [1, 2, 3, 7, 16, text.length - 1, text.length, text.length + 1, 1 << 20].flatMap((chunk) =>
    [0, 1, 5, text.length - 1].map((shift) => [chunk, shift] as const),
  );
  it.each(cases)("chunk %i, marker starting %i bytes into a chunk: found exactly once at its offset", (chunk, shift) => {
    const at = chunk * 3 + shift;
    const data = withMarkerAt(at + text.length + 50, at, text);
    const r = scanBuffer(data, MARKERS, chunk);
    expect(r.hits.get(failedToSet.id)).toEqual({ count: 1, offsets: [at] });
  });

  it("finds a marker split at every possible point between two chunks", () => {
    for (let split = 1; split < kmemFile.text.length; split++) {
      const data = withMarkerAt(200, 100, kmemFile.text);
      const s = new MarkerSearch(MARKERS);
      s.push(data.subarray(0, 100 + split));
      s.push(data.subarray(100 + split));
      expect(s.result().get(kmemFile.id)!.count, `split at ${split}`).toBe(1);
    }
  });

  it("counts every occurrence and keeps the first offsets", () => {
    const data = Buffer.from(Array.from({ length: 20 }, () => `xx${kmemFile.text}`).join(""), "latin1");
    const r = scanBuffer(data, MARKERS, 33);
    expect(r.hits.get(kmemFile.id)!.count).toBe(20);
    expect(r.hits.get(kmemFile.id)!.offsets.slice(0, 3)).toEqual([2, 2 + 28, 2 + 56]);
  });

  it("tells markers that share an anchor apart", () => {
    const data = Buffer.from("..libcontainer/cgroups/fs/kmem_disabled.go..libcontainer/cgroups/fs/kmem.go..", "latin1");
    const r = scanBuffer(data, MARKERS, 7);
    expect(r.hits.get("source-path:kmem_disabled.go")!.count).toBe(1);
    expect(r.hits.get("source-path:kmem.go")!.count).toBe(1);
    expect(r.hits.get("enabled-string:kmem-limit-file")!.count).toBe(0);
  });

  it("skips ignored ranges, and markers cut by one, but searches around them", () => {
    const data = Buffer.alloc(400, 0x20);
    data.write(kmemFile.text, 10, "latin1"); // inside the ignored range
    data.write(kmemFile.text, 190, "latin1"); // straddles its end at 200
    data.write(kmemFile.text, 300, "latin1"); // after it
    const r = scanBuffer(data, MARKERS, 64, { ignore: [{ start: 0, end: 200 }] });
    expect(r.hits.get(kmemFile.id)).toEqual({ count: 1, offsets: [300] });
  });

  it("hashes exactly the bytes it was fed", () => {
    const data = withMarkerAt(5000, 4000, failedToSet.text);
    expect(scanBuffer(data, MARKERS, 333).sha256).toBe(createHash("sha256").update(data).digest("hex"));
    expect(scanBuffer(Buffer.alloc(0), MARKERS).size).toBe(0);
  });
});
