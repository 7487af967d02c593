/**
 * A small Kubernetes-shaped tree for the build pipeline's own tests, until the
 * shared generator (test/fixtures/k8s-tree.ts) is used instead. Written for
 * this project, modelled on the layout DOMAIN.md describes: GOPATH layout,
 * `make WHAT=cmd/kubelet`, hack/lib/version.sh honouring KUBE_GIT_VERSION_FILE,
 * GOCACHE forced to _output/local/go/cache, SOURCE_DATE_EPOCH → buildDate,
 * KUBE_BUILD_PLATFORMS, and a vendored runc cgroups/fs split into kmem.go
 * (`!nokmem`) and kmem_disabled.go (`nokmem`), as in runc rc7 … rc93.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export const RUNC_FS = "vendor/github.com/opencontainers/runc/libcontainer/cgroups/fs";

export interface MiniTreeOptions {
  version: string; // "1.20.15"
  /** A git repository with tag v<version> (default), or plain files. */
  git?: boolean;
  /** The build script drops GOFLAGS, as `make BUILDTAGS=nokmem` does upstream. */
  dropsTag?: boolean;
  /** make sleeps this many seconds before compiling (to interrupt it in tests). */
  sleepSeconds?: number;
  /** Fixed commit time (seconds). */
  commitTime?: number;
}

export interface MiniTree {
  root: string;
  version: string;
  commit: string | null;
  commitTime: number;
}

export const GIT_ENV = {
  GIT_AUTHOR_NAME: "Fixture",
  GIT_AUTHOR_EMAIL: "fixture@example.invalid",
  GIT_COMMITTER_NAME: "Fixture",
  GIT_COMMITTER_EMAIL: "fixture@example.invalid",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
};

export function git(cwd: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync("git", ["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", "-c", "init.defaultBranch=master", ...args], {
    cwd,
    env: { ...process.env, ...GIT_ENV, ...env },
    encoding: "utf8",
  }).trim();
}

function write(root: string, rel: string, text: string, mode = 0o644): void {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  chmodSync(p, mode);
}

