/**
 * Making the packages with the distributions' own tools: rpmbuild (and
 * rpmsign with a GPG key) for RPM, dpkg-deb for DEB. Each package is made in
 * a temporary folder and lands in its folder under a temporary name, then is
 * renamed: a reader never sees half a package.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readdir, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { tempNameFor } from "../io/atomic.js";
import { readRegularFile } from "../io/read.js";
import { run } from "../process/exec.js";
import type { GpgKey } from "./gpg.js";
import { CONFIG_FILE, COPYRIGHT, packageArch, packageFileName, UNIT_FILE, type PackageFormat, type PackagePin } from "./layout.js";
import { debChangelog, debControl, rpmSpec, type PackageInput } from "./spec.js";

interface MadePackage {
  format: PackageFormat;
  platform: string;
  /** The file name, in `dir`. */
  name: string;
  path: string;
}

interface MakeOptions {
  /** The kubelet to package (its sha256 is `input.sha256`). */
  kubelet: string;
  pin: PackagePin;
  /** Where the package lands. */
  dir: string;
  gpg: GpgKey | null;
  signal?: AbortSignal;
}

const epochOf = (d: Date) => String(Math.floor(d.getTime() / 1000));

export async function makePackage(format: PackageFormat, input: PackageInput, o: MakeOptions): Promise<MadePackage> {
  const work = await mkdtemp(join(tmpdir(), `kubelet-nokmem-${format}-`));
  try {
    const made = format === "rpm" ? await rpmbuild(input, o, work) : await dpkgDeb(input, o, work);
    const name = packageFileName(input.kubernetes, input.release, input.platform, format);
    await mkdir(o.dir, { recursive: true });
    const final = join(o.dir, name);
    const part = tempNameFor(final);
    await copyFile(made, part);
    await rename(part, final);
    return { format, platform: input.platform, name, path: final };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function rpmbuild(input: PackageInput, o: MakeOptions, work: string): Promise<string> {
  const sources = join(work, "SOURCES");
  await mkdir(sources, { recursive: true });
  await copyFile(o.kubelet, join(sources, "kubelet"));
  await writeFile(join(sources, "kubelet.service"), UNIT_FILE);
  await writeFile(join(sources, "kubelet.sysconfig"), CONFIG_FILE);
  await writeFile(join(sources, "pin.json"), `${JSON.stringify(o.pin, null, 2)}\n`);
  const spec = join(work, "kubelet.spec");
  await writeFile(spec, rpmSpec(input));
  const arch = packageArch(input.platform, "rpm");
  await run(
    {
      file: "rpmbuild",
      args: [
        "-bb",
        "--target",
        `${arch}-linux`,
        "--define",
        `_topdir ${work}`,
        "--define",
        `_sourcedir ${sources}`,
        "--define",
        `_tmppath ${join(work, "tmp")}`,
        spec,
      ],
      env: { SOURCE_DATE_EPOCH: epochOf(input.date), LC_ALL: "C" },
    },
    { signal: o.signal },
  );
  const dir = join(work, "RPMS", arch);
  const [file] = (await readdir(dir)).filter((f) => f.endsWith(".rpm"));
  if (!file) throw new Error(`rpmbuild wrote no package into ${dir}`);
  const path = join(dir, file);
  if (o.gpg) await rpmSign(path, o.gpg, o.signal);
  return path;
}

/** rpmsign with the imported key: a header+payload signature that `rpm -K` and yum's gpgcheck verify. */
async function rpmSign(path: string, key: GpgKey, signal?: AbortSignal): Promise<void> {
  await run(
    {
      file: "rpmsign",
      // Debian's rpm names /usr/bin/gpg2, which Debian does not ship: the gpg on PATH signs.
      args: [
        "--addsign",
        "--define",
        `__gpg ${onPath("gpg")}`,
        "--define",
        `_gpg_name ${key.fingerprint}`,
        "--define",
        `_gpg_path ${key.home}`,
        "--define",
        "_gpg_sign_cmd_extra_args --batch --pinentry-mode loopback",
        path,
      ],
      env: { GNUPGHOME: key.home, LC_ALL: "C" },
    },
    { signal },
  );
}

function onPath(program: string): string {
  for (const dir of (process.env.PATH ?? "").split(":")) if (dir && existsSync(join(dir, program))) return join(dir, program);
  return program;
}

async function dpkgDeb(input: PackageInput, o: MakeOptions, work: string): Promise<string> {
  const root = join(work, "root");
  const files: [string, string | Buffer, number][] = [
    ["lib/systemd/system/kubelet.service", UNIT_FILE, 0o644],
    ["etc/default/kubelet", CONFIG_FILE, 0o644],
    ["usr/share/kubelet-nokmem/pin.json", `${JSON.stringify(o.pin, null, 2)}\n`, 0o644],
    ["usr/share/doc/kubelet/copyright", COPYRIGHT, 0o644],
    ["usr/share/doc/kubelet/changelog.Debian.gz", gzipSync(debChangelog(input), { level: 9 }), 0o644],
  ];
  const md5: string[] = [];
  const kubeletPath = join(root, "usr/bin/kubelet");
  await mkdir(join(root, "usr/bin"), { recursive: true });
  await copyFile(o.kubelet, kubeletPath);
  await chmod(kubeletPath, 0o755);
  md5.push(
    `${createHash("md5")
      .update(await readRegularFile(kubeletPath, { maxBytes: 1024 ** 3 }))
      .digest("hex")}  usr/bin/kubelet`,
  );
  for (const [rel, data, mode] of files) {
    const p = join(root, rel);
    await mkdir(join(p, ".."), { recursive: true });
    await writeFile(p, data, { mode });
    await chmod(p, mode);
    md5.push(`${createHash("md5").update(data).digest("hex")}  ${rel}`);
  }
  await mkdir(join(root, "etc/kubernetes/manifests"), { recursive: true });
  let bytes = 0;
  for (const f of ["usr/bin/kubelet", ...files.map((f) => f[0])]) bytes += (await stat(join(root, f))).size;
  const control = join(root, "DEBIAN");
  await mkdir(control, { recursive: true });
  await writeFile(join(control, "control"), debControl(input, Math.ceil(bytes / 1024)));
  await writeFile(join(control, "conffiles"), "/etc/default/kubelet\n");
  await writeFile(join(control, "md5sums"), `${md5.sort((a, b) => (a.slice(34) < b.slice(34) ? -1 : 1)).join("\n")}\n`);
  await setTimes(root, input.date);
  const out = join(work, "kubelet.deb");
  await run(
    { file: "dpkg-deb", args: ["--root-owner-group", "-Zgzip", "-z9", "--build", root, out], env: { SOURCE_DATE_EPOCH: epochOf(input.date), LC_ALL: "C" } },
    { signal: o.signal },
  );
  return out;
}

/** Every file and folder at the package's date: the same kubelet packaged twice gives the same bytes. */
async function setTimes(dir: string, date: Date): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await setTimes(p, date);
    await utimes(p, date, date);
  }
  await utimes(dir, date, date);
}
