/**
 * The fleet bundle as data (an overlay of deploy/kustomize rendered by
 * `kubectl kustomize`), and a container of it as the `docker run` the kubelet
 * would make of it: the container's command and args (with `$(VAR)` expanded
 * from its env), user, supplemental groups, dropped and added capabilities,
 * no-new-privileges, read-only root filesystem, memory limit and host mounts
 * (read-only ones `:ro`). Tests run the bundle as deployed with it.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { REPO } from "../support/built-cli.js";

export const OVERLAYS = ["deploy/kustomize/overlays/legacy", "deploy/kustomize/overlays/current"] as const;
/** The overlay tests run as deployed (the pods are the same in both but for recursiveReadOnly). */
export const DEFAULT_OVERLAY = "deploy/kustomize/overlays/legacy";

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; mountPropagation?: string; recursiveReadOnly?: string }[];
  securityContext?: {
    runAsUser?: number;
    runAsGroup?: number;
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
  resources?: { limits?: { memory?: string } };
}
export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; hostPath?: { path: string; type?: string }; configMap?: { name: string }; emptyDir?: object }[];
  tolerations?: { operator?: string; key?: string; effect?: string }[];
  securityContext?: { supplementalGroups?: number[]; runAsUser?: number; runAsGroup?: number };
  hostPID?: boolean;
  hostNetwork?: boolean;
}
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
  data?: Record<string, string>;
}

const renderCache = new Map<string, Manifest[]>();

/** `kubectl kustomize DIR`, parsed; throws with kubectl's message when it fails. */
export function rendered(dir: string): Manifest[] {
  const cached = renderCache.get(dir);
  if (cached) return cached;
  const r = spawnSync("kubectl", ["kustomize", join(REPO, dir)], { encoding: "utf8", timeout: 60_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed (${r.status}): ${r.stderr}`);
  const docs = parseAllDocuments(r.stdout);
  for (const d of docs) if (d.errors.length) throw new Error(`${dir}: ${d.errors.join("; ")}`);
  const out = docs.map((d) => d.toJS() as Manifest).filter(Boolean);
  renderCache.set(dir, out);
  return out;
}

/** The pod of a DaemonSet of the rendered overlay. */
export function podOf(name: string, overlay: string = DEFAULT_OVERLAY): PodSpec {
  const ds = rendered(overlay).find((m) => m.kind === "DaemonSet" && m.metadata.name === name);
  if (!ds?.spec) throw new Error(`no DaemonSet ${name} in ${overlay}`);
  return ds.spec.template.spec;
}

export const CHECK_DAEMONSET = "kubelet-nokmem-check";
export const NPD_DAEMONSET = "kubelet-nokmem-npd";

export const containersOf = (pod: PodSpec) => [...(pod.initContainers ?? []), ...pod.containers];

/** Kubernetes quantities as docker --memory: 256Mi -> 256m. */
function dockerMemory(q: string): string {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(q);
  if (!m) throw new Error(`memory limit ${q}: not a quantity this helper knows`);
  return `${m[1]}${{ Ki: "k", Mi: "m", Gi: "g" }[m[2] as "Mi"] ?? "b"}`;
}

interface PodRunOptions {
  /** A local folder standing in for the node's /: each hostPath volume is that path under it. */
  nodeRoot: string;
  /** Local folders for writable hostPath volumes, by volume name (instead of the path under nodeRoot). */
  writable?: Record<string, string>;
  /** Values of env entries whose value comes from the API (fieldRef …). */
  env?: Record<string, string>;
  /** Run this program with these arguments instead of the container's command (an NPD rule's path and args). */
  exec?: { path: string; args: string[] };
  name: string;
}

/** `docker run` arguments for one container of a pod, security settings and mounts as the manifest says. */
export function podRunArgs(pod: PodSpec, c: Container, o: PodRunOptions): string[] {
  const sc = c.securityContext ?? {};
  if (sc.privileged) throw new Error(`${c.name} is privileged: not run by this helper`);
  const args = ["run", "--rm", "--network", "none", "--name", o.name];
  const user = sc.runAsUser ?? pod.securityContext?.runAsUser;
  const group = sc.runAsGroup ?? pod.securityContext?.runAsGroup;
  if (user !== undefined) args.push("--user", group !== undefined ? `${user}:${group}` : String(user));
  for (const g of pod.securityContext?.supplementalGroups ?? []) args.push("--group-add", String(g));
  for (const cap of sc.capabilities?.drop ?? []) args.push("--cap-drop", cap);
  for (const cap of sc.capabilities?.add ?? []) args.push("--cap-add", cap);
  if (sc.allowPrivilegeEscalation === false) args.push("--security-opt", "no-new-privileges");
  if (sc.readOnlyRootFilesystem) args.push("--read-only");
  if (c.resources?.limits?.memory) args.push("--memory", dockerMemory(c.resources.limits.memory));
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const value = e.value ?? o.env?.[e.name];
    if (value === undefined) throw new Error(`${c.name}: no value for env ${e.name}`);
    env[e.name] = value;
    args.push("--env", `${e.name}=${value}`);
  }
  for (const m of c.volumeMounts ?? []) {
    const v = pod.volumes?.find((x) => x.name === m.name);
    if (!v?.hostPath) continue; // configMap / emptyDir: not part of what is under test
    const local = m.readOnly ? join(o.nodeRoot, v.hostPath.path) : o.writable?.[m.name];
    if (!local) throw new Error(`${c.name}: no local folder for the writable hostPath volume ${m.name}`);
    args.push("--volume", `${local}:${m.mountPath}${m.readOnly ? ":ro" : ""}`);
  }
  // The kubelet expands $(VAR) in command and args from the container's env.
  const expand = (a: string) => a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);
  const argv = o.exec ? [o.exec.path, ...o.exec.args] : [...(c.command ?? []), ...(c.args ?? [])].map(expand);
  if (!argv.length) throw new Error(`${c.name}: no command`);
  args.push("--entrypoint", argv[0]!, c.image, ...argv.slice(1));
  return args;
}
