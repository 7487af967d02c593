/**
 * The alert rules: promtool accepts them, their unit tests
 * (rules.promtool.yaml: a leaking node, a healthy one, a node whose check
 * stops, one without the check) pass, and the PrometheusRule carries the
 * same groups as the plain rules file.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { run } from "../../src/process/exec.js";
import { REPO } from "../support/built-cli.js";

const RULES = join(REPO, "deploy/prometheus/kubelet-nokmem.rules.yaml");
const UNIT = join(REPO, "test/metrics/rules.promtool.yaml");

describe("deploy/prometheus/kubelet-nokmem.rules.yaml", () => {
  it("promtool check rules accepts it", async () => {
    const r = await run({ file: "promtool", args: ["check", "rules", RULES] }, { reject: false });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: 8 rules found/);
  });

  it("promtool test rules: each alert fires on the leaking node's series and resolves after the reboot or the next report", async () => {
    const r = await run({ file: "promtool", args: ["test", "rules", UNIT] }, { reject: false });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  });

  it("the unit tests can fail: with the id threshold moved above the leaking node, its alert is missing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kubelet-nokmem-rules-"));
    try {
      const rules = (await readFile(RULES, "utf8")).replace("kubelet_nokmem_node_info > 0.8", "kubelet_nokmem_node_info > 0.9");
      await writeFile(join(dir, "kubelet-nokmem.rules.yaml"), rules);
      const unit = (await readFile(UNIT, "utf8")).replace("../../deploy/prometheus/kubelet-nokmem.rules.yaml", "kubelet-nokmem.rules.yaml");
      await writeFile(join(dir, "unit.yaml"), unit);
      const r = await run({ file: "promtool", args: ["test", "rules", join(dir, "unit.yaml")] }, { reject: false });
      expect(r.exitCode).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/alertname: KubeletNokmemCgroupIdsNearLimit, time: 2h/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("every alert says what to do, with a command, and every alert has a unit test that fires it", async () => {
    const groups = (parse(await readFile(RULES, "utf8")) as { groups: { rules: { alert?: string; annotations?: Record<string, string> }[] }[] }).groups;
    const alerts = groups.flatMap((g) => g.rules).filter((r) => r.alert);
    expect(alerts.length).toBe(6);
    const unit = await readFile(UNIT, "utf8");
    for (const a of alerts) {
      expect(a.annotations?.action, a.alert).toMatch(/`(kubelet-nokmem|kubectl) [^`]+`/);
      expect(unit, a.alert).toMatch(new RegExp(`alertname: ${a.alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`));
    }
  });

  it("the PrometheusRule in deploy/kustomize/monitoring has the same groups", async () => {
    const plain = parse(await readFile(RULES, "utf8")) as unknown;
    const cr = parse(await readFile(join(REPO, "deploy/kustomize/monitoring/prometheus-rule.yaml"), "utf8")) as { kind: string; spec: unknown };
    expect(cr.kind).toBe("PrometheusRule");
    expect(cr.spec).toEqual(plain);
    // And promtool reads the object's groups as a rules file.
    const dir = await mkdtemp(join(tmpdir(), "kubelet-nokmem-rules-"));
    try {
      await writeFile(join(dir, "cr.rules.yaml"), JSON.stringify(cr.spec));
      const r = await run({ file: "promtool", args: ["check", "rules", join(dir, "cr.rules.yaml")] }, { reject: false });
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
