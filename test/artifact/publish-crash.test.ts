/**
 * A publication killed (SIGKILL, a real child process) between two renames
 * into --out is finished by the next build into it: OUT ends fully the new
 * build, never a mix, and `sha256sum -c SHA256SUMS` passes on it. Readers
 * (verify, pin, audit --manifest) refuse such a folder and change nothing.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { formatSha256Sums } from "../../src/artifact/checksums.js";
import { provenanceStatement } from "../../src/artifact/manifest.js";
import { JOURNAL_NAME, Publication, type PublishRecovery } from "../../src/artifact/publish.js";
import { readManifestDir } from "../../src/audit/index.js";
import { readPublishedBuild } from "../../src/pin/outdir.js";
import { ensureBuilt, REPO } from "../support/built-cli.js";

beforeAll(ensureBuilt, 5 * 60_000);

let tmp: string;
let out: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "kn-publish-crash-"));
  out = join(tmp, "out");
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

/** A whole build's files, as `build` publishes them, for `version` and `platforms`. */
function buildFiles(version: string, platforms: string[]): { files: Record<string, string>; order: string[] } {
  const kubelets = platforms.map((p) => [`${p}/kubelet`, `kubelet v${version} for ${p}\n`] as const);
  const log = `make output of v${version}\n`;
  const statement = provenanceStatement({
    product: "kubelet",
    subjects: kubelets.map(([name, text]) => ({ name, sha256: sha(text) })),
    version,
    strategy: "kmem-override",
    line: version.split(".").slice(0, 2).join("."),
    platforms,
    source: { kind: "directory", origin: "/src", ref: null, commit: null, treeDigest: `sha256:${"d".repeat(64)}`, dirHash: "e".repeat(64), gitTree: null },
    sourceDateEpoch: 1600000000,
    env: [["GOFLAGS", "-tags=nokmem"]],
    command: ["make", "WHAT=cmd/kubelet"],
    runner: "local",
    image: null,
    go: "1.19.8",
    patches: [],
    tool: { name: "kubelet-nokmem", version: "0.1.0" },
    invocationId: `id-${version}`,
    startedOn: new Date("2024-01-01T00:00:00Z"),
    finishedOn: new Date("2024-01-01T00:03:00Z"),
    byproducts: [{ name: "build.log", digest: { sha256: sha(log) } }],
  });
  const files: Record<string, string> = {
    ...Object.fromEntries(kubelets),
    "build.log": log,
    "manifest.json": `${JSON.stringify(statement, null, 2)}\n`,
    SHA256SUMS: formatSha256Sums(kubelets.map(([name, text]) => ({ name, sha256: sha(text) }))),
  };
  // The order build uses: binaries first, SHA256SUMS last.
  return { files, order: [...kubelets.map(([n]) => n), "build.log", "manifest.json", "SHA256SUMS"] };
}

const OLD = buildFiles("1.16.14", ["linux/amd64", "linux/arm64"]);
const NEW = buildFiles("1.16.15", ["linux/amd64"]);

/** What the next build into OUT does first: finish (or discard) what an earlier one left. */
async function finishByNextBuild(): Promise<PublishRecovery | null> {
  const next = await Publication.begin(out);
  await next.abandon();
  return next.recovered;
}

async function publishInProcess(b: typeof OLD): Promise<void> {
  const pub = await Publication.begin(out);
  for (const [rel, text] of Object.entries(b.files)) writeFileSync(await pub.stagedPath(rel), text);
  await pub.commit(b.order);
}

/** Every file under OUT (hidden ones included) with its content. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files[relative(dir, p)] = readFileSync(p, "utf8");
    }
  };
  walk(dir);
  return files;
}

/**
 * Run `what` in a child node process against dist/ with the rename pause hook
 * set, wait until it says it paused, SIGKILL it.
 */
async function killAfterRenames(what: "publish" | "settle", renames: number, b?: typeof OLD): Promise<void> {
  const script = join(tmp, "child.mjs");
  writeFileSync(
    script,
    `const [mod, out, spec] = process.argv.slice(2);
const { Publication } = await import(mod);
const fs = await import("node:fs");
if (spec) {
  const b = JSON.parse(fs.readFileSync(spec, "utf8"));
  const pub = await Publication.begin(out);
  for (const [rel, text] of Object.entries(b.files)) fs.writeFileSync(await pub.stagedPath(rel), text);
  await pub.commit(b.order);
} else {
  await (await Publication.begin(out)).abandon();
}
process.stderr.write("ran to the end\\n");
`,
  );
  const args = [script, pathToFileURL(join(REPO, "dist/artifact/publish.js")).href, out];
  if (what === "publish") {
    writeFileSync(join(tmp, "spec.json"), JSON.stringify(b));
    args.push(join(tmp, "spec.json"));
  }
  const child = spawn(process.execPath, args, {
    env: { ...process.env, KUBELET_NOKMEM_PAUSE_AFTER_RENAMES: String(renames) },
    stdio: ["ignore", "ignore", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    let err = "";
    child.stderr.on("data", (d) => {
      err += String(d);
      if (err.includes(`paused after ${renames} rename(s)`)) resolve();
    });
    child.on("exit", (code) => reject(new Error(`the child ended (${code}) before pausing: ${err}`)));
  });
  child.removeAllListeners("exit");
  const gone = new Promise((resolve) => child.on("exit", resolve));
  child.kill("SIGKILL");
  await gone;
}

function expectExactly(b: typeof OLD): void {
  const visible = Object.fromEntries(Object.entries(snapshot(out)).filter(([n]) => !n.startsWith(".")));
  expect(visible).toEqual(b.files);
  expect(readdirSync(out).filter((n) => n.startsWith("."))).toEqual([]); // no journal, staging or lock left
  expect(execFileSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: out, encoding: "utf8" })).toBe(
    Object.keys(b.files)
      .filter((n) => n.endsWith("/kubelet"))
      .sort()
      .map((n) => `${n}: OK\n`)
      .join(""),
  );
}

