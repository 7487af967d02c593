/**
 * Hostile output folders and key arguments, generated: every file of a real
 * signed out dir replaced by each thing a folder handed over by someone else
 * can hold, every key-taking command with each way a key can be missing, and
 * the manifest's subjects tampered with field by field (and signed again, as
 * a holder of the key could). For each case the three readers of an out dir
 * — `verify`, `pin` and `audit --manifest` — run on the same folder and must
 * agree: the same exit code and error code, exactly one line on stderr,
 * nothing of a file's content echoed (a secret marker sits in every file a
 * link points at), within a heap of HEAP_MB and a generous timeout.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envelopeFile } from "../../src/artifact/keys.js";
import { MAX_ENVELOPE_SIGNATURES } from "../../src/artifact/dsse.js";
import { OUT_DIR_LIMITS, SUMS_FILE } from "../../src/artifact/outdir.js";
import * as commander from "commander";
import { buildProgram } from "../../src/cli.js";
import { COMMANDS } from "../../src/commands/index.js";
import { processIo } from "../../src/commands/context.js";
import { tempDir } from "../helpers/tmp.js";
import { REPO } from "../support/built-cli.js";
import { CLI, ensureBuilt } from "./hangs-harness.js";
import { filesOf, KUBELET, resign, VERSION, writeSignedOutDir, type SignedOutDir } from "./signed-out-dir.js";

/** Far above any healthy run: a run still going then is a stall, and fails. */
const TIMEOUT_MS = 30_000;
/** The heap each run gets: an envelope of 600,000 signatures took ~380 MB when each was tried. */
const HEAP_MB = 96;
const SECRET = "KN-SECRET-MARKER-6b1d0c";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  killed: boolean;
}

