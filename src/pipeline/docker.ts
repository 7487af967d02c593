/**
 * Docker, through src/process/exec.ts only. Command lines are built by pure
 * functions (dockerRunArgs …) that tests compare; the rest runs them and turns
 * the client's failures into errors a person can act on.
 */
import { EnvironmentError, ToolError, UsageError } from "../errors.js";
import { ExecError, run, type RunOptions } from "../process/exec.js";
import type { BuildPlan } from "./plan.js";

export const DOCKER = "docker";
/** Image label `image build` writes, so `image check` can tell the Go version without a container. */
export const GO_VERSION_LABEL = "io.github.kubelet-nokmem.go-version";

export interface ImageInfo {
  ref: string;
  id: string;
  created: string;
  /** "1.19.8", or null if the image does not say. */
  go: string | null;
  env: string[];
  labels: Record<string, string>;
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
export async function docker(args: string[], opts: RunOptions = {}) {
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

// Docker's reference grammar (distribution/reference): [host[:port]/]path[:tag][@digest],
// path components lowercase; or an image id. Nothing that starts with "-". As
// in Docker, a first component is a registry host only with a "." or a port, or
// when it is "localhost"; otherwise it is part of the (lowercase) path.
const LABEL = String.raw`[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?`;
const HOST = String.raw`(?:(?:localhost|${LABEL}(?:\.${LABEL})+)(?::[0-9]+)?/|${LABEL}:[0-9]+/)`;
const COMPONENT = String.raw`[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`;
const IMAGE_REFERENCE = new RegExp(String.raw`^${HOST}?${COMPONENT}(?:/${COMPONENT})*(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$`);
const IMAGE_ID = /^(?:sha256:)?[0-9a-f]{12,64}$/;

/**
 * An image reference as Docker reads one, checked before it goes on a
 * command line: a name starting with `-` would be read as an option.
 */
export function checkImageReference(ref: string, flag = "--image"): string {
  if (ref.length > 255 + 128 + 72 || !(IMAGE_REFERENCE.test(ref) || IMAGE_ID.test(ref))) {
    throw new UsageError("E_IMAGE_REF", `expected ${flag} to be an image reference such as registry.k8s.io/build-image/kube-cross:v1.13.15-1, found ${JSON.stringify(ref)}`, `pass a valid image name (lowercase, no leading "-")`);
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
  const data = JSON.parse(json) as { Id: string; Created?: string; Config?: { Env?: string[] | null; Labels?: Record<string, string> | null } };
  const env = data.Config?.Env ?? [];
  const labels = data.Config?.Labels ?? {};
  return { ref, id: data.Id, created: data.Created ?? "", go: goVersionFromImage(env, labels), env, labels };
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

/** The image, or an error saying how to get it. Fills in the Go version by asking the image when no label says. */
export async function requireImage(ref: string, signal?: AbortSignal): Promise<ImageInfo> {
  const img = await findImage(ref, signal);
  if (!img) throw imageMissing(ref);
  if (!img.go) {
    const r = await docker(["run", "--rm", "--network", "none", "--entrypoint", "go", img.id, "version"], { signal, reject: false });
    img.go = r.exitCode === 0 ? parseGoVersion(r.stdout) : null;
  }
  return img;
}

/** `docker run` for a plan. Pure: the plan in, the argument vector out (without the leading `docker`). */
export function dockerRunArgs(plan: BuildPlan): string[] {
  if (plan.runner !== "docker" || !plan.containerName || !plan.user) {
    throw new Error(`dockerRunArgs needs a docker plan, got runner ${plan.runner}`);
  }
  const args = ["run", "--rm", "--name", plan.containerName, "--network", "none", "--user", `${plan.user.uid}:${plan.user.gid}`];
  for (const m of plan.mounts) args.push("-v", `${m.source}:${m.target}`);
  args.push("-w", plan.workdir);
  for (const [k, v] of plan.env) args.push("-e", `${k}=${v}`);
  // By id when known: a tag moved between inspect and run must not change what builds.
  args.push(plan.image.id ?? plan.image.ref, ...plan.command);
  return args;
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