describe("a publication killed between two renames", () => {
  beforeEach(async () => {
    await publishInProcess(OLD);
    expectExactly(OLD);
    await killAfterRenames("publish", 1, NEW);
    // What a reader would have seen without the journal: the new kubelet beside the old SHA256SUMS.
    expect(readFileSync(join(out, "linux/amd64/kubelet"), "utf8")).toBe(NEW.files["linux/amd64/kubelet"]);
    expect(readFileSync(join(out, "SHA256SUMS"), "utf8")).toBe(OLD.files.SHA256SUMS);
    expect(existsSync(join(out, JOURNAL_NAME))).toBe(true);
  });

  it("is finished by the next build into the same --out, which then publishes over it as usual", async () => {
    const next = await Publication.begin(out);
    expect(next.recovered).toEqual({ action: "finished", files: ["build.log", "manifest.json", "SHA256SUMS"] });
    await next.abandon();
    expectExactly(NEW);
    await publishInProcess(OLD);
    expectExactly(OLD);
  });

  it("is refused, never finished, by verify, pin and audit --manifest: they change nothing", async () => {
    const halfway = snapshot(out);
    await expect(readPublishedBuild(out)).rejects.toMatchObject({ code: "E_PUBLISH_UNFINISHED", exitCode: 4 });
    await expect(readManifestDir(out)).rejects.toMatchObject({ code: "E_PUBLISH_UNFINISHED", exitCode: 4 });
    expect(snapshot(out)).toEqual(halfway);
    expect(await finishByNextBuild()).toEqual({ action: "finished", files: ["build.log", "manifest.json", "SHA256SUMS"] });
    expectExactly(NEW);
    expect((await readPublishedBuild(out)).version).toBe("1.16.15");
  });

  it("is finished even when the recovery itself is killed between two renames", async () => {
    await killAfterRenames("settle", 1);
    expect(existsSync(join(out, JOURNAL_NAME))).toBe(true);
    expect(await finishByNextBuild()).toEqual({ action: "finished", files: ["manifest.json", "SHA256SUMS"] });
    expectExactly(NEW);
  });

  it("is removed, never left mixed, when its staged files were lost", async () => {
    const staging = readdirSync(out).find((n) => n.startsWith(".staging-"))!;
    rmSync(join(out, staging), { recursive: true });
    const next = await Publication.begin(out);
    expect(next.recovered).toEqual({ action: "discarded", files: ["SHA256SUMS", "manifest.json", "linux/amd64/kubelet", "build.log", "linux/arm64/kubelet"] });
    await next.abandon();
    expect(snapshot(out)).toEqual({});
    await expect(readPublishedBuild(out)).rejects.toMatchObject({ code: "E_OUT_DIR" });
  });
});

describe("a reader meeting a publication that is still renaming", () => {
  it("is refused as busy (exit 9) rather than reading a mix, and the folder is left to its publisher", async () => {
    await publishInProcess(OLD);
    const script = join(tmp, "paused.mjs");
    writeFileSync(
      script,
      `const { Publication } = await import(process.argv[2]); const fs = await import("node:fs"); const b = JSON.parse(process.argv[4]); const pub = await Publication.begin(process.argv[3]); for (const [rel, text] of Object.entries(b.files)) fs.writeFileSync(await pub.stagedPath(rel), text); await pub.commit(b.order);\n`,
    );
    const child = spawn(process.execPath, [script, pathToFileURL(join(REPO, "dist/artifact/publish.js")).href, out, JSON.stringify(NEW)], {
      env: { ...process.env, KUBELET_NOKMEM_PAUSE_AFTER_RENAMES: "2" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    try {
      await new Promise<void>((resolve) => child.stderr.on("data", (d) => String(d).includes("paused") && resolve()));
      await expect(readPublishedBuild(out)).rejects.toMatchObject({ code: "E_BUSY", exitCode: 9 });
      expect(existsSync(join(out, JOURNAL_NAME))).toBe(true);
    } finally {
      const gone = new Promise((resolve) => child.on("exit", resolve));
      child.kill("SIGKILL");
      await gone;
    }
    expect((await finishByNextBuild())?.action).toBe("finished");
    expectExactly(NEW);
  });
});

describe("the journal", () => {
  it("is durable before the first rename: the staged files it names are fsynced and hashed", async () => {
    await publishInProcess(OLD);
    await killAfterRenames("publish", 1, NEW);
    const j = JSON.parse(readFileSync(join(out, JOURNAL_NAME), "utf8"));
    expect(j.files).toEqual(NEW.order.map((name) => ({ name, sha256: sha(NEW.files[name]!) })));
    expect(j.remove).toEqual(["linux/arm64/kubelet"]);
    expect(statSync(join(out, j.staging)).isDirectory()).toBe(true);
  });
});
