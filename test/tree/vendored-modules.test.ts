/** The vendored-module readers, one per format; runc-version.ts reads runc from them. */
import { describe, expect, it } from "vitest";
import { modulesFromGodeps, modulesFromModulesTxt, repositoryRoot } from "../../src/tree/vendored-modules.js";
import { runcFromGodeps, runcFromModulesTxt } from "../../src/tree/runc-version.js";

describe("vendor/modules.txt", () => {
  const text = [
    "# github.com/docker/go-units v0.4.0",
    "## explicit",
    "github.com/docker/go-units",
    "# github.com/opencontainers/runc v1.0.0-rc92",
    "## explicit; go 1.17",
    "# github.com/opencontainers/runc => github.com/opencontainers/runc v1.0.0-rc92",
    "github.com/opencontainers/runc/libcontainer/cgroups/fs",
    "# k8s.io/api v0.0.0 => ./staging/src/k8s.io/api",
    "k8s.io/api/core/v1",
    "# k8s.io/api => ./staging/src/k8s.io/api",
    "# github.com/x/y v1.0.0 => github.com/fork/y v1.0.1",
    "github.com/x/y/z",
    "# github.com/never/vendored => github.com/never/vendored v0.1.0",
    "# k8s.io/sample-controller => ./staging/src/k8s.io/sample-controller",
    "",
  ].join("\n");

  it("lists every versioned module line with its replacement, packages and ## explicit; replace-only lines are not modules", () => {
    expect(modulesFromModulesTxt(text)).toEqual([
      { path: "github.com/docker/go-units", version: "v0.4.0", explicit: true, packages: ["github.com/docker/go-units"] },
      { path: "github.com/opencontainers/runc", version: "v1.0.0-rc92", explicit: true, packages: ["github.com/opencontainers/runc/libcontainer/cgroups/fs"] },
      { path: "k8s.io/api", version: "v0.0.0", replacement: { path: "./staging/src/k8s.io/api", version: null }, packages: ["k8s.io/api/core/v1"] },
      { path: "github.com/x/y", version: "v1.0.0", replacement: { path: "github.com/fork/y", version: "v1.0.1" }, packages: ["github.com/x/y/z"] },
    ]);
    expect(runcFromModulesTxt(text)).toEqual({ version: "v1.0.0-rc92", notes: [] });
  });
});

describe("Godeps/Godeps.json", () => {
  const text = JSON.stringify({
    ImportPath: "k8s.io/kubernetes",
    Deps: [
      { ImportPath: "github.com/opencontainers/runc/libcontainer/cgroups", Comment: "v1.0.0-rc4", Rev: "2e7cfe0" },
      { ImportPath: "github.com/opencontainers/runc/libcontainer/cgroups/fs", Comment: "v1.0.0-rc4", Rev: "2e7cfe0" },
      { ImportPath: "gopkg.in/yaml.v2", Rev: "53feefa" },
      { ImportPath: "golang.org/x/sys/unix", Rev: "95c6576" },
    ],
  });

  it("groups packages by repository, the Comment as version over the Rev", () => {
    expect(modulesFromGodeps(text)).toEqual([
      {
        path: "github.com/opencontainers/runc",
        version: "v1.0.0-rc4",
        rev: "2e7cfe0",
        packages: ["github.com/opencontainers/runc/libcontainer/cgroups", "github.com/opencontainers/runc/libcontainer/cgroups/fs"],
      },
      { path: "gopkg.in/yaml.v2", version: "53feefa", rev: "53feefa", packages: ["gopkg.in/yaml.v2"] },
      { path: "golang.org/x/sys", version: "95c6576", rev: "95c6576", packages: ["golang.org/x/sys/unix"] },
    ]);
    expect(runcFromGodeps(text)).toEqual({ version: "v1.0.0-rc4", notes: [] });
  });

  it.each([
    ["not JSON", "{", null],
    ["no Deps", "{}", null],
  ])("%s → null", (_n, t, out) => {
    expect(modulesFromGodeps(t)).toBe(out);
  });

  it.each([
    ["github.com/opencontainers/runc/libcontainer/cgroups/fs", "github.com/opencontainers/runc"],
    ["golang.org/x/net/http2", "golang.org/x/net"],
    ["k8s.io/apimachinery/pkg/util", "k8s.io/apimachinery"],
    ["gopkg.in/yaml.v2", "gopkg.in/yaml.v2"],
    ["google.golang.org/grpc/codes", "google.golang.org/grpc"],
  ])("repositoryRoot(%s) = %s", (p, root) => {
    expect(repositoryRoot(p)).toBe(root);
  });
});
