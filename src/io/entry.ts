/**
 * Whether a module is the process's entry point, from real paths, never from
 * the name the user typed: through npm's bin link, npx or any symlink argv[1]
 * is `…/bin/kubelet-nokmem`, and a name test made the installed command a
 * silent no-op (a node-problem-detector plugin read that as "healthy").
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

export function isEntryModule(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
