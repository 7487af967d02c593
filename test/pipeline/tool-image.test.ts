import { describe, expect, it } from "vitest";
import { main } from "../../src/cli.js";
import { minbaseArgs, rootfsCacheFile } from "../../src/pipeline/image.js";
import {
  dpkgVersion,
  packArgs,
  TOOL_BIN,
  toolImportArgs,
  toolInstallArgs,
  toolRootfsSpec,
  toolTag,
  validateToolImageOptions,
} from "../../src/pipeline/tool-image.js";

const spec = toolRootfsSpec({ suite: "trixie", mirror: "http://deb.debian.org/debian" });

describe("the tool image's commands", () => {
  it("debootstraps trixie minbase with Debian's nodejs", () => {
    expect(minbaseArgs(spec, "/w/rootfs")).toEqual(["--variant=minbase", "--include=nodejs", "trixie", "/w/rootfs", "http://deb.debian.org/debian"]);
  });

  it("packs without running prepack again, and installs globally into the root's /usr/local, runtime dependencies only", () => {
    expect(packArgs("/w")).toEqual(["pack", "--ignore-scripts", "--json", "--pack-destination", "/w"]);
    const args = toolInstallArgs("/w/rootfs", "/w/kubelet-nokmem-0.1.0.tgz");
    expect(args.slice(0, 4)).toEqual(["install", "--global", "--prefix", "/w/rootfs/usr/local"]);
    expect(args).toContain("--omit=dev");
    expect(args.at(-1)).toBe("/w/kubelet-nokmem-0.1.0.tgz");
  });

  it("imports with the bin as entry point and the versions as labels", () => {
    const args = toolImportArgs("kubelet-nokmem:0.1.0", "0.1.0", "20.19.2+dfsg-1", "trixie");
    expect(args).toContain(`ENTRYPOINT ["${TOOL_BIN}"]`);
    expect(TOOL_BIN).toBe("/usr/local/bin/kubelet-nokmem");
    expect(args).toContain("LABEL io.github.kubelet-nokmem.version=0.1.0");
    expect(args).toContain("LABEL io.github.kubelet-nokmem.node-version=20.19.2+dfsg-1");
    expect(args.slice(-2)).toEqual(["-", "kubelet-nokmem:0.1.0"]);
    expect(toolImportArgs("t:1", "1", null, "trixie").some((a) => a.includes("node-version"))).toBe(false);
  });

  it("names the image after the package version", () => expect(toolTag("0.1.0")).toBe("kubelet-nokmem:0.1.0"));

  it.each([
    [{ tag: "Bad Tag" }, /--tag/],
    [{ suite: "trixie; rm" }, /--suite/],
  ])("rejects %j", (patch, re) => expect(() => validateToolImageOptions({ suite: "trixie", mirror: "m", ...patch })).toThrow(re));
});

describe("the rootfs cache", () => {
  it("is keyed by everything that goes into the root", () => {
    const a = rootfsCacheFile("/c", spec);
    expect(a).toMatch(/^\/c\/rootfs-trixie-[0-9a-f]{16}\.tar$/);
    expect(rootfsCacheFile("/c", { ...spec, include: ["nodejs"] })).toBe(a);
    expect(rootfsCacheFile("/c", { ...spec, include: ["nodejs", "curl"] })).not.toBe(a);
    expect(rootfsCacheFile("/c", { ...spec, mirror: "http://mirror.example/debian" })).not.toBe(a);
    expect(rootfsCacheFile("/c", { ...spec, suite: "bookworm" })).not.toBe(a);
  });
});

describe("dpkgVersion", () => {
  const status = [
    "Package: libnode115\nStatus: install ok installed\nVersion: 20.19.2+dfsg-1\n",
    "Package: nodejs\nStatus: install ok installed\nArchitecture: amd64\nVersion: 20.19.2+dfsg-1+deb13u3\nDepends: libnode115\n",
    "Package: nodejs-doc\nVersion: 1.0\n",
  ].join("\n");
  it.each([
    ["nodejs", "20.19.2+dfsg-1+deb13u3"],
    ["libnode115", "20.19.2+dfsg-1"],
    ["node", null],
  ])("%s -> %s", (pkg, version) => expect(dpkgVersion(status, pkg)).toBe(version));
});

describe("image build flags", () => {
  const run = async (...argv: string[]) => {
    const err: string[] = [];
    const code = await main(argv, { out: () => undefined, err: (t) => err.push(t), progress: () => undefined, isTTY: false });
    return { code, stderr: err.join("\n") };
  };
  it.each([
    [["image", "build", "--tarball", "x.tgz"], /--tarball and --rootfs-cache only with --tool/],
    [["image", "build", "--rootfs-cache", "/c"], /found --rootfs-cache without it/],
    [["image", "build", "--tool", "--keep-rootfs"], /--keep-rootfs only without --tool/],
  ])("%j is a usage error before anything runs", async (argv, message) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
