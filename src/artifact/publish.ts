/**
 * Publishing into `--out`. Everything is written under OUT/.staging-<random>
 * (same filesystem, so the final renames are atomic), then renamed into
 * place, binaries first and SHA256SUMS last. OUT/.lock (see io/lock.ts) keeps
 * two builds from publishing into the same folder at once; an interrupted
 * build removes its staging folder and publishes nothing.
 *
 * Layout, the same for one platform or many:
 *   OUT/linux/amd64/kubelet
 *   OUT/SHA256SUMS       names relative to OUT: `sha256sum -c SHA256SUMS` in OUT
 *   OUT/manifest.json    in-toto Statement with SLSA provenance
 *   OUT/build.log
 */
import { mkdir, mkdtemp, readdir, readFile, rename, rm, rmdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fsyncDir } from "../io/atomic.js";
import { acquireLock, type Lock, type LockHolder } from "../io/lock.js";
import { parseSha256Sums } from "./checksums.js";

export const LOCK_NAME = ".lock";
export const STAGING_PREFIX = ".staging-";
const KUBELET_NAME = /^[a-z0-9]+\/[a-z0-9]+\/kubelet$/;

export function binaryName(platform: string): string {
  return `${platform}/kubelet`;
}

export interface BeginOptions {
  wait?: boolean;
  signal?: AbortSignal;
  onWait?: (holder: LockHolder | null) => void;
  purpose?: string;
}

export class Publication {
  private done = false;

  private constructor(
    readonly out: string,
    readonly staging: string,
    private readonly lock: Lock,
    private readonly createdOut: boolean,
  ) {}

  /** Lock OUT and open a staging folder in it. */
  static async begin(outArg: string, opts: BeginOptions = {}): Promise<Publication> {
    const out = resolve(outArg);
    const createdOut = (await mkdir(out, { recursive: true })) !== undefined;
    let lock: Lock;
    try {
      lock = await acquireLock(join(out, LOCK_NAME), {
        what: `the output folder ${out}`,
        purpose: opts.purpose,
        wait: opts.wait,
        signal: opts.signal,
        onWait: opts.onWait,
        hint: "wait for the other build, re-run with --wait, or pick another --out",
      });
    } catch (err) {
      if (createdOut) await rmdir(out).catch(() => undefined);
      throw err;
    }
    // We hold the lock: staging folders still here belong to builds that died.
    for (const name of await readdir(out)) {
      if (name.startsWith(STAGING_PREFIX)) await rm(join(out, name), { recursive: true, force: true });
    }
    const staging = await mkdtemp(join(out, STAGING_PREFIX));
    return new Publication(out, staging, lock, createdOut);
  }

  /** A path inside the staging folder (parents created). */
  async stagedPath(rel: string): Promise<string> {
    const p = join(this.staging, rel);
    await mkdir(dirname(p), { recursive: true });
    return p;
  }

  /**
   * Rename the staged files into OUT in the given order (put SHA256SUMS last),
   * drop kubelets of an earlier publication that this one does not have, and
   * release the lock.
   */
  async commit(files: readonly string[]): Promise<string[]> {
    if (this.done) throw new Error("publication already finished");
    const previous = await this.previousBinaries();
    const published: string[] = [];
    for (const rel of files) {
      const to = join(this.out, rel);
      await mkdir(dirname(to), { recursive: true });
      await rename(join(this.staging, rel), to);
      published.push(to);
    }
    for (const old of previous) {
      if (files.includes(old)) continue;
      await rm(join(this.out, old), { force: true });
      await removeEmptyParents(join(this.out, old), this.out);
    }
    await fsyncDir(this.out);
    await this.finish(false);
    return published;
  }

  /** Remove the staging folder and publish nothing. Safe to call after commit. */
  async abandon(): Promise<void> {
    if (this.done) return;
    await this.finish(true);
  }

  private async finish(abandoned: boolean): Promise<void> {
    this.done = true;
    await rm(this.staging, { recursive: true, force: true });
    await this.lock.release();
    if (abandoned && this.createdOut) await rmdir(this.out).catch(() => undefined);
  }

  private async previousBinaries(): Promise<string[]> {
    try {
      return parseSha256Sums(await readFile(join(this.out, "SHA256SUMS"), "utf8"))
        .map((e) => e.name)
        .filter((n) => KUBELET_NAME.test(n));
    } catch {
      return [];
    }
  }
}

async function removeEmptyParents(file: string, stopAt: string): Promise<void> {
  let dir = dirname(file);
  while (dir.startsWith(`${stopAt}/`)) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
    dir = dirname(dir);
  }
}
