/**
 * deploy/kustomize: every overlay renders with `kubectl kustomize`, every
 * rendered object validates offline against the Kubernetes API schemas of
 * its apiVersion (the kubernetes-models package: JSON schemas compiled from
 * the Kubernetes OpenAPI documents, policy/v1beta1 PodSecurityPolicy kept;
 * PrometheusRule from its prometheus-operator sibling), and the bundle keeps
 * its promises: each container mounts only the host paths it reads,
 * read-only without propagation; one Namespace object; one place for the
 * image and the textfile folder; NPD's metrics on the pod IP behind a Service.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { toolTag } from "../../src/pipeline/tool-image.js";
import { REPO } from "../support/built-cli.js";
import { CHECK_DAEMONSET, containersOf, NPD_DAEMONSET, OVERLAYS, podOf, rendered, type Manifest } from "./manifests.js";

const BUNDLES = [...OVERLAYS, "deploy/kustomize/monitoring"] as const;
const version = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string }).version;

/** The schema module of each apiVersion the bundle uses (a new one fails the render test until it is listed). */
const SCHEMAS: Record<string, () => Promise<unknown>> = {
  v1: () => import("kubernetes-models/v1"),
  "apps/v1": () => import("kubernetes-models/apps/v1"),
  "rbac.authorization.k8s.io/v1": () => import("kubernetes-models/rbac.authorization.k8s.io/v1"),
  "policy/v1beta1": () => import("kubernetes-models/policy/v1beta1"),
  "monitoring.coreos.com/v1": () => import("@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1"),
};

async function modelOf(m: Manifest): Promise<{ validate(): void } | null> {
  const load = SCHEMAS[m.apiVersion];
  if (!load) return null;
  const Model = ((await load()) as Record<string, new (data: unknown) => { validate(): void }>)[m.kind];
  return Model ? new Model(m) : null;
}

/** What each container reads of the host, and nothing more (doctor: kernel, cgroups, boot config, logs, binaries; audit: binaries). */
const READS: Record<string, string[]> = {
  doctor: ["/proc/cmdline", "/proc/cgroups", "/proc/meminfo", "/proc/sys/kernel/osrelease", "/sys/fs/cgroup", "/boot", "/var/log", "/usr", "/opt"],
  audit: ["/usr", "/opt"],
  "node-problem-detector": ["/proc/cmdline", "/proc/cgroups", "/proc/meminfo", "/proc/sys/kernel/osrelease", "/sys/fs/cgroup", "/boot", "/var/log", "/usr", "/opt"],
};
const TEXTFILE_VOLUME = "textfile";

function hostMounts(name: string, overlay: string) {
  const pod = podOf(name, overlay);
  return containersOf(pod).flatMap((c) =>
    (c.volumeMounts ?? []).flatMap((m) => {
      const v = pod.volumes?.find((x) => x.name === m.name);
      return v?.hostPath ? [{ container: c.name, mount: m, hostPath: v.hostPath.path }] : [];
    }),
  );
}

describe.each(BUNDLES)("%s", (dir) => {
  it("renders with kubectl kustomize, and every object validates against its API schema", async () => {
    const objects = rendered(dir);
    expect(objects.length).toBeGreaterThan(0);
    for (const m of objects) {
      const model = await modelOf(m);
      expect(model, `${m.apiVersion} ${m.kind}: a schema exists`).not.toBeNull();
      expect(() => model!.validate(), `${m.kind}/${m.metadata.name}`).not.toThrow();
    }
  });
});

describe("the schema check can fail", () => {
  it("a mount with readOnly as a string and a PSP without its runAsUser rule are refused", async () => {
    const ds = structuredClone(rendered(OVERLAYS[0]).find((m) => m.kind === "DaemonSet")!);
    (ds.spec!.template.spec.initContainers![0]!.volumeMounts![0] as { readOnly: unknown }).readOnly = "true";
    await expect(modelOf(ds).then((m) => m!.validate())).rejects.toThrow(/readOnly must be boolean/);
    const psp = structuredClone(rendered(OVERLAYS[0]).find((m) => m.kind === "PodSecurityPolicy")!) as Manifest & { spec: Record<string, unknown> };
    delete psp.spec.runAsUser;
    await expect(modelOf(psp).then((m) => m!.validate())).rejects.toThrow(/runAsUser/);
  });
});

