/**
 * A test hook for crash tests: when the named environment variable equals
 * `count`, say so on stderr and wait forever, so a test can SIGKILL the
 * process at exactly that step of a journalled write.
 */
export async function pauseForTests(envName: string, count: number, what: string): Promise<void> {
  const at = Number(process.env[envName]);
  if (!Number.isInteger(at) || at !== count) return;
  process.stderr.write(`paused after ${count} ${what}\n`);
  await new Promise(() => setInterval(() => undefined, 1 << 30));
}
