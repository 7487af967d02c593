import { describe, expect, it } from "vitest";
import { decodeInlineStrings, ldflagsStamps, parseBuildInfoHeader, parseModinfo, unframeModinfo, uvarint } from "../../src/audit/buildinfo.js";
import { inlineBuildInfo, uvarintBytes } from "./elf-builder.js";

/** What Go 1.19 records for a GOPATH-mode kubelet build with -tags and -ldflags -X. */
const MODINFO = [
  "path\tk8s.io/kubernetes/cmd/kubelet",
  "build\t-compiler=gc",
  `build\t-ldflags="-X 'k8s.io/kubernetes/vendor/k8s.io/component-base/version.gitVersion=v1.20.2' -X k8s.io/kubernetes/vendor/k8s.io/component-base/version.gitTreeState=clean"`,
  "build\t-tags=selinux,nokmem",
  "build\tCGO_ENABLED=1",
  "build\tGOARCH=amd64",
  "build\tGOOS=linux",
  "",
].join("\n");

describe("Go build info", () => {
  it("reads the inline (Go 1.18+) format: version, path, settings and tags", () => {
    const blob = inlineBuildInfo("go1.19.8", MODINFO);
    expect(parseBuildInfoHeader(blob)).toEqual({ format: "inline", ptrSize: 8, bigEndian: false });
    const s = decodeInlineStrings(blob)!;
    const info = parseModinfo(s.version, unframeModinfo(s.modinfo), "inline");
    expect(info.goVersion).toBe("go1.19.8");
    expect(info.path).toBe("k8s.io/kubernetes/cmd/kubelet");
    expect(info.tags).toEqual(["selinux", "nokmem"]);
    expect(info.settings).toContainEqual(["CGO_ENABLED", "1"]);
  });

  it("returns null for a blob cut short, so the caller reads more", () => {
    const blob = inlineBuildInfo("go1.19.8", MODINFO);
    expect(decodeInlineStrings(blob.subarray(0, blob.length - 1))).toBeNull();
  });

  it("reads the pointer (Go 1.13–1.17) header's two addresses", () => {
    const head = Buffer.alloc(32);
    head.write("\xff Go buildinf:", 0, "latin1");
    head[14] = 8;
    head[15] = 0;
    head.writeBigUInt64LE(0x4a0000n, 16);
    head.writeBigUInt64LE(0x4a0010n, 24);
    expect(parseBuildInfoHeader(head)).toEqual({ format: "pointer", ptrSize: 8, bigEndian: false, versionAddr: 0x4a0000, modinfoAddr: 0x4a0010 });
  });

  it.each([
    ["no magic", Buffer.alloc(32)],
    ["too short", Buffer.from("\xff Go buildinf:", "latin1")],
    ["bad pointer size", Buffer.concat([Buffer.from("\xff Go buildinf:", "latin1"), Buffer.from([3, 2]), Buffer.alloc(16)])],
  ])("rejects a header with %s", (_what, bytes) => {
    expect(parseBuildInfoHeader(bytes)).toBeNull();
  });

  it("decodes multi-byte varints", () => {
    for (const n of [0, 1, 127, 128, 300, 16384, 2 ** 31 + 5]) expect(uvarint(uvarintBytes(n), 0)).toEqual({ value: n, next: uvarintBytes(n).length });
    expect(uvarint(Buffer.from([0x80, 0x80]), 0)).toBeNull();
  });

  it("unframes modinfo on bytes, even when the sentinels are not UTF-8", () => {
    const s = decodeInlineStrings(inlineBuildInfo("go1.19", "path\tx\n"))!;
    expect(unframeModinfo(s.modinfo)).toBe("path\tx\n");
  });

  it("reads -X stamps from a recorded -ldflags, quoted or not", () => {
    const info = parseModinfo("go1.19", MODINFO, "inline");
    const ldflags = info.settings.find(([k]) => k === "-ldflags")![1];
    const x = ldflagsStamps(ldflags);
    expect(x.get("k8s.io/kubernetes/vendor/k8s.io/component-base/version.gitVersion")).toBe("v1.20.2");
    expect(x.get("k8s.io/kubernetes/vendor/k8s.io/component-base/version.gitTreeState")).toBe("clean");
    expect(ldflagsStamps("-s -w -X=main.version=1.0.0-rc93").get("main.version")).toBe("1.0.0-rc93");
  });
});