function run(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const base: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}` };
    delete base.KUBELET_NOKMEM_CATALOG;
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete base[k];
      else base[k] = v;
    }
    const child = spawn(process.execPath, [CLI, ...args], { env: base, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    let killed = false;
    const timer = setTimeout(() => ((killed = true), child.kill("SIGKILL")), TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, killed });
    });
  });
}

/** Exactly one line on stderr, the tool's, with no stack trace. */
function oneLine(r: Run): string {
  const lines = r.stderr.split("\n").filter(Boolean);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^kubelet-nokmem: /);
  expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
  return lines[0]!;
}

let suite: string;
let golden: SignedOutDir;
let catalog: string;
/** A copy of the folder's kubelet outside it: what `audit --manifest` checks against the folder. */
let kubeletCopy: string;
/** Outside every folder under test; every link planted points here. */
let outside: string;

beforeAll(async () => {
  await ensureBuilt();
  suite = mkdtempSync(join(tmpdir(), "kn-hostile-out-"));
  golden = await writeSignedOutDir(suite);
  kubeletCopy = join(suite, "kubelet");
  writeFileSync(kubeletCopy, golden.kubelet);
  outside = join(suite, "outside");
  mkdirSync(outside);
  writeFileSync(join(outside, "secret"), `{"secret": "${SECRET}"}\n${SECRET} *${KUBELET}\n`);
  catalog = join(suite, "versions.json");
  cpSync(join(REPO, "versions.json"), catalog);
  const pinned = await run(["pin", golden.out, "--catalog", catalog, "--key", golden.pub, "--json"]);
  expect(pinned.code, pinned.stderr).toBe(0);
}, 180_000);

// The suite's folder lives for the whole file (tempDir()'s go after each test).
afterAll(() => rmSync(suite, { recursive: true, force: true }));

/** The three readers of an out dir, by name: each gets the folder and, when given, the public key. */
const READERS: Record<string, (out: string, key: string | null) => string[]> = {
  verify: (out, key) => ["verify", out, "--catalog", catalog, ...(key ? ["--key", key] : []), "--json"],
  pin: (out, key) => ["pin", out, "--catalog", catalog, "--dry-run", ...(key ? ["--key", key] : []), "--json"],
  "audit --manifest": (out, key) => [
    "audit",
    kubeletCopy,
    "--manifest",
    out,
    "--catalog",
    catalog,
    "--fail-on",
    "mismatch,missing",
    ...(key ? ["--key", key] : []),
    "--json",
  ],
};

function copyOfGolden(): string {
  const out = join(tempDir(), "out");
  cpSync(golden.out, out, { recursive: true });
  return out;
}

interface Expected {
  exit: number;
  /** The error code each reader's --json error names; null: they succeed. */
  code: string | null;
  /** Text the one line must hold (the file it names). */
  names?: string;
}

/** Run the three readers on `out` and check they agree with `want`. */
async function expectReadersAgree(out: string, key: string | null, want: Expected): Promise<void> {
  const names = Object.keys(READERS);
  const runs = await Promise.all(names.map((n) => run(READERS[n]!(out, key))));
  const seen: Record<string, { exit: number | null; code: string | null }> = {};
  runs.forEach((r, i) => {
    const who = names[i]!;
    expect(r.killed, `${who} did not end within ${TIMEOUT_MS} ms`).toBe(false);
    expect(`${r.stdout}${r.stderr}`, `${who} echoed what a file holds`).not.toContain(SECRET);
    const doc = JSON.parse(r.stdout) as { error?: { code: string } };
    seen[who] = { exit: r.code, code: doc.error?.code ?? null };
    if (want.code !== null) {
      const line = oneLine(r);
      if (want.names) expect(line, who).toContain(want.names);
    } else expect(r.stderr, who).toBe("");
  });
  const expected = Object.fromEntries(names.map((n) => [n, { exit: want.exit, code: want.code }]));
  expect(seen).toEqual(expected);
}

describe("the signed folder as published", () => {
  it.each([
    ["with the key", true],
    ["without a key", false],
  ])(
    "passes verify, pin and audit --manifest %s",
    async (_n, withKey) => {
      await expectReadersAgree(golden.out, withKey ? golden.pub : null, { exit: 0, code: null });
    },
    60_000,
  );
});

// ── every file of the folder, replaced

const isEnvelope = (f: string) => f.endsWith(".dsse.json");
const refused = (f: string): Expected => ({ exit: 4, code: "E_OUT_DIR_REFUSED", names: f });

/** The limit a file of the folder is read under (null: streamed into a hash, no limit). */
function limitOf(file: string): number | null {
  if (isEnvelope(file)) return OUT_DIR_LIMITS.envelope;
  if (file === SUMS_FILE) return OUT_DIR_LIMITS.sums;
  if (file === "manifest.json" || file === "verdict.json") return OUT_DIR_LIMITS.statement;
  if (file === KUBELET) return null;
  return OUT_DIR_LIMITS.byproduct;
}

function replaceWithLink(out: string, file: string, target: string): void {
  rmSync(join(out, file));
  symlinkSync(relative(dirname(join(out, file)), target), join(out, file));
}

function envelopeWith(out: string, file: string, signatures: (original: { keyid?: string; sig: string }) => string): void {
  const env = JSON.parse(readFileSync(join(out, file), "utf8")) as { payloadType: string; payload: string; signatures: { keyid?: string; sig: string }[] };
  const head = JSON.stringify({ payloadType: env.payloadType, payload: env.payload }).slice(0, -1);
  writeFileSync(join(out, file), `${head},"signatures":[${signatures(env.signatures[0]!)}]}\n`);
}

interface Mutation {
  name: string;
  applies: (file: string) => boolean;
  plant: (out: string, file: string) => void;
  expect: (file: string) => Expected;
  /** Also without --key (a reader without a key still reads, and refuses, every file). */
  withoutKey: boolean;
}

const MUTATIONS: Mutation[] = [
  {
    name: "a symlink out of the folder",
    applies: () => true,
    plant: (o, f) => replaceWithLink(o, f, join(outside, "secret")),
    expect: refused,
    withoutKey: true,
  },
  {
    name: "a symlink to its own copy inside the folder",
    applies: () => true,
    plant: (o, f) => {
      mkdirSync(dirname(join(o, "copies", f)), { recursive: true });
      cpSync(join(o, f), join(o, "copies", f));
      replaceWithLink(o, f, join(o, "copies", f));
    },
    expect: refused,
    withoutKey: false,
  },
  {
    name: "a FIFO",
    applies: () => true,
    plant: (o, f) => {
      rmSync(join(o, f));
      execFileSync("mkfifo", [join(o, f)]);
    },
    expect: refused,
    withoutKey: true,
  },
  {
    name: "a file one byte above its limit (sparse)",
    applies: () => true,
    plant: (o, f) => truncateSync(join(o, f), (limitOf(f) ?? 70 * 1024 * 1024) + 1),
    // A kubelet has no limit: it is hashed as streamed, and then it is another file than the manifest's.
    expect: (f) => (limitOf(f) === null ? { exit: 4, code: "E_OUT_DIR_CHANGED", names: f } : refused(f)),
    withoutKey: false,
  },
  {
    name: "600,000 unnamed signatures",
    applies: isEnvelope,
    plant: (o, f) => envelopeWith(o, f, () => Array.from({ length: 600_000 }, () => '{"sig":"AA=="}').join(",")),
    expect: (f) => ({ exit: 4, code: "E_ENVELOPE", names: f }),
    withoutKey: true,
  },
  {
    name: "600,000 signatures naming the key",
    applies: isEnvelope,
    plant: (o, f) => envelopeWith(o, f, (s) => Array.from({ length: 600_000 }, () => JSON.stringify(s)).join(",")),
    // Larger than an envelope may be: refused before it is parsed.
    expect: refused,
    withoutKey: false,
  },
  {
    name: `${MAX_ENVELOPE_SIGNATURES} signatures naming the key, the good one last`,
    applies: isEnvelope,
    plant: (o, f) =>
      envelopeWith(o, f, (s) =>
        [
          ...Array.from({ length: MAX_ENVELOPE_SIGNATURES - 1 }, () => JSON.stringify({ ...s, sig: Buffer.alloc(64).toString("base64") })),
          JSON.stringify(s),
        ].join(","),
      ),
    // Only the first few naming the key are tried.
    expect: (f) => ({ exit: 4, code: "E_SIGNATURE", names: f }),
    withoutKey: false,
  },
];

const FILES = () => filesOf(golden.out);

describe("every file of a signed out dir, replaced: verify, pin and audit --manifest refuse it alike, naming it", () => {
  it("the folder holds every kind of file a build publishes", () => {
    expect(FILES()).toEqual([
      "SHA256SUMS",
      "build.log",
      "linux/amd64/kubelet",
      "linux/amd64/sbom.cdx.json",
      "manifest.dsse.json",
      "manifest.json",
      "verdict.dsse.json",
      "verdict.json",
    ]);
  });

  const cases = () =>
    MUTATIONS.flatMap((m) =>
      filesOf(golden.out)
        .filter(m.applies)
        .flatMap((f) => [true, ...(m.withoutKey ? [false] : [])].map((withKey) => ({ m, f, withKey }))),
    );
  // The list needs the folder, which beforeAll makes; each mutation is one test walking every file it applies to.
  it.each(MUTATIONS.map((m) => [m.name, m] as const))(
    "%s",
    async (_n, m) => {
      const mine = cases().filter((c) => c.m === m);
      expect(mine.length).toBeGreaterThan(0);
      for (const { f, withKey } of mine) {
        const out = copyOfGolden();
        m.plant(out, f);
        await expectReadersAgree(out, withKey ? golden.pub : null, m.expect(f)).catch((err: Error) => {
          throw new Error(`${f} as ${m.name} (${withKey ? "with" : "without"} --key): ${err.message}`);
        });
        rmSync(dirname(out), { recursive: true, force: true });
      }
    },
    600_000,
  );
});

// ── the manifest's subjects, tampered (and signed again)

interface Statement {
  subject: { name: string; digest: { sha256: string } }[];
}

const SUBJECT_EDITS: [string, (s: Statement["subject"][number]) => void][] = [
  ["a name climbing out with ../", (s) => (s.name = "../../../etc/kubelet")],
  ["the name of another kubelet", (s) => (s.name = "linux/arm64/kubelet")],
  ["another digest", (s) => (s.digest.sha256 = "0".repeat(64))],
];
const SCOPES: [string, string[]][] = [
  ["manifest.json", ["manifest.json"]],
  ["manifest.json and verdict.json", ["manifest.json", "verdict.json"]],
];

describe("a tampered subject, signed again by the key: refused alike", () => {
  it.each(SUBJECT_EDITS.flatMap(([edit, fn]) => SCOPES.map(([scope, files]) => [edit, scope, fn, files] as const)))(
    "%s in %s",
    async (edit, _scope, fn, files) => {
      const out = copyOfGolden();
      for (const file of files) {
        const st = JSON.parse(readFileSync(join(out, file), "utf8")) as Statement;
        fn(st.subject[0]!);
        writeFileSync(join(out, file), `${JSON.stringify(st, null, 2)}\n`);
        resign(out, file, golden.key);
      }
      // A name that is no kubelet's is refused by the manifest's reader; otherwise the verdict no longer matches
      // the manifest, or (both changed) SHA256SUMS and the file disagree with them.
      const code = edit.startsWith("a name climbing") || files.length === 1 ? "E_MANIFEST" : "E_OUT_DIR_CHANGED";
      for (const key of [golden.pub, null]) await expectReadersAgree(out, key, { exit: 4, code });
    },
    120_000,
  );

  it.each([
    [
      "the SBOM, one byte changed",
      (o: string) =>
        writeFileSync(join(o, "linux/amd64/sbom.cdx.json"), readFileSync(join(o, "linux/amd64/sbom.cdx.json"), "utf8").replace("nokmem", "nokmex")),
      "E_OUT_DIR_CHANGED",
      "sbom.cdx.json",
    ],
    ["build.log, appended to", (o: string) => writeFileSync(join(o, "build.log"), "more\n", { flag: "a" }), "E_OUT_DIR_CHANGED", "build.log"],
    ["SHA256SUMS naming another digest", (o: string) => writeFileSync(join(o, SUMS_FILE), `${"0".repeat(64)} *${KUBELET}\n`), "E_OUT_DIR_CHANGED", SUMS_FILE],
    ["SHA256SUMS holding a secret instead", (o: string) => writeFileSync(join(o, SUMS_FILE), readFileSync(join(outside, "secret"))), "E_SUMS", SUMS_FILE],
    [
      "manifest.json holding a secret instead (signed again)",
      (o: string) => (writeFileSync(join(o, "manifest.json"), readFileSync(join(outside, "secret"))), resign(o, "manifest.json", golden.key)),
      "E_MANIFEST",
      "manifest.json",
    ],
  ])(
    "%s",
    async (_n, plant, code, names) => {
      const out = copyOfGolden();
      plant(out);
      for (const key of [golden.pub, null]) await expectReadersAgree(out, key, { exit: 4, code, names });
    },
    120_000,
  );

  it.each(["manifest.json", "verdict.json"])(
    "%s and its envelope removed: refused with the key and without",
    async (file) => {
      const out = copyOfGolden();
      rmSync(join(out, file));
      rmSync(join(out, envelopeFile(file)));
      // No manifest: not an output folder. No verdict: the manifest records its digest.
      const want: Expected =
        file === "manifest.json" ? { exit: 2, code: "E_OUT_DIR" } : { exit: 4, code: "E_OUT_DIR_CHANGED", names: "verdict.json is missing" };
      for (const key of [golden.pub, null]) await expectReadersAgree(out, key, want);
    },
    120_000,
  );

  it.each([
    ["a package, listed with its digest", (o: string) => writeFileSync(join(o, "pkg.deb"), "deb"), null, null],
    ["a package listed with another digest", (o: string) => writeFileSync(join(o, "pkg.deb"), "changed"), "E_OUT_DIR_CHANGED", "pkg.deb has sha256"],
    ["a package listed but missing", () => undefined, "E_OUT_DIR_CHANGED", "pkg.deb is missing"],
    ["a package that is a symlink out", (o: string) => symlinkSync(join(outside, "secret"), join(o, "pkg.deb")), "E_OUT_DIR_REFUSED", "pkg.deb"],
  ] as const)(
    "SHA256SUMS listing another file than the kubelets: %s",
    async (_n, plant, code, names) => {
      const out = copyOfGolden();
      writeFileSync(join(out, SUMS_FILE), `${readFileSync(join(out, SUMS_FILE), "utf8")}${createHash("sha256").update("deb").digest("hex")} *pkg.deb\n`);
      plant(out);
      for (const key of [golden.pub, null]) await expectReadersAgree(out, key, code === null ? { exit: 0, code: null } : { exit: 4, code, names });
    },
    120_000,
  );
});

// ── keys: empty, blank or unset is a usage error on every command that takes one

// Every option that names a key; a command gaining one fails the guard below until it has a case here.
const KEY_FLAGS = ["--key", "--sign-key", "--gpg-key"];

/** Each command that takes a key, with the key in place; `out` is a signed folder whose envelopes were removed. */
const KEY_COMMANDS: Record<string, (out: string, key: string) => string[]> = {
  verify: (out, key) => ["verify", out, "--catalog", catalog, "--key", key],
  "verify --manifest": (out, key) => ["verify", kubeletCopy, "--manifest", out, "--catalog", catalog, "--key", key],
  pin: (out, key) => ["pin", out, "--catalog", catalog, "--key", key],
  "audit --manifest": (out, key) => ["audit", kubeletCopy, "--manifest", out, "--catalog", catalog, "--key", key],
  "build --sign-key": (out, key) => ["build", "--version", VERSION, "--dry-run", "--catalog", catalog, "--out", join(dirname(out), "never"), "--sign-key", key],
  "build --gpg-key": (out, key) => [
    "build",
    "--version",
    VERSION,
    "--dry-run",
    "--catalog",
    catalog,
    "--out",
    join(dirname(out), "never"),
    "--package",
    "rpm",
    "--gpg-key",
    key,
  ],
  "package --key": (out, key) => ["package", out, "--catalog", catalog, "--key", key],
  "package --sign-key": (out, key) => ["package", out, "--catalog", catalog, "--sign-key", key],
  "package --gpg-key": (out, key) => ["package", out, "--catalog", catalog, "--gpg-key", key],
};

const BAD_KEYS: [string, string, Record<string, string | undefined>][] = [
  ["empty", "", {}],
  ["a blank", "  ", {}],
  ["env: with no name", "env:", {}],
  ["env: naming an unset variable", "env:KN_TEST_UNSET_KEY", { KN_TEST_UNSET_KEY: undefined }],
  ["env: naming an empty variable", "env:KN_TEST_EMPTY_KEY", { KN_TEST_EMPTY_KEY: "" }],
  ["env: naming a blank variable", "env:KN_TEST_BLANK_KEY", { KN_TEST_BLANK_KEY: " \n" }],
];

describe("a key argument that is empty, blank or unset is a usage error, never no key", () => {
  it("every command with a key option has a case here", async () => {
    const modules = await Promise.all(COMMANDS.map((c) => c.load()));
    const program = buildProgram(commander, processIo(), new AbortController().signal, { exitCode: 0 }, modules);
    const taking = program.commands.filter((c) => c.options.some((o) => KEY_FLAGS.includes(o.long ?? ""))).map((c) => c.name());
    expect(taking.sort()).toEqual([...new Set(Object.keys(KEY_COMMANDS).map((k) => k.split(" ")[0]!))].sort());
  });

  it.each(Object.keys(KEY_COMMANDS))(
    "%s",
    async (name) => {
      const out = copyOfGolden();
      for (const f of filesOf(out).filter(isEnvelope)) rmSync(join(out, f));
      const before = readFileSync(catalog, "utf8");
      for (const [what, value, env] of BAD_KEYS) {
        const r = await run([...KEY_COMMANDS[name]!(out, value), "--json"], env);
        expect(r.killed).toBe(false);
        expect(r.code, `${what}: ${r.stderr}`).toBe(2);
        expect(oneLine(r), what).toMatch(/--(sign-|gpg-)?key|environment variable/);
        expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code, what).toBe("E_KEY_EMPTY");
      }
      expect(readFileSync(catalog, "utf8")).toBe(before);
    },
    120_000,
  );
});
