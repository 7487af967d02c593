/** The pure parts of the Statement writer: URIs as the in-toto spec recommends them. */
import { PackageURL } from "packageurl-js";
import { describe, expect, it } from "vitest";
import { imagePurl, sourceUri } from "../../src/artifact/manifest.js";

const C = "c".repeat(40);

describe("sourceUri", () => {
  it.each([
    ["git", "https://github.com/kubernetes/kubernetes.git", C, `git+https://github.com/kubernetes/kubernetes.git@${C}`],
    ["git", "git+https://example.com/k.git", C, `git+https://example.com/k.git@${C}`],
    ["git", "ssh://git@example.com/k.git", null, "git+ssh://git@example.com/k.git"],
    ["git", "git@github.com:kubernetes/kubernetes.git", C, `git+ssh://git@github.com/kubernetes/kubernetes.git@${C}`],
    ["git", "/srv/src/kubernetes", C, `git+file:///srv/src/kubernetes@${C}`],
    ["directory", "/srv/src/k 1.20", null, "file:///srv/src/k%201.20"],
    ["archive", "/srv/kubernetes-src.tar.gz", C, "file:///srv/kubernetes-src.tar.gz"],
  ])("%s %s → %s", (kind, origin, commit, uri) => {
    expect(sourceUri(kind, origin, commit)).toBe(uri);
    expect(() => new URL(uri)).not.toThrow();
  });
});

describe("imagePurl", () => {
  it.each([
    ["kubelet-nokmem-toolchain:go1.19", "pkg:docker/kubelet-nokmem-toolchain@go1.19"],
    ["registry.k8s.io/build-image/kube-cross:v1.15.5-1", "pkg:docker/build-image/kube-cross@v1.15.5-1?repository_url=registry.k8s.io"],
    ["localhost:5000/tools/go:1.19", "pkg:docker/tools/go@1.19?repository_url=localhost%3A5000"],
    [`golang@sha256:${"a".repeat(64)}`, `pkg:docker/golang@sha256:${"a".repeat(64)}`],
    ["library/golang", "pkg:docker/library/golang@latest"],
  ])("%s → %s", (ref, purl) => {
    expect(imagePurl(ref)).toBe(purl);
  });

  it.each([
    "kubelet-nokmem-toolchain:go1.19",
    "registry.k8s.io/build-image/kube-cross:v1.15.5-1",
    "k8s.gcr.io/build-image/kube-cross:v1.13.15-1",
    "localhost:5000/tools/go:1.19",
    "reg.example.com:443/a/b/c/d:tag_with.dots-and_underscores",
    `quay.io/org/img@sha256:${"0123456789abcdef".repeat(4)}`,
    `golang@sha256:${"a".repeat(64)}`,
    "library/golang",
    "golang",
    "my-registry.local/ns/sub.ns/img_name:1.2.3-rc.1",
    "localhost/img:latest",
  ])("%s: the same purl packageurl-js writes", (ref) => {
    const at = ref.indexOf("@");
    const [rest, version] =
      at >= 0
        ? [ref.slice(0, at), ref.slice(at + 1)]
        : ref.lastIndexOf(":") > ref.lastIndexOf("/")
          ? [ref.slice(0, ref.lastIndexOf(":")), ref.slice(ref.lastIndexOf(":") + 1)]
          : [ref, "latest"];
    const parts = rest.split("/");
    const registry = parts.length > 1 && /[.:]|^localhost$/.test(parts[0]!) ? parts.shift()! : undefined;
    const name = parts.pop()!;
    const expected = new PackageURL(
      "docker",
      parts.length ? parts.join("/") : undefined,
      name,
      version,
      registry ? { repository_url: registry } : undefined,
    ).toString();
    expect(imagePurl(ref)).toBe(expected);
  });
});