describe.each(OVERLAYS)("%s: host mounts", (overlay) => {
  it.each([CHECK_DAEMONSET, NPD_DAEMONSET])("%s: each container mounts exactly the host paths it reads, read-only, propagation None; never /", (name) => {
    const mounts = hostMounts(name, overlay);
    for (const c of containersOf(podOf(name, overlay)).filter((x) => READS[x.name])) {
      const own = mounts.filter((m) => m.container === c.name && m.mount.name !== TEXTFILE_VOLUME);
      expect(own.map((m) => m.hostPath).sort(), c.name).toEqual([...READS[c.name]!].sort());
      for (const { mount, hostPath } of own) {
        expect(mount, `${c.name} ${hostPath}`).toMatchObject({ readOnly: true, mountPropagation: "None", mountPath: `/host${hostPath}` });
      }
    }
    expect(mounts.map((m) => m.hostPath)).not.toContain("/");
  });

  it("the only writable host mount is NPD's textfile folder, without propagation", () => {
    const writable = [CHECK_DAEMONSET, NPD_DAEMONSET].flatMap((n) => hostMounts(n, overlay)).filter((m) => !m.mount.readOnly);
    expect(writable.map((m) => [m.container, m.mount.name, m.mount.mountPath, m.mount.mountPropagation])).toEqual([["node-problem-detector", TEXTFILE_VOLUME, "/textfile", "None"]]);
  });

  it("one Namespace object, and every namespaced object in it", () => {
    const objects = rendered(overlay);
    expect(objects.filter((m) => m.kind === "Namespace").map((m) => m.metadata.name)).toEqual(["kubelet-nokmem"]);
    for (const m of objects.filter((x) => ["DaemonSet", "ServiceAccount", "ConfigMap", "Service", "RoleBinding"].includes(x.kind))) expect(m.metadata.namespace, `${m.kind}/${m.metadata.name}`).toBe("kubelet-nokmem");
  });

  it("every kubelet-nokmem image is the one the images: entry names, kubelet-nokmem:<package.json version>", () => {
    const images = [CHECK_DAEMONSET, NPD_DAEMONSET].flatMap((n) => containersOf(podOf(n, overlay))).map((c) => c.image).filter((i) => i.startsWith("kubelet-nokmem"));
    expect(images).toHaveLength(3);
    for (const i of images) expect(i).toBe(toolTag(version));
  });

  it("NPD's metrics listen on the pod IP, and a Service selects the NPD pods on that port", () => {
    const npd = podOf(NPD_DAEMONSET, overlay).containers.find((c) => c.name === "node-problem-detector")! as { command: string[]; ports?: { name: string; containerPort: number }[] };
    expect(npd.command).toContain("--prometheus-address=0.0.0.0");
    const port = Number(npd.command.find((a) => a.startsWith("--prometheus-port="))!.split("=")[1]);
    expect(npd.ports).toContainEqual(expect.objectContaining({ name: "metrics", containerPort: port }));
    const svc = rendered(overlay).find((m) => m.kind === "Service")! as Manifest & { spec: { selector: Record<string, string>; ports: { targetPort: string; port: number }[] } };
    const ds = rendered(overlay).find((m) => m.kind === "DaemonSet" && m.metadata.name === NPD_DAEMONSET)!;
    expect(ds.spec!.template.metadata.labels).toMatchObject(svc.spec.selector);
    expect(svc.spec.ports).toContainEqual(expect.objectContaining({ targetPort: "metrics", port }));
    expect(svc.metadata.annotations).toMatchObject({ "prometheus.io/scrape": "true", "prometheus.io/port": String(port) });
  });
});

