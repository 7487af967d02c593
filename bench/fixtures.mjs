/**
 * The bench's inputs, made once and kept in a cache folder between runs
 * (KUBELET_NOKMEM_BENCH_DIR, default $TMPDIR/kubelet-nokmem-bench):
 *
 * - a 105 MB kubelet-shaped ELF: a Go 1.19 program carrying the marker
 *   strings of a normal (kmem-enabling) kubelet build, padded with the bytes
 *   of the Go toolchain's own binaries; the padding lies outside every ELF
 *   section, so the audit searches all of it (the search's worst case);
 * - a folder of 6 binaries, 50 MB each (300 MB), each a different prefix
 *   of that padding behind the same program;
 * - a node root with 20,000 pod memory cgroups (each with its container's
 *   cgroup and the control files) and a 300 MB kernel log, on a CentOS 7
 *   kernel that leaks.
 */
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const GO = "/usr/lib/go-1.19/bin/go";
export const BENCH_DIR = process.env.KUBELET_NOKMEM_BENCH_DIR ?? join(tmpdir(), "kubelet-nokmem-bench");
const KUBELET_SIZE = 105 * 1000 * 1000;
const FOLDER_BINARIES = 6;
const FOLDER_BINARY_SIZE = 50 * 1000 * 1000;
export const POD_CGROUPS = 20_000;
const KERNEL_LOG_SIZE = 300 * 1000 * 1000;

