/**
 * Docker, through src/process/exec.ts only. Command lines are built by pure
 * functions (dockerRunArgs …) that tests compare; the rest runs them and turns
 * the client's failures into errors a person can act on.
 */
import { IMAGE_REFERENCE_EXAMPLE, IMAGE_REFERENCE_MAX_LENGTH, isImageReference, quoteReference } from "../catalog/image-ref.js";
import { EnvironmentError, ToolError, UsageError } from "../errors.js";
import { ExecError, run, type RunOptions } from "../process/exec.js";
import { isPending, type Later, type MakeInvocation } from "./make-invocation.js";

export const DOCKER = "docker";
/** Image label `image build` writes, so `image check` can tell the Go version without a container. */
export const GO_VERSION_LABEL = "io.github.kubelet-nokmem.go-version";

interface ImageInfo {
  ref: string;
  id: string;
  created: string;
  /** "1.19.8", or null if the image does not say. */
  go: string | null;
  env: string[];
  labels: Record<string, string>;
  /** `repo@sha256:…` for each registry the image was pulled from or pushed to. */
  repoDigests: string[];
}

const INSTALL_HINT = "install Docker (Debian/Ubuntu: `apt-get install docker.io`), or use --runner local with Go on PATH";

/**
 * Classify what the docker client printed when it failed. Pure, so the
 * messages can be tested against the client's real wording.
 */
export function classifyDockerFailure(stderr: string): ToolError | null {
  const s = stderr.toLowerCase();
  if (s.includes("permission denied") && (s.includes("docker.sock") || s.includes("docker daemon socket"))) {
    return new EnvironmentError(
      "E_DOCKER_PERMISSION",
      "expected access to the Docker daemon socket, found permission denied",
      "add yourself to the docker group (`sudo usermod -aG docker $USER`, then log in again) or run as root",
    );
  }
  if (s.includes("cannot connect to the docker daemon") || s.includes("is the docker daemon running") || s.includes("error during connect")) {
    const at = /at (\S+?)\.? is the docker daemon running/i.exec(stderr)?.[1];
    return new EnvironmentError(
      "E_DOCKER_DAEMON",
      `expected a running Docker daemon${at ? ` at ${at}` : ""}, found none answering`,
      "start it (`sudo systemctl start docker`, or `dockerd &`), or point DOCKER_HOST at a running one",
    );
  }
  return null;
}

function asDockerError(err: unknown): unknown {
  if (err instanceof EnvironmentError && err.code === "E_PROGRAM_MISSING") {
    return new EnvironmentError("E_DOCKER_MISSING", "expected the `docker` client on PATH, found nothing", INSTALL_HINT);
  }
  if (err instanceof ExecError) return classifyDockerFailure(err.stderrTail) ?? err;
  return err;
}

/** Run a docker command; client and daemon problems become EnvironmentErrors. */
async function docker(args: string[], opts: RunOptions = {}) {
  try {
    return await run({ file: DOCKER, args }, opts);
  } catch (err) {
    throw asDockerError(err);
  }
}

/** Fail early and clearly when Docker cannot be used. Returns the server version. */
export async function dockerPreflight(signal?: AbortSignal): Promise<string> {
  const r = await docker(["version", "--format", "{{.Server.Version}}"], { signal, reject: false, timeoutMs: 60_000 });
  if (r.exitCode !== 0) {
    throw (
      classifyDockerFailure(`${r.stderr}\n${r.stdout}`) ??
      new EnvironmentError("E_DOCKER", `expected \`docker version\` to succeed, found exit code ${r.exitCode}: ${lastLine(r.stderr)}`, "check `docker info`")
    );
  }
  return r.stdout.trim();
}

export function imageMissing(ref: string): EnvironmentError {
  return new EnvironmentError(
    "E_IMAGE_MISSING",
    `expected the build image ${ref} on this machine, found no such image`,
    `build it offline with \`kubelet-nokmem image build --tag ${ref}\`, or \`docker pull ${ref}\`, or pass --image`,
  );
}

/**
 * An image reference as Docker reads one, checked before it goes on a
 * command line: a name starting with `-` would be read as an option.
 */
