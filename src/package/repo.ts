/**
 * The repositories a fleet points at, made by the distributions' own tools:
 *
 *     REPO/yum/            *.rpm + repodata/ (createrepo_c; repomd.xml.asc when signed)
 *     REPO/apt/            pool/main/k/kubelet/*.deb, dists/stable/… (apt-ftparchive;
 *                          Release, InRelease, Release.gpg when signed)
 *     REPO/RPM-GPG-KEY-kubelet-nokmem, REPO/kubelet-nokmem-archive-keyring.gpg  (when signed)
 *
 * Made afresh in a temporary folder beside REPO and swapped in, so a web
 * server serving REPO never shows a repository whose metadata names a
 * package that is not there yet.
 */
import { copyFile, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { run } from "../process/exec.js";
import { exportPublicKeyTo, gpgSign, type GpgKey } from "./gpg.js";

const APT_SUITE = "stable";
const APT_COMPONENT = "main";
const RPM_KEY_FILE = "RPM-GPG-KEY-kubelet-nokmem";
const APT_KEYRING_FILE = "kubelet-nokmem-archive-keyring.gpg";

interface RepoInput {
  rpms: string[];
  debs: string[];
  /** deb architecture of each .deb, by path. */
  debArch: Map<string, string>;
  gpg: GpgKey | null;
  signal?: AbortSignal;
}

export async function makeRepositories(repo: string, input: RepoInput): Promise<{ yum: string | null; apt: string | null }> {
  const next = `${repo.replace(/\/+$/, "")}.next-${process.pid}`;
  await rm(next, { recursive: true, force: true });
  await mkdir(next, { recursive: true });
  try {
    const yum = input.rpms.length ? await yumRepo(join(next, "yum"), input) : null;
    const apt = input.debs.length ? await aptRepo(join(next, "apt"), input) : null;
    if (input.gpg) {
      await exportPublicKeyTo(input.gpg, join(next, RPM_KEY_FILE), true, input.signal);
      await exportPublicKeyTo(input.gpg, join(next, APT_KEYRING_FILE), false, input.signal);
    }
    const old = `${repo.replace(/\/+$/, "")}.old-${process.pid}`;
    await mkdir(dirname(repo), { recursive: true });
    await rename(repo, old).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
    await rename(next, repo);
    await rm(old, { recursive: true, force: true });
    return { yum: yum && join(repo, "yum"), apt: apt && join(repo, "apt") };
  } finally {
    await rm(next, { recursive: true, force: true });
  }
}

async function yumRepo(dir: string, input: RepoInput): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const p of input.rpms) await copyFile(p, join(dir, basename(p)));
  await run({ file: "createrepo_c", args: ["--quiet", "--no-database", dir], env: { LC_ALL: "C" } }, { signal: input.signal });
  // repo_gpgcheck=1 makes yum/dnf check this signature over the metadata.
  if (input.gpg) await gpgSign(input.gpg, join(dir, "repodata", "repomd.xml"), join(dir, "repodata", "repomd.xml.asc"), "detach", input.signal);
  return dir;
}

async function aptRepo(dir: string, input: RepoInput): Promise<string> {
  const pool = join(dir, "pool", APT_COMPONENT, "k", "kubelet");
  await mkdir(pool, { recursive: true });
  for (const p of input.debs) await copyFile(p, join(pool, basename(p)));
  const arches = [...new Set(input.debs.map((p) => input.debArch.get(p)!))].sort();
  const suite = join(dir, "dists", APT_SUITE);
  for (const arch of arches) {
    const bin = join(suite, APT_COMPONENT, `binary-${arch}`);
    await mkdir(bin, { recursive: true });
    // Paths in Packages are relative to the repository root (dir), as apt fetches them.
    const packages = await run(
      { file: "apt-ftparchive", args: ["--arch", arch, "packages", join("pool", APT_COMPONENT)], cwd: dir, env: { LC_ALL: "C" } },
      { signal: input.signal },
    );
    const text = `${packages.stdout}\n`;
    await writeFile(join(bin, "Packages"), text);
    await writeFile(join(bin, "Packages.gz"), gzipSync(text, { level: 9 }));
  }
  const field = (k: string, v: string) => ["-o", `APT::FTPArchive::Release::${k}=${v}`];
  const release = await run(
    {
      file: "apt-ftparchive",
      args: [
        ...field("Origin", "kubelet-nokmem"),
        ...field("Label", "kubelet-nokmem"),
        ...field("Suite", APT_SUITE),
        ...field("Codename", APT_SUITE),
        ...field("Architectures", arches.join(" ")),
        ...field("Components", APT_COMPONENT),
        ...field("Description", "kubelet built without kernel-memory accounting"),
        "release",
        ".",
      ],
      cwd: suite,
      env: { LC_ALL: "C" },
    },
    { signal: input.signal },
  );
  await writeFile(join(suite, "Release"), `${release.stdout}\n`);
  if (input.gpg) {
    await gpgSign(input.gpg, join(suite, "Release"), join(suite, "InRelease"), "clear", input.signal);
    await gpgSign(input.gpg, join(suite, "Release"), join(suite, "Release.gpg"), "detach", input.signal);
  }
  return dir;
}