export function makeMiniTree(root: string, opts: MiniTreeOptions): MiniTree {
  const commitTime = opts.commitTime ?? 1_600_000_000;
  mkdirSync(root, { recursive: true });
  write(root, "Makefile", `# make WHAT=cmd/kubelet
.PHONY: all
all:
\thack/make-rules/build.sh $(WHAT)
`);
  write(root, "build/build-image/cross/VERSION", "v1.15.5-1\n");
  write(root, "Godeps/Godeps.json", JSON.stringify({ ImportPath: "k8s.io/kubernetes", Deps: [{ ImportPath: "github.com/opencontainers/runc/libcontainer/cgroups/fs", Rev: "fixture" }] }, null, 2) + "\n");
  write(root, ".gitignore", "/_output\n");
  write(root, "hack/lib/version.sh", `#!/usr/bin/env bash
# Version variables: from KUBE_GIT_VERSION_FILE when set, else from git.
kube::version::get_version_vars() {
  if [[ -n \${KUBE_GIT_VERSION_FILE-} ]]; then
    source "\${KUBE_GIT_VERSION_FILE}"
    return
  fi
  KUBE_GIT_COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown)
  KUBE_GIT_VERSION=$(git describe --tags --abbrev=14 2>/dev/null || echo v0.0.0)
  if [[ -z \${KUBE_GIT_TREE_STATE-} ]]; then
    if git diff --quiet 2>/dev/null; then KUBE_GIT_TREE_STATE=clean; else KUBE_GIT_TREE_STATE=dirty; fi
  fi
  if [[ \${KUBE_GIT_TREE_STATE} == dirty ]]; then KUBE_GIT_VERSION+="-dirty"; fi
}
`, 0o755);
  const goflags = opts.dropsTag ? `# Like BUILDTAGS upstream: the tag never reaches go build.\nunset GOFLAGS` : `# GOFLAGS (e.g. -tags=nokmem) is read by go from the environment.`;
  write(root, "hack/make-rules/build.sh", `#!/usr/bin/env bash
set -euo pipefail
KUBE_ROOT=$(cd "$(dirname "\${BASH_SOURCE[0]}")/../.." && pwd -P)
source "\${KUBE_ROOT}/hack/lib/version.sh"
kube::version::get_version_vars
${opts.sleepSeconds ? `echo "preparing (sleeping ${opts.sleepSeconds}s)"\nsleep ${opts.sleepSeconds}` : ""}
export GOPATH="\${KUBE_ROOT}/_output/local/go"
# The build forces its cache inside the tree, whatever GOCACHE says.
export GOCACHE="\${KUBE_ROOT}/_output/local/go/cache"
export GO111MODULE=off
mkdir -p "\${GOPATH}/src/k8s.io" "\${GOCACHE}"
ln -sfn "\${KUBE_ROOT}" "\${GOPATH}/src/k8s.io/kubernetes"
${goflags}
build_date=$(date -u -d "@\${SOURCE_DATE_EPOCH:-0}" +%Y-%m-%dT%H:%M:%SZ)
pkg=k8s.io/kubernetes/pkg/version
ldflags="-X \${pkg}.gitVersion=\${KUBE_GIT_VERSION} -X \${pkg}.gitCommit=\${KUBE_GIT_COMMIT} -X \${pkg}.gitTreeState=\${KUBE_GIT_TREE_STATE} -X \${pkg}.buildDate=\${build_date}"
cd "\${GOPATH}/src/k8s.io/kubernetes"
for platform in \${KUBE_BUILD_PLATFORMS:-linux/amd64}; do
  echo "building \${1:-cmd/kubelet} for \${platform}"
  mkdir -p "_output/local/bin/\${platform}"
  GOOS=\${platform%/*} GOARCH=\${platform#*/} CGO_ENABLED=0 go build -o "_output/local/bin/\${platform}/kubelet" -ldflags "\${ldflags}" "k8s.io/kubernetes/\${1:-cmd/kubelet}"
done
`, 0o755);
  write(root, "pkg/version/version.go", `package version

// Set by -ldflags -X at build time.
var (
	gitVersion   = "v0.0.0-master+$Format:%h$"
	gitCommit    = ""
	gitTreeState = ""
	buildDate    = "1970-01-01T00:00:00Z"
)

// Get returns the version the binary was stamped with.
func Get() string { return gitVersion }

// Info is the full stamp.
func Info() string { return gitVersion + " " + gitCommit + " " + gitTreeState + " " + buildDate }
`);
  write(root, "cmd/kubelet/kubelet.go", `package main

import (
	"fmt"
	"os"

	"github.com/opencontainers/runc/libcontainer/cgroups/fs"
	"k8s.io/kubernetes/pkg/version"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		fmt.Printf("Kubernetes %s\\n", version.Get())
		return
	}
	if len(os.Args) > 2 && os.Args[1] == "kmem-probe" {
		// A limit only known at run time (0 here), so the compiler keeps the call.
		if err := (&fs.MemoryGroup{}).Set(os.Args[2], int64(len(os.Args)-3)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := fs.EnableKernelMemoryAccounting(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		// Judged by what was written, without naming the kmem file here: its
		// name in this binary would look like kmem-enabling code to an audit.
		if entries, _ := os.ReadDir(os.Args[2]); len(entries) > 0 {
			fmt.Println("kmem: enabled")
		} else {
			fmt.Println("kmem: disabled")
		}
		return
	}
	fmt.Println(version.Info())
}
`);
  write(root, `${RUNC_FS}/memory.go`, `// +build linux

package fs

// MemoryGroup is the memory cgroup controller.
type MemoryGroup struct{}

// Name of the controller.
func (s *MemoryGroup) Name() string { return "memory" }

// Set applies a kernel-memory limit when one is asked for, as runc's Set does.
func (s *MemoryGroup) Set(path string, kernelMemory int64) error {
	if kernelMemory != 0 {
		return setKernelMemory(path, kernelMemory)
	}
	return nil
}
`);
  write(root, `${RUNC_FS}/kmem.go`, `// +build linux,!nokmem

package fs

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

const cgroupKernelMemoryLimit = "memory.kmem.limit_in_bytes"

// EnableKernelMemoryAccounting turns kmem accounting on by writing 1, then -1.
func EnableKernelMemoryAccounting(path string) error {
	if err := setKernelMemory(path, 1); err != nil {
		return err
	}
	return setKernelMemory(path, -1)
}

func setKernelMemory(path string, kernelMemoryLimit int64) error {
	if path == "" {
		return fmt.Errorf("no such directory for %s", cgroupKernelMemoryLimit)
	}
	if err := os.WriteFile(filepath.Join(path, cgroupKernelMemoryLimit), []byte(strconv.FormatInt(kernelMemoryLimit, 10)), 0o644); err != nil {
		return fmt.Errorf("kernel memory accounting not supported by this kernel: %v", err)
	}
	return nil
}
`);
  write(root, `${RUNC_FS}/kmem_disabled.go`, `// +build linux,nokmem

package fs

import "errors"

// EnableKernelMemoryAccounting does nothing in a nokmem build.
func EnableKernelMemoryAccounting(path string) error {
	return nil
}

func setKernelMemory(path string, kernelMemoryLimit int64) error {
	return errors.New("kernel memory accounting disabled in this runc build")
}
`);
  // Some bulk under vendor/ so hard-link staging has something to link.
  for (let i = 0; i < 20; i++) write(root, `vendor/example.com/bulk/file${i}.txt`, `bulk ${i}\n`.repeat(50));

  let commit: string | null = null;
  if (opts.git !== false) {
    const date = `${commitTime} +0000`;
    git(root, ["init", "-q"]);
    git(root, ["add", "-A"]);
    git(root, ["commit", "-q", "-m", `Release v${opts.version}`], { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date });
    git(root, ["tag", "-a", `v${opts.version}`, "-m", `Kubernetes v${opts.version}`], { GIT_COMMITTER_DATE: date });
    commit = git(root, ["rev-parse", "HEAD"]);
  }
  return { root, version: opts.version, commit, commitTime };
}

/** `git archive` tarball with a top folder, as the shared generator's makeTarball does. */
export function makeGitArchive(tree: MiniTree, file: string): string {
  git(tree.root, ["archive", "--format=tar.gz", `--prefix=kubernetes-${tree.version}/`, "-o", file, `v${tree.version}`]);
  return file;
}
