/**
 * The fleet bundle (deploy/kustomize, rendered) must not rot: the host
 * mounted read-only, and every kubelet-nokmem command and flag it calls
 * present in the built CLI. test/ci/bundle.test.ts checks the rest of the bundle.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { NPD_MESSAGE_MAX } from "../../src/commands/doctor.js";
import { TOOL_BIN, toolTag } from "../../src/pipeline/tool-image.js";
import { cli, ensureBuilt, REPO } from "../support/built-cli.js";
import { CHECK_DAEMONSET, containersOf, DEFAULT_OVERLAY, NPD_DAEMONSET, podOf, rendered, type PodSpec } from "./manifests.js";

const BIN = Object.keys(JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).bin)[0]!;
const npd = JSON.parse(readFileSync(join(REPO, "deploy/kustomize/base/npd-plugin.json"), "utf8"));

function daemonSet() {
  const ds = rendered(DEFAULT_OVERLAY).find((d) => d.kind === "DaemonSet" && d.metadata.name === CHECK_DAEMONSET);
  if (!ds?.spec) throw new Error(`no DaemonSet ${CHECK_DAEMONSET}`);
  return ds as typeof ds & { spec: NonNullable<typeof ds.spec> };
}
const pod = (): PodSpec => podOf(CHECK_DAEMONSET);
const allContainers = () => containersOf(pod());

/** `kubelet-nokmem <sub> ...` invocations, as argument arrays after the binary name. */
function invocations(): { where: string; argv: string[] }[] {
  const out = allContainers()
    .map((c) => ({ where: `container ${c.name}`, argv: [...(c.command ?? []), ...(c.args ?? [])] }))
    .filter((i) => i.argv[0] === BIN)
    .map((i) => ({ where: i.where, argv: i.argv.slice(1) }));
  for (const r of npd.rules) out.push({ where: `npd rule ${r.reason}`, argv: r.args });
  return out;
}

const helpCache = new Map<string, string>();
/** A subcommand's --help, or null when the CLI has no such subcommand. */
async function helpOf(sub: string): Promise<string | null> {
  if (!helpCache.has("")) helpCache.set("", (await cli(["--help"])).stdout);
  const listed = helpCache.get("")!.split(/^Commands:$/m)[1] ?? "";
  if (!new RegExp(`^  ${sub}\\b`, "m").test(listed)) return null;
  if (!helpCache.has(sub)) {
    const r = await cli([sub, "--help"]);
    helpCache.set(sub, r.exitCode === 0 ? r.stdout : "");
  }
  return helpCache.get(sub) || null;
}

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

describe("the check DaemonSet", () => {
  it("mounts every hostPath read-only, in every container, and asks for no privilege", () => {
    const hostVolumes = (pod().volumes ?? []).filter((v) => v.hostPath).map((v) => v.name);
    expect(hostVolumes.length).toBeGreaterThan(0);
    let mounts = 0;
    for (const c of allContainers()) {
      for (const m of c.volumeMounts ?? []) {
        if (!hostVolumes.includes(m.name)) continue;
        mounts++;
        expect(m.readOnly, `${c.name} mounts ${m.name} at ${m.mountPath}`).toBe(true);
      }
      expect(c.securityContext?.privileged ?? false, c.name).toBe(false);
      expect(c.securityContext?.allowPrivilegeEscalation, c.name).toBe(false);
      expect(c.securityContext?.readOnlyRootFilesystem, c.name).toBe(true);
    }
    expect(mounts).toBeGreaterThanOrEqual(9);
    expect(pod().hostPID ?? false).toBe(false);
    expect(pod().hostNetwork ?? false).toBe(false);
  });

  it("tolerates every taint so it reaches every node, and its selector matches its pods", () => {
    expect(pod().tolerations).toContainEqual({ operator: "Exists" });
    const ds = daemonSet();
    for (const [k, v] of Object.entries(ds.spec.selector.matchLabels)) expect(ds.spec.template.metadata.labels[k]).toBe(v);
  });

  it("runs doctor against the host mount, with JSON to the log", () => {
    const doctor = invocations().find((i) => i.argv[0] === "doctor" && i.where.startsWith("container"));
    expect(doctor?.argv).toEqual(expect.arrayContaining(["--root", "/host", "--json"]));
    const c = allContainers().find((x) => x.name === "doctor")!;
    expect(c.volumeMounts).toContainEqual({ name: "host-proc-cgroups", mountPath: "/host/proc/cgroups", readOnly: true, mountPropagation: "None" });
    // The node's name comes from the downward API (doctor and audit read NODE_NAME).
    expect(c.env).toContainEqual({ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } });
  });

  it("runs audit on the host's kubelet folders, as the node's paths under the host mount", () => {
    const audit = invocations().find((i) => i.argv[0] === "audit");
    expect(audit?.argv).toEqual(expect.arrayContaining(["--json", "--root", "/host", "/usr/bin", "/usr/bin/runc", "/usr/sbin/runc"]));
    const c = allContainers().find((x) => x.name === "audit")!;
    expect(c.env?.map((e) => e.name)).toContain("NODE_NAME");
  });
});

