/**
 * The audit against real Go binaries: fixture trees of each era built with
 * `make WHAT=cmd/kubelet` and Go 1.19 (so Go 1.18+ build info records -tags),
 * with and without GOFLAGS=-tags=nokmem, with the vendor-stub and the
 * kmem-override source changes, audited without ever being run.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditFile } from "../../src/audit/index.js";
import type { Verdict } from "../../src/verdict.js";
import { loadCatalog } from "../../src/catalog/load.js";
import { makeTree, RUNC_FS, type Era, type TreeOptions } from "../fixtures/k8s-tree.js";
import { envWithGo } from "../helpers/tmp.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";

const catalog = loadCatalog();
let work: string;
/** A Go build cache shared between the trees (each tree forces GOCACHE into itself; entries are content-addressed). */
let warmCache: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "audit-slow-"));
  warmCache = join(work, "gocache");
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Change = "vendor-stub" | "kmem-override";

/** 1.9–1.13: stub both kmem functions in the vendored memory.go (what the vendor-stub strategy does). */
function vendorStub(root: string): void {
  const file = join(root, RUNC_FS, "memory.go");
  let src = readFileSync(file, "utf8");
  for (const fn of ["func EnableKernelMemoryAccounting(path string) error {", "func setKernelMemory(path string, kernelMemoryLimit int64) error {"]) {
    const start = src.indexOf(fn);
    const end = src.indexOf("\n}\n", start);
    src = `${src.slice(0, start)}${fn}\n\treturn nil\n}\n${src.slice(end + 3)}`;
  }
  // Keep the imports the removed bodies used.
  src += "\nvar (\n\t_ = errors.Is\n\t_ = fmt.Sprint\n\t_ = syscall.EBUSY\n)\n";
  writeFileSync(file, src);
}

/** 1.16: kmem.go replaced by the disabled implementation, keeping its !nokmem constraint. */
function kmemOverride(root: string): void {
  const disabled = readFileSync(join(root, RUNC_FS, "kmem_disabled.go"), "utf8");
  writeFileSync(join(root, RUNC_FS, "kmem.go"), disabled.replace("//go:build linux && nokmem", "//go:build linux && !nokmem").replace("// +build linux,nokmem", "// +build linux,!nokmem"));
}

async function build(name: string, opts: TreeOptions, env: Record<string, string>, change?: Change): Promise<string> {
  const tree = await makeTree(join(work, name), { ...opts, kind: "dir" });
  if (change === "vendor-stub") vendorStub(tree.root);
  if (change === "kmem-override") kmemOverride(tree.root);
  const cache = join(tree.root, "_output/local/go/cache");
  if (existsSync(warmCache)) {
    mkdirSync(join(tree.root, "_output/local/go"), { recursive: true });
    cpSync(warmCache, cache, { recursive: true });
  }
  const versionFile = join(work, `${name}.version`);
  const [major, minor] = tree.version.split(".");
  writeFileSync(versionFile, `KUBE_GIT_VERSION='v${tree.version}'\nKUBE_GIT_COMMIT='${"c0ffee".padEnd(40, "0")}'\nKUBE_GIT_TREE_STATE='clean'\nKUBE_GIT_MAJOR='${major}'\nKUBE_GIT_MINOR='${minor}'\n`);
  execFileSync("make", ["WHAT=cmd/kubelet"], {
    cwd: tree.root,
    env: { ...envWithGo(), GO111MODULE: "off", KUBE_GIT_VERSION_FILE: versionFile, SOURCE_DATE_EPOCH: "1613563200", ...env },
    stdio: "pipe",
  });
  if (!existsSync(warmCache)) cpSync(cache, warmCache, { recursive: true });
  const kubelet = join(tree.root, "_output/local/bin/linux/amd64/kubelet");
  // Keep the binary, drop the tree and its cache (disk is shared).
  const keep = join(work, `${name}.kubelet`);
  cpSync(kubelet, keep);
  rmSync(tree.root, { recursive: true, force: true });
  return keep;
}

const TAG = { GOFLAGS: "-tags=nokmem" };

describe("audit of real kubelet builds, one per era and variant", () => {
  const cases: [string, Era, Record<string, string>, Change | undefined, boolean, Verdict][] = [
    ["1.8 plain: no kmem code", "1.8", {}, undefined, false, "not-affected"],
    ["1.13 plain", "1.13", {}, undefined, false, "unpatched"],
    ["1.13 with the tag (a pre-split runc has none)", "1.13", TAG, undefined, false, "unpatched"],
    ["1.13 vendor-stub", "1.13", {}, "vendor-stub", false, "patched"],
    ["1.15 plain", "1.15", {}, undefined, false, "unpatched"],
    ["1.15 with the tag (known only by absence)", "1.15", TAG, undefined, false, "patched"],
    ["1.16 plain", "1.16", {}, undefined, false, "unpatched"],
    ["1.16 with the tag", "1.16", TAG, undefined, false, "patched"],
    ["1.16 kmem-override without the tag", "1.16", {}, "kmem-override", false, "patched"],
    ["1.18 with the tag, harness drops GOFLAGS", "1.18", TAG, undefined, true, "unpatched"],
    ["1.20 plain (stripped)", "1.20", {}, undefined, false, "unpatched"],
    ["1.20 with the tag (stripped)", "1.20", TAG, undefined, false, "patched"],
    ["1.22 plain: no kmem code", "1.22", {}, undefined, false, "not-affected"],
    ["1.22 with the tag: still not-affected, never patched", "1.22", TAG, undefined, false, "not-affected"],
  ];
  it.each(cases.map(([name, era, env, change, dropsTag, verdict]) => ({ name, era, env, change, dropsTag, verdict })))("$name → $verdict", async ({ name, era, env, change, dropsTag, verdict }) => {
    const file = await build(name.replace(/\W+/g, "-"), { era, dropsTag }, env, change);
    const r = await auditFile(file, { catalog });
    expect(r.errors).toEqual([]);
    expect(r.program).toBe("kubelet");
    expect(r.go).toBe(true);
    expect(r.kubernetesVersion?.gitVersion).toMatch(new RegExp(`^v${era.replace(".", "\\.")}\\.`));
    expect(r.goBuildInfo?.goVersion).toMatch(/^go1\.19/);
    expect(r.goBuildInfo?.path).toBe("k8s.io/kubernetes/cmd/kubelet");
    if (env.GOFLAGS && !dropsTag) expect(r.goBuildInfo?.tags).toContain("nokmem");
    expect({ verdict: r.verdict, reasons: r.reasons }).toMatchObject({ verdict });
  });
});
