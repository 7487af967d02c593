/** The pure parts of the Statement writer: URIs as the in-toto spec recommends them. */
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
});
