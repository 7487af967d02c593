import { describe, expect, it } from "vitest";
import { fixCommand, kubeletBuildCommand, runcBuildCommand } from "../../src/audit/fix.js";
import { assessBinary } from "../../src/node/binaries.js";
import { remedies } from "../../src/node/remedy.js";

describe("the one command that builds the fixed binary", () => {
  it.each([
    ["1.0.0-rc93", "kubelet-nokmem build runc --version 1.0.0-rc93 --source https://github.com/opencontainers/runc.git"],
    ["v1.0.0-rc5", "kubelet-nokmem build runc --version 1.0.0-rc5 --source https://github.com/opencontainers/runc.git"],
    ["1.0.0~rc93", "kubelet-nokmem build runc --version 1.0.0-rc93 --source https://github.com/opencontainers/runc.git"],
    ["1.0.0-rc93+dev", "kubelet-nokmem build runc --version 1.0.0-rc93 --source https://github.com/opencontainers/runc.git"],
    ["1.1.12", "kubelet-nokmem build runc --version 1.1.12 --source https://github.com/opencontainers/runc.git"],
    [null, "kubelet-nokmem build runc --version <X.Y.Z-rcN that runc --version prints> --source https://github.com/opencontainers/runc.git"],
  ])("runc %s: %s", (version, command) => {
    expect(runcBuildCommand(version)).toBe(command);
  });

  it.each([
    ["v1.16.15-dirty", "kubelet-nokmem build --version v1.16.15"],
    ["1.20.2", "kubelet-nokmem build --version v1.20.2"],
    [null, "kubelet-nokmem build --version <vX.Y.Z that kubelet --version prints>"],
  ])("kubelet %s: %s", (version, command) => {
    expect(kubeletBuildCommand(version)).toBe(command);
  });

  it("by program: kubelet, runc, nothing for other programs", () => {
    expect(fixCommand("runc", { kubernetes: null, runc: "1.0.0-rc4" })).toMatch(/^kubelet-nokmem build runc --version 1\.0\.0-rc4 /);
    expect(fixCommand("kubelet", { kubernetes: "v1.19.3", runc: null })).toBe("kubelet-nokmem build --version v1.19.3");
    expect(fixCommand("other", { kubernetes: null, runc: null })).toBeNull();
  });

  it("the doctor's remedy for an unpatched runc names the same command", () => {
    expect(remedies.nokmemRunc("/usr/bin/runc", "1.0.0-rc93")).toContain(
      "`kubelet-nokmem build runc --version 1.0.0-rc93 --source https://github.com/opencontainers/runc.git`",
    );
    expect(remedies.nokmemRunc("/usr/bin/runc", "1.0.0-rc93")).toContain("in place of /usr/bin/runc");
  });
});

describe("the doctor's runc-binary finding", () => {
  it("an unpatched runc on an affected node: critical, with the build command for its stamped version", () => {
    const f = assessBinary(
      {
        kind: "runc",
        path: "/usr/bin/runc",
        searched: [],
        error: null,
        audit: { verdict: "unpatched", runcVersion: "1.0.0-rc93", evidence: [{ id: "enabled-string:kmem-not-supported" }] },
      },
      "strong",
      false,
    );
    expect({ severity: f.severity, title: f.title }).toEqual({ severity: "critical", title: "runc 1.0.0-rc93 enables kmem accounting" });
    expect(f.remedy).toContain("`kubelet-nokmem build runc --version 1.0.0-rc93 --source https://github.com/opencontainers/runc.git`");
  });
});
