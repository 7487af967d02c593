/**
 * The keys of `--sign-key` / `--key`, and the name of a Statement's DSSE
 * envelope. Reading a build's Statements back is outdir.ts's (one check of
 * an output folder for verify, pin and audit). Light on imports: audit and
 * verify load it.
 */
import { describeReadFailure, readRegularText } from "../io/read.js";
import { signingKeyFromPem, verifyingKeyFromPem, type SigningKey, type VerifyingKey } from "./dsse.js";
import { UsageError } from "../errors.js";

const ENVELOPE_SUFFIX = ".dsse.json";
export const envelopeFile = (statementFile: string) => statementFile.replace(/\.json$/, ENVELOPE_SUFFIX);

/** A PEM key file is a few hundred bytes; docs/threat-model.md lists this limit. */
export const KEY_MAX_BYTES = 1024 * 1024;

// ── keys

/**
 * The text of a key argument. Empty, blank or an `env:` with no name or an
 * empty variable is a usage error, never "no key": in a pipeline
 * `--key "$PUB"` with PUB unset must not switch verification (or signing) off.
 */
/** The text of a key argument (a file, or env:VARNAME); empty, blank or unset is a usage error, never "no key". */
export async function readKeyText(flag: string, spec: string, what: string): Promise<{ text: string; where: string }> {
  if (spec.trim() === "")
    throw new UsageError(
      "E_KEY_EMPTY",
      `expected ${flag} to name a ${what} (a file, or env:VARNAME), found ${spec === "" ? "an empty value" : "only blanks"}`,
      `pass ${flag} FILE; in a pipeline, check the variable you pass is set`,
    );
  if (spec.startsWith("env:")) {
    const name = spec.slice(4);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new UsageError(
        "E_KEY_EMPTY",
        `expected ${flag} env:VARNAME to name an environment variable, found ${name === "" ? "no name" : "a name that is not one"} after env:`,
        `pass ${flag} env:KUBELET_NOKMEM_KEY (any variable name)`,
      );
    const text = process.env[name];
    if (text === undefined || text.trim() === "")
      throw new UsageError(
        "E_KEY_EMPTY",
        `expected the environment variable ${name} (${flag}) to hold a ${what}, found it ${text === undefined ? "unset" : "empty"}`,
        `export ${name}="$(cat KEY.pem)" (a CI secret), or pass a file path`,
      );
    return { text, where: `$${name}` };
  }
  try {
    return { text: await readRegularText(spec, { maxBytes: KEY_MAX_BYTES }), where: spec };
  } catch (err) {
    throw new UsageError(
      "E_KEY_READ",
      `expected a ${what} file at ${spec}, found ${describeReadFailure(err)}`,
      "pass a readable PEM file, or env:VARNAME for a key held in an environment variable",
    );
  }
}

/** `--sign-key`: a PEM file path, or `env:VARNAME`. */
export async function loadSigningKey(spec: string, flag = "--sign-key"): Promise<SigningKey> {
  const { text, where } = await readKeyText(flag, spec, "PEM private key");
  return signingKeyFromPem(text, where);
}

/** `--key`: a PEM public key file path, or `env:VARNAME`. */
export async function loadVerifyingKey(spec: string, flag = "--key"): Promise<VerifyingKey> {
  const { text, where } = await readKeyText(flag, spec, "PEM public key");
  return verifyingKeyFromPem(text, where);
}