describe("deploy/kustomize/overlays/legacy: PodSecurityPolicy and RBAC", () => {
  const objects = () => rendered(OVERLAYS[0]);
  it("the policy allows exactly the bundle's host paths, read-only where the mounts are, and no privilege", () => {
    const psp = objects().find((m) => m.kind === "PodSecurityPolicy")! as Manifest & { spec: { allowedHostPaths: { pathPrefix: string; readOnly: boolean }[]; privileged: boolean; requiredDropCapabilities: string[] } };
    const mounts = [CHECK_DAEMONSET, NPD_DAEMONSET].flatMap((n) => hostMounts(n, OVERLAYS[0]));
    const wanted = new Map(mounts.map((m) => [m.hostPath, Boolean(m.mount.readOnly)]));
    expect(new Map(psp.spec.allowedHostPaths.map((p) => [p.pathPrefix, p.readOnly]))).toEqual(wanted);
    expect(psp.spec.privileged).toBe(false);
    expect(psp.spec.requiredDropCapabilities).toEqual(["ALL"]);
  });

  it("a RoleBinding in the namespace lets both DaemonSets' service accounts use it", () => {
    const role = objects().find((m) => m.kind === "ClusterRole")! as Manifest & { rules: { resources: string[]; resourceNames: string[]; verbs: string[] }[] };
    expect(role.rules).toEqual([expect.objectContaining({ resources: ["podsecuritypolicies"], resourceNames: ["kubelet-nokmem"], verbs: ["use"] })]);
    const rb = objects().find((m) => m.kind === "RoleBinding")! as Manifest & { subjects: { name: string }[]; roleRef: { name: string } };
    expect(rb.roleRef.name).toBe(role.metadata.name);
    const accounts = [CHECK_DAEMONSET, NPD_DAEMONSET].map((n) => (podOf(n, OVERLAYS[0]) as { serviceAccountName?: string }).serviceAccountName);
    expect(rb.subjects.map((s) => s.name).sort()).toEqual(accounts.sort());
  });
});

describe("deploy/kustomize/overlays/current: Pod Security Admission", () => {
  it("labels the namespace privileged (hostPath is outside baseline), warning and auditing at baseline", () => {
    const ns = rendered(OVERLAYS[1]).find((m) => m.kind === "Namespace")!;
    expect(ns.metadata.labels).toMatchObject({ "pod-security.kubernetes.io/enforce": "privileged", "pod-security.kubernetes.io/warn": "baseline" });
    expect(rendered(OVERLAYS[1]).some((m) => m.kind === "PodSecurityPolicy")).toBe(false);
  });

  it("makes every read-only host mount recursive where it can (1.30+), and legacy none", () => {
    for (const n of [CHECK_DAEMONSET, NPD_DAEMONSET]) {
      for (const m of hostMounts(n, OVERLAYS[1]).filter((x) => x.mount.readOnly)) expect(m.mount.recursiveReadOnly, `${n} ${m.hostPath}`).toBe("IfPossible");
      for (const m of hostMounts(n, OVERLAYS[0])) expect(m.mount.recursiveReadOnly).toBeUndefined();
    }
  });
});

describe("one place each", () => {
  const base = join(REPO, "deploy/kustomize/base");
  const files = readdirSync(base).filter((f) => f.endsWith(".yaml"));
  it("the textfile folder is named only in textfile-folder.yaml", () => {
    const path = (parse(readFileSync(join(base, "textfile-folder.yaml"), "utf8")) as { spec: { template: { spec: { volumes: { hostPath: { path: string } }[] } } } }).spec.template.spec.volumes[0]!.hostPath.path;
    expect(files.filter((f) => readFileSync(join(base, f), "utf8").includes(path))).toEqual(["textfile-folder.yaml"]);
  });
  it("the image's tag is only in kustomization.yaml's images:", () => {
    expect(files.filter((f) => readFileSync(join(base, f), "utf8").includes(`kubelet-nokmem:${version}`))).toEqual([]);
    expect(readFileSync(join(base, "kustomization.yaml"), "utf8")).toMatch(new RegExp(`newTag: ${version.replace(/\./g, "\\.")}`));
  });
});