export function checkImageReference(ref: string, flag = "--image"): string {
  if (!isImageReference(ref)) {
    throw new UsageError(
      "E_IMAGE_REF",
      `expected ${flag} to be an image reference such as ${IMAGE_REFERENCE_EXAMPLE}, found ${quoteReference(ref)}`,
      `pass a valid image name (lowercase repository, no leading "-", no spaces, at most ${IMAGE_REFERENCE_MAX_LENGTH} characters)`,
    );
  }
  return ref;
}

/** Inspect a local image; null when it does not exist. Never pulls. */
export async function findImage(ref: string, signal?: AbortSignal): Promise<ImageInfo | null> {
  checkImageReference(ref);
  // "--": whatever the reference, it is never an option.
  const r = await docker(["image", "inspect", "--format", "{{json .}}", "--", ref], { signal, reject: false });
  if (r.exitCode !== 0) {
    const classified = classifyDockerFailure(r.stderr);
    if (classified) throw classified;
    if (/no such image/i.test(r.stderr)) return null;
    throw new EnvironmentError("E_DOCKER", `expected \`docker image inspect ${ref}\` to succeed, found: ${lastLine(r.stderr)}`, "check `docker info`");
  }
  return parseImageInspect(ref, r.stdout);
}

export function parseImageInspect(ref: string, json: string): ImageInfo {
  const data = JSON.parse(json) as {
    Id: string;
    Created?: string;
    RepoDigests?: string[] | null;
    Config?: { Env?: string[] | null; Labels?: Record<string, string> | null };
  };
  const env = data.Config?.Env ?? [];
  const labels = data.Config?.Labels ?? {};
  return { ref, id: data.Id, created: data.Created ?? "", go: goVersionFromImage(env, labels), env, labels, repoDigests: data.RepoDigests ?? [] };
}

/** From our label, or the GOLANG_VERSION env of golang-based images (kube-cross). */
export function goVersionFromImage(env: string[], labels: Record<string, string>): string | null {
  const label = labels[GO_VERSION_LABEL];
  if (label) return label.replace(/^go/, "");
  const golang = env.find((e) => e.startsWith("GOLANG_VERSION="));
  return golang ? golang.slice("GOLANG_VERSION=".length).replace(/^go/, "") : null;
}

/** Parse `go version` output: "go version go1.19.8 linux/amd64" → "1.19.8". */
export function parseGoVersion(text: string): string | null {
  return /go version go(\d+\.\d+(?:\.\d+)?\S*)/.exec(text)?.[1] ?? null;
}

/** The image's Go version: from its label or env, else by running `go version` in it (offline). */
export async function imageGoVersion(img: ImageInfo, signal?: AbortSignal): Promise<string | null> {
  if (img.go) return img.go;
  const r = await docker(["run", "--rm", "--network", "none", "--entrypoint", "go", img.id, "version"], { signal, reject: false });
  return r.exitCode === 0 ? parseGoVersion(r.stdout) : null;
}

/** `docker run` for a bound make step. Pure: the plan in, the argument vector out (without the leading `docker`). */
export function dockerRunArgs(plan: MakeInvocation): string[] {
  if (plan.runner !== "docker" || !plan.containerName || !plan.user) {
    throw new Error(`dockerRunArgs needs a docker plan, got runner ${plan.runner}`);
  }
  const args = ["run", "--rm", "--name", bound(plan.containerName), "--network", "none", "--user", `${plan.user.uid}:${plan.user.gid}`];
  for (const m of plan.mounts) args.push("-v", `${bound(m.source)}:${m.target}`);
  args.push("-w", bound(plan.workdir));
  for (const [k, v] of plan.env) args.push("-e", `${k}=${bound(v)}`);
  args.push(runImage(bound(plan.image.ref), bound(plan.image.id)), ...plan.command);
  return args;
}

/**
 * What `docker run` is given: the digest reference when the image has one, else
 * the image id, so a tag moved since the image was resolved cannot change what builds.
 */
export function runImage(ref: string, id: string | null): string {
  return ref.includes("@sha256:") ? ref : (id ?? ref);
}