describe("the fleet bundle names the image `image build --tool` makes of this version", () => {
  const version = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).version as string;
  const npdPod = () => podOf(NPD_DAEMONSET);

  it.each([CHECK_DAEMONSET, NPD_DAEMONSET])("%s: every kubelet-nokmem image is kubelet-nokmem:<package.json version>", (file) => {
    const images = containersOf(podOf(file)).map((c) => c.image).filter((i) => i.startsWith("kubelet-nokmem"));
    expect(images.length).toBeGreaterThan(0);
    for (const i of images) expect(i).toBe(toolTag(version));
  });

  it("the NPD DaemonSet carries npd-plugin.json unchanged, and its rules run the bin where the image installs it", () => {
    const cm = rendered(DEFAULT_OVERLAY).find((m) => m.kind === "ConfigMap")!;
    const [key, text] = Object.entries(cm.data ?? {})[0]!;
    expect(JSON.parse(text)).toEqual(npd);
    const nd = npdPod().containers.find((c) => c.image === toolTag(version))!;
    expect(nd.command).toContain(`--config.custom-plugin-monitor=/config/${key}`);
    expect(nd.volumeMounts).toContainEqual({ name: "config", mountPath: "/config", readOnly: true });
    // The generated ConfigMap's hashed name is the one the pod mounts.
    expect(npdPod().volumes).toContainEqual({ name: "config", configMap: { name: cm.metadata.name } });
    for (const r of npd.rules) expect(r.path).toBe(TOOL_BIN);
  });

  it("both run as root without capabilities, in group adm for syslog:adm kernel logs, host read-only", () => {
    for (const file of [CHECK_DAEMONSET, NPD_DAEMONSET]) {
      const p = podOf(file);
      expect(p.securityContext?.supplementalGroups, file).toEqual([4]);
      for (const c of containersOf(p).filter((x) => x.image === toolTag(version))) {
        expect(c.securityContext, `${file} ${c.name}`).toMatchObject({ runAsUser: 0, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
        for (const m of c.volumeMounts ?? []) if (m.name.startsWith("host-")) expect(m.readOnly).toBe(true);
      }
    }
  });
});

describe("deploy/kustomize/base/npd-plugin.json follows node-problem-detector's custom plugin config", () => {
  const duration = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
  const seconds = (d: string) => {
    let s = 0;
    for (const [, n, , u] of d.matchAll(/(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) s += Number(n) * { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 }[u as "s"];
    return s;
  };

  it("is a custom plugin whose durations parse and whose rule timeouts fit the global one", () => {
    expect(npd.plugin).toBe("custom");
    expect(npd.pluginConfig.invoke_interval).toMatch(duration);
    expect(npd.pluginConfig.timeout).toMatch(duration);
    for (const r of npd.rules) {
      expect(r.timeout).toMatch(duration);
      expect(seconds(r.timeout)).toBeLessThanOrEqual(seconds(npd.pluginConfig.timeout));
    }
  });

  it("gives every permanent rule a default condition, and runs doctor --npd", () => {
    const types = npd.conditions.map((c: { type: string }) => c.type);
    for (const r of npd.rules) {
      if (r.type === "permanent") expect(types).toContain(r.condition);
      expect(r.path.split("/").at(-1)).toBe(BIN);
      expect(r.args.slice(0, 2)).toEqual(["doctor", "--npd"]);
      // The metrics for node-exporter go where the NPD container mounts the host's textfile folder.
      expect(r.args).toEqual(expect.arrayContaining(["--textfile", "/textfile"]));
    }
  });

  it("keeps the whole message: doctor's line fits max_output_length", () => {
    expect(npd.pluginConfig.max_output_length).toBeGreaterThanOrEqual(NPD_MESSAGE_MAX);
  });

  it("lets the condition's message follow the node from at-risk into leaking", () => {
    // Both exit 1 under one rule, so one reason: without message-change updates
    // NPD would keep the at-risk message while the node leaks.
    const permanent = npd.rules.filter((r: { type: string }) => r.type === "permanent");
    const reasons = new Set(permanent.map((r: { reason: string }) => r.reason));
    if (reasons.size < 2) expect(npd.pluginConfig.enable_message_change_based_condition_update).toBe(true);
  });
});

describe("every command and flag the manifests call exists in the CLI", () => {
  for (const { where, argv } of invocations()) {
    it(`${where}: ${BIN} ${argv.join(" ")}`, async () => {
      const [sub, ...rest] = argv;
      const help = await helpOf(sub!);
      expect(help, `\`${BIN} ${sub} --help\``).not.toBeNull();
      const known = new Set([...help!.matchAll(/^\s+(?:-\w, )?(--[a-z][\w-]*)/gm)].map((m) => m[1]));
      for (const flag of rest.filter((a) => a.startsWith("--"))) expect(known, `${sub} ${flag}`).toContain(flag);
    });
  }
});
