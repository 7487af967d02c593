/**
 * A node's file system mounted somewhere else (`--root /host` in a fleet
 * container): node paths such as `/usr/bin/kubelet` are resolved under the
 * root, and symbolic links are followed inside it, the way the node itself
 * would follow them. An absolute link `/usr/bin/kubelet -> /opt/kube/kubelet`
 * lands in `/host/opt/kube/kubelet`, never in the container's own `/opt`, and
 * `..` stops at the root, so no link leads out of it.
 */
import { lstat, readlink } from "node:fs/promises";
import { join } from "node:path";

const MAX_SYMLINK_HOPS = 40;

/**
 * Where a node path lives on this machine, with links resolved inside the
 * root. Resolution stops at the first component that does not exist (the
 * rest is appended as is, so the caller's open reports ENOENT). Throws ELOOP
 * after 40 links, as the kernel does.
 */
export async function locateUnderRoot(root: string, nodePath: string): Promise<string> {
  if (root === "/") return nodePath;
  let pending = nodePath.split("/").filter(Boolean);
  let resolved: string[] = [];
  let hops = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === ".") continue;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    const here = join(root, ...resolved, part);
    let isLink: boolean;
    try {
      isLink = (await lstat(here)).isSymbolicLink();
    } catch {
      return join(root, ...resolved, part, ...pending);
    }
    if (!isLink) {
      resolved.push(part);
      continue;
    }
    if (++hops > MAX_SYMLINK_HOPS) throw Object.assign(new Error(`too many levels of symbolic links at ${nodePath}`), { code: "ELOOP" });
    const target = await readlink(here);
    if (target.startsWith("/")) resolved = [];
    pending = [...target.split("/").filter(Boolean), ...pending];
  }
  return join(root, ...resolved);
}