function bound<T>(v: Later<T>): T {
  if (isPending(v)) throw new Error(`internal: docker arguments need the fact ${v.pending}, which is still pending`);
  return v;
}

/** The repository part of an image reference: `reg:5000/a/b:tag` → `reg:5000/a/b`. */
function repositoryOf(ref: string): string {
  const noDigest = ref.replace(/@sha256:[0-9a-f]+$/, "");
  const slash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/** The image's registry digest for the repository it was asked for by (`repo@sha256:…`), or null (a local-only image). */
export function digestRefFor(info: Pick<ImageInfo, "repoDigests">, ref: string): string | null {
  if (/@sha256:[0-9a-f]{64}$/.test(ref)) return ref;
  const repo = repositoryOf(ref);
  return info.repoDigests.find((d) => repositoryOf(d) === repo) ?? null;
}

export type PullPolicy = "missing" | "always" | "never";
export const PULL_POLICIES: readonly PullPolicy[] = ["missing", "always", "never"];

/**
 * The image per the pull policy: `missing` pulls only when absent, `always`
 * pulls first (a digest reference is never pulled twice), `never` only looks.
 * Pulls go through the Docker engine; `onLine` gets its progress.
 */
export async function ensureImage(
  ref: string,
  policy: PullPolicy,
  opts: { signal?: AbortSignal; onLine?: (l: string) => void } = {},
): Promise<{ info: ImageInfo; pulled: boolean }> {
  let info = policy === "always" && !ref.includes("@sha256:") ? null : await findImage(ref, opts.signal);
  let pulled = false;
  if (!info) {
    if (policy === "never") {
      throw new EnvironmentError(
        "E_IMAGE_MISSING",
        `expected the build image ${ref} on this machine, found no such image, and --pull never forbids pulling it`,
        `build it offline with \`kubelet-nokmem image build --tag ${ref}\`, or pass --image with an image this machine has, or allow pulling with --pull missing`,
      );
    }
    await pullImage(ref, opts);
    pulled = true;
    info = await findImage(ref, opts.signal);
    if (!info) throw imageMissing(ref);
  }
  return { info, pulled };
}

/** `docker pull REF`; a failure says what was expected and how else to get the image. */
async function pullImage(ref: string, opts: { signal?: AbortSignal; onLine?: (l: string) => void } = {}): Promise<void> {
  const r = await docker(["pull", ref], { signal: opts.signal, reject: false, onLine: opts.onLine });
  if (r.exitCode === 0) return;
  if (opts.signal?.aborted) return;
  const why = lastLine(r.stderr || r.stdout);
  throw new EnvironmentError(
    "E_IMAGE_MISSING",
    `expected the build image ${ref} on this machine, found no such image`,
    `build it offline with \`kubelet-nokmem image build --tag ${ref}\`, or \`docker pull ${ref}\` from a registry this machine can reach (the pull said: ${why}), or pass --image`,
  );
}

/** The one-off container that hands a fresh, root-owned cache volume to the build user. */
export function chownVolumeArgs(volume: string, image: string, uid: number, gid: number): string[] {
  return ["run", "--rm", "--network", "none", "--user", "0:0", "-v", `${volume}:/c`, "--entrypoint", "chown", image, `${uid}:${gid}`, "/c"];
}

/**
 * Make sure the Go cache volume exists and the build user can write it.
 * Docker creates volumes owned by root; a build running as the caller's uid
 * would fail to write its cache, so a new volume is chowned once.
 */
export async function ensureCacheVolume(name: string, image: string, uid: number, gid: number, signal?: AbortSignal): Promise<"created" | "reused"> {
  const r = await docker(["volume", "inspect", name], { signal, reject: false });
  if (r.exitCode === 0) return "reused";
  await docker(["volume", "create", "--label", "io.github.kubelet-nokmem.role=gocache", name], { signal });
  await docker(chownVolumeArgs(name, image, uid, gid), { signal });
  return "created";
}

/** Stop and remove a named container; quiet when it is already gone. */
export async function removeContainer(name: string): Promise<void> {
  await docker(["rm", "-f", name], { reject: false, timeoutMs: 60_000 }).catch(() => undefined);
}

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1) ?? "";
}
