/**
 * A test hook for crash and signal tests: when the named environment
 * variable equals `count`, say so on stderr and wait, so a test can SIGKILL
 * the process at exactly that step of a journalled write, or send SIGINT /
 * SIGTERM there. A signal ends the wait: the step goes on as it would have,
 * and the run then honours the signal like any other.
 */
export async function pauseForTests(envName: string, count: number, what: string): Promise<void> {
  const at = Number(process.env[envName]);
  if (!Number.isInteger(at) || at !== count) return;
  process.stderr.write(`paused after ${count} ${what}\n`);
  await new Promise<void>((resolve) => {
    const keepAlive = setInterval(() => undefined, 1 << 30);
    const go = () => {
      clearInterval(keepAlive);
      process.off("SIGINT", go);
      process.off("SIGTERM", go);
      resolve();
    };
    process.on("SIGINT", go);
    process.on("SIGTERM", go);
  });
}
