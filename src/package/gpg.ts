/**
 * `--gpg-key`: an armoured, unprotected OpenPGP secret key (a file, or
 * env:VARNAME for a CI secret), imported into a throw-away GNUPGHOME that is
 * removed (and its agent stopped) when packaging ends. It signs the RPMs
 * (rpmsign), the yum repository's repomd.xml and the apt repository's
 * Release/InRelease.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../errors.js";
import { readKeyText } from "../artifact/keys.js";
import { run } from "../process/exec.js";

export interface GpgKey {
  home: string;
  fingerprint: string;
}

const gpgArgs = (home: string, ...args: string[]) => ({
  file: "gpg",
  args: ["--homedir", home, "--batch", "--no-tty", "--pinentry-mode", "loopback", ...args],
  env: { LC_ALL: "C" },
});

export async function importGpgKey(spec: string, signal?: AbortSignal): Promise<GpgKey> {
  const { text } = await readKeyText("--gpg-key", spec, "armoured OpenPGP secret key");
  const home = await mkdtemp(join(tmpdir(), "kn-gpg-"));
  try {
    const file = join(home, "key.asc");
    await writeFile(file, text, { mode: 0o600 });
    await run(gpgArgs(home, "--import", file), { signal }).catch(() => {
      throw new UsageError(
        "E_GPG_KEY",
        `expected ${spec} to hold an OpenPGP secret key gpg can import, found none`,
        "gpg --armor --export-secret-keys KEYID > signing-key.asc",
      );
    });
    await rm(file);
    const listed = await run(gpgArgs(home, "--with-colons", "--list-secret-keys"), { signal });
    const fpr = /^fpr:+([0-9A-F]{40,64}):/m.exec(listed.stdout)?.[1];
    if (!fpr)
      throw new UsageError(
        "E_GPG_KEY",
        `expected ${spec} to hold a secret key, found only public keys`,
        "export the secret key: gpg --armor --export-secret-keys KEYID",
      );
    return { home, fingerprint: fpr };
  } catch (err) {
    await dropGpgKey({ home, fingerprint: "" });
    throw err;
  }
}

/** The public key, armoured (yum's gpgkey=) or binary (apt's signed-by=), into `path`. */
export async function exportPublicKeyTo(key: GpgKey, path: string, armor: boolean, signal?: AbortSignal): Promise<void> {
  await run(gpgArgs(key.home, "--yes", ...(armor ? ["--armor"] : []), "--output", path, "--export", key.fingerprint), { signal });
}

/** A detached signature (armoured) or a clear-signed copy of `file`. */
export async function gpgSign(key: GpgKey, file: string, out: string, how: "detach" | "clear", signal?: AbortSignal): Promise<void> {
  const mode = how === "detach" ? ["--armor", "--detach-sign"] : ["--clearsign"];
  await run(gpgArgs(key.home, "--yes", "--digest-algo", "SHA256", "--local-user", key.fingerprint, ...mode, "--output", out, file), { signal });
}

export async function dropGpgKey(key: GpgKey): Promise<void> {
  await run({ file: "gpgconf", args: ["--homedir", key.home, "--kill", "all"] }, { reject: false }).catch(() => undefined);
  await rm(key.home, { recursive: true, force: true });
}
