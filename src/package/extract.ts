/**
 * The kubelet inside a .rpm or .deb, without installing it: for `verify` and
 * `audit`. A package is hostile input: its payload is listed first, every
 * name in it must be a plain relative path, the kubelet must be one regular
 * file under a size cap, and only it (and pin.json) is unpacked, into a
 * private temporary folder, by name. Tools: rpm2cpio + cpio, dpkg-deb + tar.
 */
import { lstat, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VerificationError } from "../errors.js";
import { nameProblem } from "../io/confine.js";
import { openRegular, readRegularText } from "../io/read.js";
import { runPipeline } from "../process/exec.js";
import { KUBELET_FILE, PIN_FILE, type PackageFormat, type PackagePin } from "./layout.js";

/** Larger than any real kubelet (about 105 MB at 1.20), far smaller than a disk. */
const MAX_KUBELET_BYTES = 512 * 1024 * 1024;
const MAX_PIN_BYTES = 64 * 1024;

interface PackagedKubelet {
  format: PackageFormat;
  /** The kubelet, unpacked into a private temporary folder. */
  kubelet: string;
  /** What the package's pin.json says, null when it has none (a stock package). */
  pin: PackagePin | null;
  dispose(): Promise<void>;
}

const fail = (path: string, found: string) =>
  new VerificationError(
    "E_PACKAGE",
    `expected ${path} to be a kubelet package (.rpm or .deb) with one regular /${KUBELET_FILE}, found ${found}`,
    "do not install this package; make it again with `kubelet-nokmem package OUT_DIR`",
  );

async function formatOf(path: string): Promise<PackageFormat | null> {
  const { fh } = await openRegular(path);
  try {
    const head = Buffer.alloc(8);
    await fh.read(head, 0, 8, 0);
    if (head.readUInt32BE(0) === 0xedabeedb) return "rpm";
    if (head.toString("latin1") === "!<arch>\n") return "deb";
    return null;
  } finally {
    await fh.close();
  }
}

/** The payload as a stream of an archive the second command reads: cpio for RPM, tar for DEB. */
function payload(format: PackageFormat, path: string) {
  return format === "rpm" ? { file: "rpm2cpio", args: [path] } : { file: "dpkg-deb", args: ["--fsys-tarfile", path] };
}

interface Member {
  name: string;
  type: string;
  size: number;
}

/** `cpio -tv` / `tar -tv` lines: the type letter first, the size before the date, the name last. */
function parseListing(format: PackageFormat, text: string): Member[] {
  const out: Member[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const f = line.trim().split(/\s+/);
    const sizeField = format === "rpm" ? f[4] : f[2];
    const type = f[0]!.charAt(0);
    const rest = format === "rpm" ? f.slice(8).join(" ") : f.slice(5).join(" ");
    // A link's listing adds its target: `name -> target` (symbolic), `name link to target` (tar's hard link).
    const name = type === "l" ? rest.split(" -> ")[0]! : type === "h" ? rest.split(" link to ")[0]! : rest;
    out.push({ name, type, size: Number(sizeField) });
  }
  return out;
}

/** `./usr/bin/kubelet` → `usr/bin/kubelet`; null for anything that could leave the folder. */
function plainName(name: string): string | null {
  const rel = name.replace(/^\.\//, "").replace(/\/$/, "");
  if (rel === "" || rel === ".") return ".";
  return nameProblem(rel) === null && !rel.split("/").includes("..") && !rel.startsWith("/") ? rel : null;
}

export async function openPackage(path: string, signal?: AbortSignal): Promise<PackagedKubelet> {
  const format = await formatOf(path).catch(() => null);
  if (!format) throw fail(path, "neither an RPM lead nor a Debian ar archive");
  const listArgs = format === "rpm" ? ["-t", "-v", "--quiet"] : ["-t", "-v", "--numeric-owner", "-f", "-"];
  const listing = await runPipeline(
    payload(format, path),
    { file: format === "rpm" ? "cpio" : "tar", args: listArgs, env: { LC_ALL: "C", TZ: "UTC" } },
    { signal },
  ).catch((err: Error) => {
    throw fail(path, `a payload its tools cannot list (${err.message})`);
  });
  const members = parseListing(format, listing.stdout);
  const bad = members.find((m) => plainName(m.name) === null);
  if (bad) throw fail(path, `a member named ${JSON.stringify(bad.name)} outside the package's root`);
  const byName = (want: string) => members.filter((m) => plainName(m.name) === want);
  const kubelets = byName(KUBELET_FILE);
  if (kubelets.length !== 1) throw fail(path, `${kubelets.length} members named /${KUBELET_FILE}`);
  const k = kubelets[0]!;
  if (k.type !== "-") throw fail(path, `/${KUBELET_FILE} of type ${JSON.stringify(k.type)}, not a regular file`);
  if (!(k.size > 0 && k.size <= MAX_KUBELET_BYTES)) throw fail(path, `/${KUBELET_FILE} of ${k.size} bytes (the cap is ${MAX_KUBELET_BYTES})`);
  const pins = byName(PIN_FILE).filter((m) => m.type === "-" && m.size <= MAX_PIN_BYTES);
  const wanted = [k.name, ...(pins.length === 1 ? [pins[0]!.name] : [])];
  const dir = await mkdtemp(join(tmpdir(), "kn-package-"));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const extract =
      format === "rpm"
        ? { file: "cpio", args: ["-i", "--quiet", "--make-directories", "--no-absolute-filenames", "--no-preserve-owner", ...wanted], cwd: dir }
        : { file: "tar", args: ["-x", "--no-same-owner", "--no-same-permissions", "-f", "-", "-C", dir, ...wanted] };
    await runPipeline(payload(format, path), extract, { signal }).catch((err: Error) => {
      throw fail(path, `a payload its tools cannot unpack (${err.message})`);
    });
    const kubelet = join(dir, KUBELET_FILE);
    const st = await lstat(kubelet).catch(() => null);
    if (!st?.isFile() || st.size !== k.size) throw fail(path, `an unpacked /${KUBELET_FILE} unlike its listing`);
    let pin: PackagePin | null = null;
    if (wanted.length === 2) {
      try {
        pin = JSON.parse(await readRegularText(join(dir, PIN_FILE), { maxBytes: MAX_PIN_BYTES })) as PackagePin;
      } catch {
        throw fail(path, `a /${PIN_FILE} that is not JSON`);
      }
      if (typeof pin.sha256 !== "string" || typeof pin.kubernetes !== "string" || typeof pin.platform !== "string")
        throw fail(path, `a /${PIN_FILE} without kubernetes, platform and sha256`);
    }
    return { format, kubelet, pin, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