/** Make `path` with `make(tmp)` unless it is there; a half-made one is never left behind. */
function once(path, make) {
  if (existsSync(path)) return path;
  const tmp = `${path}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  make(tmp);
  renameSync(tmp, path);
  return path;
}

function goProgram(out, dir) {
  const gopath = join(dir, "gopath");
  const fs = join(gopath, "src/k8s.io/kubernetes/vendor/github.com/opencontainers/runc/libcontainer/cgroups/fs");
  const main = join(gopath, "src/k8s.io/kubernetes/cmd/kubelet");
  mkdirSync(fs, { recursive: true });
  mkdirSync(main, { recursive: true });
  writeFileSync(
    join(fs, "kmem.go"),
    `// +build linux,!nokmem

package fs

import (
	"errors"
	"fmt"
	"io/ioutil"
	"path/filepath"
	"syscall"
)

func EnableKernelMemoryAccounting(path string) error {
	if err := ioutil.WriteFile(filepath.Join(path, "memory.kmem.limit_in_bytes"), []byte("1"), 0o644); err != nil {
		if errors.Is(err, syscall.EBUSY) {
			return fmt.Errorf("failed to set %s, because either tasks have already joined this cgroup or it has children", "memory.kmem.limit_in_bytes")
		}
		return errors.New("kernel memory accounting not supported by this kernel")
	}
	return nil
}
`,
  );
  writeFileSync(
    join(main, "kubelet.go"),
    `package main

import (
	"fmt"
	"os"

	"github.com/opencontainers/runc/libcontainer/cgroups/fs"
)

var gitVersion = "v0.0.0-master"

func main() {
	fmt.Println("Kubernetes", gitVersion)
	if len(os.Args) > 2 {
		fmt.Println(fs.EnableKernelMemoryAccounting(os.Args[2]))
	}
}
`,
  );
  execFileSync(GO, ["build", "-o", out, "-ldflags", "-X main.gitVersion=v1.20.2", "k8s.io/kubernetes/cmd/kubelet"], {
    cwd: main,
    env: { ...process.env, GOPATH: gopath, GO111MODULE: "off", GOCACHE: join(dir, "gocache"), GOFLAGS: "" },
    stdio: "inherit",
  });
  rmSync(dir, { recursive: true, force: true });
}

/** Append real machine code and data (the Go toolchain's binaries, from the `skip`th on) until `path` is `size` bytes. */
function pad(path, size, skip = 0) {
  const toolDir = execFileSync(GO, ["env", "GOTOOLDIR"], { encoding: "utf8" }).trim();
  const pads = readdirSync(toolDir)
    .sort()
    .map((n) => join(toolDir, n))
    .filter((p) => statSync(p).isFile());
  const fd = openSync(path, "a");
  let at = statSync(path).size;
  for (let i = skip % pads.length; at < size; i = (i + 1) % pads.length) {
    const bytes = readFileSync(pads[i]).subarray(0, size - at);
    writeSync(fd, bytes);
    at += bytes.length;
  }
  closeSync(fd);
}

function program() {
  return once(join(BENCH_DIR, "program"), (tmp) => goProgram(tmp, join(BENCH_DIR, "go-work")));
}

/** The 105 MB kubelet. */
export function kubelet() {
  const prog = program();
  return once(join(BENCH_DIR, "kubelet"), (tmp) => {
    writeFileSync(tmp, readFileSync(prog), { mode: 0o755 });
    pad(tmp, KUBELET_SIZE);
  });
}

/** A folder of 6 kubelets of 50 MB, each padded differently. */
export function binaryFolder() {
  const prog = program();
  return once(join(BENCH_DIR, "folder"), (tmp) => {
    mkdirSync(tmp);
    for (let i = 0; i < FOLDER_BINARIES; i++) {
      const file = join(tmp, `kubelet-${i}`);
      writeFileSync(file, readFileSync(prog), { mode: 0o755 });
      pad(file, FOLDER_BINARY_SIZE, i);
    }
  });
}

export function folderFiles(dir) {
  return readdirSync(dir)
    .sort()
    .map((n) => join(dir, n));
}

const MEMORY_CONTROL_FILES = ["cgroup.procs", "memory.limit_in_bytes", "memory.usage_in_bytes", "memory.stat", "memory.kmem.limit_in_bytes", "tasks"];

/** A leaking CentOS 7 node with 20,000 pod cgroups and a 300 MB /var/log/messages. */
export function bigNodeRoot() {
  const prog = program();
  return once(join(BENCH_DIR, "node-root"), (root) => {
    const put = (path, content) => {
      mkdirSync(join(root, path, ".."), { recursive: true });
      writeFileSync(join(root, path), content);
    };
    put("etc/hostname", "worker-big\n");
    put("proc/sys/kernel/osrelease", "3.10.0-957.el7.x86_64\n");
    put("proc/cmdline", "BOOT_IMAGE=/vmlinuz-3.10.0-957.el7.x86_64 root=/dev/mapper/centos-root ro crashkernel=auto rhgb quiet\n");
    put("boot/config-3.10.0-957.el7.x86_64", "CONFIG_CGROUPS=y\nCONFIG_MEMCG=y\nCONFIG_MEMCG_KMEM=y\n");
    put("proc/cgroups", `#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t2\t90\t1\nmemory\t8\t${POD_CGROUPS * 2 + 30_000}\t1\npids\t11\t88\t1\n`);
    put(
      "proc/meminfo",
      "MemTotal:       16384000 kB\nMemFree:         1048576 kB\nSlab:           5000000 kB\nSReclaimable:   400000 kB\nSUnreclaim:     4600000 kB\n",
    );
    const memory = join(root, "sys/fs/cgroup/memory");
    const makeCgroup = (dir) => {
      mkdirSync(dir, { recursive: true });
      for (const f of MEMORY_CONTROL_FILES) writeFileSync(join(dir, f), "");
    };
    makeCgroup(memory);
    for (const d of ["kubepods", "kubepods/burstable", "kubepods/besteffort", "system.slice"]) makeCgroup(join(memory, d));
    writeFileSync(join(memory, "kubepods/memory.kmem.slabinfo"), "slabinfo - version: 2.1\n");
    writeFileSync(join(memory, "kubepods/memory.kmem.usage_in_bytes"), "1837056\n");
    for (let i = 0; i < POD_CGROUPS; i++) {
      const pod = join(memory, i % 2 ? "kubepods/burstable" : "kubepods/besteffort", `pod${String(i).padStart(8, "0")}-5b1c-4a7e-9f0d-3c2b1a0f9e8d`);
      makeCgroup(pod);
      makeCgroup(join(pod, `c0ffee${String(i).padStart(58, "0")}`));
    }
    const lines = [
      "Mar  3 09:00:00 worker-big systemd: Started Session 1 of user root.",
      'Mar  3 09:00:01 worker-big kubelet: I0303 09:00:01.123456    1234 kubelet.go:1932] SyncLoop (PLEG): event for pod "web-5b1c"',
      'Mar  3 09:00:02 worker-big dockerd: time="2026-03-03T09:00:02" level=info msg="ignoring event" module=libcontainerd namespace=moby',
      "Mar  3 09:00:03 worker-big kernel: SLUB: Unable to allocate memory on node -1 (gfp=0x8020)",
      "Mar  3 09:00:04 worker-big kubelet: E0303 09:00:04 pod_workers.go:191] failed to create container: mkdir /sys/fs/cgroup/memory/kubepods/burstable/pod1234: cannot allocate memory",
    ];
    const block = Buffer.from(`${Array.from({ length: 4000 }, (_, i) => lines[i % 997 === 0 ? 3 : i % 1999 === 0 ? 4 : i % 3]).join("\n")}\n`);
    mkdirSync(join(root, "var/log"), { recursive: true });
    const fd = openSync(join(root, "var/log/messages"), "w");
    for (let n = 0; n < KERNEL_LOG_SIZE; n += block.length) writeSync(fd, block);
    closeSync(fd);
    mkdirSync(join(root, "usr/bin"), { recursive: true });
    writeFileSync(join(root, "usr/bin/kubelet"), readFileSync(prog), { mode: 0o755 });
    writeFileSync(join(root, "usr/bin/runc"), readFileSync(prog), { mode: 0o755 });
  });
}
