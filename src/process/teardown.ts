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
