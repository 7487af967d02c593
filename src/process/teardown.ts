/**
 * Cleanup that must finish even after a signal: removing a build's
 * container, the staged tree, the output lock. After SIGINT/SIGTERM a run
 * gets a short grace period (src/cli.ts) and then ends whatever the command
 * is doing, so that nothing can keep a signalled run alive; work registered
 * here is waited for (up to a bound) before it ends, so the grace period
 * never cuts a cleanup in half (a `docker rm -f` takes a second or two).
 */
const pending = new Set<Promise<unknown>>();

/** Run `work` as cleanup: a signalled run waits for it before it ends. */
export function asTeardown<T>(work: () => Promise<T>): Promise<T> {
  const p = work();
  pending.add(p);
  const done = () => pending.delete(p);
  p.then(done, done);
  return p;
}

/** Resolves when all registered cleanup has settled, or after `maxMs`. */
export async function teardownSettled(maxMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, maxMs)));
  for (;;) {
    const now = [...pending];
    if (!now.length) break;
    const settled = await Promise.race([Promise.allSettled(now).then(() => "settled" as const), bound.then(() => "bound" as const)]);
    if (settled === "bound") break;
  }
  clearTimeout(timer);
}

/**
 * What a run holds (a lock, a folder, a container, an open log), each with
 * the one function that gives it back. Given back in the reverse order of
 * taking, each at most once, as teardown (a signalled run waits for it); one
 * can be given back early, e.g. the moment a signal arrives.
 */
export class Held {
  private readonly held: { what: string; giveBack: () => Promise<unknown>; done?: Promise<unknown> }[] = [];

  take(what: string, giveBack: () => Promise<unknown>): void {
    if (this.held.some((h) => h.what === what)) throw new Error(`internal: ${what} is already held`);
    this.held.push({ what, giveBack });
  }

  /** Give one back now; later calls get the same outcome. Nothing happens for what was never taken. */
  release(what: string): Promise<unknown> {
    const h = this.held.find((x) => x.what === what);
    if (!h) return Promise.resolve();
    return (h.done ??= asTeardown(h.giveBack));
  }

  /** Give everything back, last taken first. A failure does not stop the rest: the error that ended the run matters more. */
  async releaseAll(): Promise<void> {
    // One teardown for the whole walk, so a signalled run cannot end between two releases.
    await asTeardown(async () => {
      for (const h of [...this.held].reverse()) await this.release(h.what).catch(() => undefined);
    });
  }

  /** Run `work`; if `signal` fires meanwhile, give `what` back at once instead of when the run ends. */
  async releasingOnAbort<T>(signal: AbortSignal, what: string, work: () => Promise<T>): Promise<T> {
    const now = () => void this.release(what).catch(() => undefined);
    signal.addEventListener("abort", now, { once: true });
    try {
      return await work();
    } finally {
      signal.removeEventListener("abort", now);
    }
  }
}
