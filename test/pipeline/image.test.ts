import { describe, expect, it } from "vitest";
import { debootstrapArgs, defaultTag, importArgs, rootfsTarArgs, validateImageOptions } from "../../src/pipeline/image.js";

const o = { tag: "kubelet-nokmem-toolchain:go1.19", suite: "bookworm", mirror: "http://deb.debian.org/debian", go: "1.19", keepRootfs: false };

describe("image build commands", () => {
  it("debootstraps minbase with Go and the build tools", () => {
    expect(debootstrapArgs(o, "/tmp/r")).toEqual([
      "--variant=minbase",
      "--include=golang-1.19-go,make,gcc,libc6-dev,git,rsync,ca-certificates",
      "bookworm",
      "/tmp/r",
      "http://deb.debian.org/debian",
    ]);
  });
  it("imports the tar stream with Go on PATH and the Go version as a label", () => {
    expect(rootfsTarArgs("/tmp/r")).toEqual(["--numeric-owner", "-C", "/tmp/r", "-c", "."]);
    const args = importArgs(o, "1.19.8");
    expect(args.slice(0, 5)).toEqual([
      "import",
      "-c",
      "ENV PATH=/usr/lib/go-1.19/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "-c",
      "LABEL io.github.kubelet-nokmem.go-version=1.19.8",
    ]);
    expect(args.slice(-2)).toEqual(["-", "kubelet-nokmem-toolchain:go1.19"]);
  });
  it("defaults the tag from the Go version", () => expect(defaultTag("1.19")).toBe("kubelet-nokmem-toolchain:go1.19"));
  it.each([
    [{ go: "1.19.8" }, /--go/],
    [{ tag: "Bad Tag" }, /--tag/],
    [{ suite: "bookworm; rm -rf" }, /--suite/],
  ])("rejects %j", (patch, re) => expect(() => validateImageOptions({ ...o, ...patch })).toThrow(re));
});
