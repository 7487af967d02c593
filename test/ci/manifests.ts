/**
 * The fleet manifests as data, and a container of theirs as the `docker run`
 * the kubelet would make of it: the container's command and args (with
 * `$(VAR)` expanded from its env), user, supplemental groups, dropped and
 * added capabilities, no-new-privileges, read-only root filesystem, memory
 * limit and read-only host mounts. Tests run the manifests as deployed with it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { REPO } from "../support/built-cli.js";

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
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
  volumes?: { name: string; hostPath?: { path: string }; configMap?: { name: string }; emptyDir?: object }[];
  tolerations?: { operator?: string; key?: string; effect?: string }[];
  securityContext?: { supplementalGroups?: number[]; runAsUser?: number; runAsGroup?: number };
  hostPID?: boolean;
  hostNetwork?: boolean;
}
interface Manifest {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
  data?: Record<string, string>;
}

export function manifests(file: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(join(REPO, file), "utf8"));
  for (const d of docs) if (d.errors.length) throw new Error(`${file}: ${d.errors.join("; ")}`);
  return docs.map((d) => d.toJS() as Manifest);
}

export function podOf(file: string): PodSpec {
  const ds = manifests(file).find((m) => m.kind === "DaemonSet");
  if (!ds?.spec) throw new Error(`no DaemonSet in ${file}`);
  return ds.spec.template.spec;
}

export const containersOf = (pod: PodSpec) => [...(pod.initContainers ?? []), ...pod.containers];

/** Kubernetes quantities as docker --memory: 256Mi -> 256m. */
function dockerMemory(q: string): string {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(q);
  if (!m) throw new Error(`memory limit ${q}: not a quantity this helper knows`);
  return `${m[1]}${{ Ki: "k", Mi: "m", Gi: "g" }[m[2] as "Mi"] ?? "b"}`;
}

interface PodRunOptions {
  /** Local folders standing in for the pod's hostPath volumes, by volume name. */
  hostPaths: Record<string, string>;
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
    const local = o.hostPaths[m.name];
    if (!local) throw new Error(`${c.name}: no local folder for hostPath volume ${m.name}`);
    args.push("--volume", `${local}:${m.mountPath}${m.readOnly ? ":ro" : ""}`);
  }
  // The kubelet expands $(VAR) in command and args from the container's env.
  const expand = (a: string) => a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);
  const argv = o.exec ? [o.exec.path, ...o.exec.args] : [...(c.command ?? []), ...(c.args ?? [])].map(expand);
  if (!argv.length) throw new Error(`${c.name}: no command`);
  args.push("--entrypoint", argv[0]!, c.image, ...argv.slice(1));
  return args;
}
