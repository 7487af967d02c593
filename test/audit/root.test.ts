/**
 * `audit --root`: a node's file system mounted elsewhere (a fleet pod's
 * /host). Paths are the node's; links, absolute ones included, are followed
 * inside the root, never into the auditing machine's own folders.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditPaths } from "../../src/audit/index.js";
import { loadCatalog } from "../../src/catalog/load.js";
import { cli, oneLineError } from "../helpers/cli.js";
import { syntheticBinary } from "./synthetic.js";

const catalog = loadCatalog();
const nokmem = () =>
  syntheticBinary({ markers: ["disabled-string:runc-build", "source-path:kmem_disabled.go", "identity:kubelet"], stamps: { gitVersion: "v1.20.2" } });
const enabled = () =>
  syntheticBinary({
    markers: ["enabled-string:kmem-not-supported", "enabled-string:kmem-limit-file", "source-path:kmem.go", "identity:kubelet"],
    stamps: { gitVersion: "v1.20.2" },
  });
let root: string;
let outside: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "audit-root-"));
  outside = await mkdtemp(join(tmpdir(), "audit-outside-"));
  await mkdir(join(root, "opt/kube/bin"), { recursive: true });
  await mkdir(join(root, "usr/bin"), { recursive: true });
  await mkdir(join(root, "usr/local/bin"), { recursive: true });
  await writeFile(join(root, "opt/kube/bin/kubelet"), nokmem(), { mode: 0o755 });
  // The node's /usr/bin/kubelet is an absolute link, as package managers and installers make them.
  await symlink("/opt/kube/bin/kubelet", join(root, "usr/bin/kubelet"));
  // A link that climbs out with .. stops at the root, as it would on the node.
  await symlink("../../../../../../opt/kube/bin/kubelet", join(root, "usr/local/bin/kubelet"));
  // The auditing machine's own file at the same absolute path must never be the one read.
  await mkdir(join(outside, "opt/kube/bin"), { recursive: true });
  await writeFile(join(outside, "opt/kube/bin/kubelet"), enabled(), { mode: 0o755 });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe("audit --root", () => {
  it("follows an absolute link inside the root and names the node's path", async () => {
    const [r] = await auditPaths(["/usr/bin/kubelet"], { catalog, all: false, root });
    expect(r).toMatchObject({ path: "/usr/bin/kubelet", verdict: "patched", errors: [] });
  });

  it("walks the node's folders the same way, and a link climbing with .. stays inside the root", async () => {
    const reports = await auditPaths(["/usr/bin", "/usr/local/bin"], { catalog, all: false, root });
    expect(reports.map((r) => [r.path, r.verdict])).toEqual([
      ["/usr/bin/kubelet", "patched"],
      ["/usr/local/bin/kubelet", "patched"],
    ]);
  });

  it("without --root the same link leads out of the mounted root (why the fleet passes --root)", async () => {
    const [r] = await auditPaths([join(root, "usr/bin")], { catalog, all: false });
    expect(r!.path).toBe(join(root, "usr/bin/kubelet"));
    expect(r!.errors.map((e) => e.code)).toEqual(["E_AUDIT_NOT_FOUND"]);
  });

  it("the command: node paths in, node paths out, the same sha256 as the file itself", () => {
    const r = cli(["audit", "--json", "--root", root, "--skip-missing", "/usr/bin", "/opt/bin"]);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.reports.map((x: { path: string }) => x.path)).toEqual(["/usr/bin/kubelet"]);
    const direct = JSON.parse(cli(["audit", "--json", join(root, "opt/kube/bin/kubelet")]).stdout);
    expect(json.reports[0].sha256).toBe(direct.reports[0].sha256);
  });

  it("refuses a relative path with --root, and a root that is not a folder, before reading anything", () => {
    const relative = cli(["audit", "--root", root, "usr/bin"]);
    expect(relative.code).toBe(2);
    expect(oneLineError(relative)).toMatch(/absolute paths with --root, found "usr\/bin"/);
    const missing = cli(["audit", "--json", "--root", join(root, "nope"), "/usr/bin"]);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout).error.code).toBe("E_ROOT");
  });
});
