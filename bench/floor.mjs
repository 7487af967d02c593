#!/usr/bin/env node
/**
 * The floor under `kubelet-nokmem audit`: a bare Node process that makes
 * only the audit's one pass over each file (sha256 and the marker search on
 * the same chunks, dist/audit/pass.js), skipping the code ranges the ELF
 * section headers name (dist/audit/elf.js) as the audit does, and prints
 * the digests as `sha256sum` does. No command line, catalog, build info,
 * verdicts or report. With several files it passes them on this thread and
 * on one worker thread (kept two files ahead), as the folder audit does on
 * two cores.
 *
 *   node bench/floor.mjs FILE...
 *
 * bench/run.mjs times it beside the audit: the difference is what the tool
 * does besides its pass; the difference between this and `node -e 0` is the
 * pass itself.
 */
import { open } from "node:fs/promises";
import { ELF_HEADER_SIZE, ElfImage, parseElfHeader } from "../dist/audit/elf.js";
import { MARKERS } from "../dist/audit/markers.js";
import { passInline, PassWorker } from "../dist/audit/pass.js";

async function digest(file, pass) {
  const fh = await open(file);
  try {
    const { size } = await fh.stat();
    const src = {
      size,
      async read(offset, length) {
        const buf = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
        return buf.subarray(0, bytesRead);
      },
    };
    const header = parseElfHeader(await src.read(0, ELF_HEADER_SIZE));
    const ignore = header ? (await ElfImage.open(src, header)).unsearchedRanges() : [];
    return (await pass({ fh, size, chunk: 1 << 20, markers: MARKERS, ignore })).sha256;
  } finally {
    await fh.close();
  }
}

const files = process.argv.slice(2);
if (files.length === 0) throw new Error("usage: node bench/floor.mjs FILE...");
const worker = files.length > 1 ? await PassWorker.start() : null;
const digests = [];
let next = 0;
const lane = async (pass) => {
  while (next < files.length) {
    const i = next++;
    digests[i] = await digest(files[i], pass);
  }
};
await Promise.all([lane(passInline), ...(worker ? [lane(worker.pass), lane(worker.pass)] : [])]);
await worker?.stop();
for (const [i, file] of files.entries()) console.log(`${digests[i]}  ${file}`);
