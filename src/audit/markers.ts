/**
 * The byte strings an audit looks for (docs/domain.md, "Markers in
 * binaries"). Each has a stable id that appears in reports and in
 * `--json` output; never rename one.
 */

export type MarkerKind =
  /** Only a build whose runc can enable kmem carries it. */
  | "enabled"
  /** Only a build whose runc has kmem disabled carries it. */
  | "disabled"
  /** Says what program the binary is, not how it treats kmem. */
  | "identity"
  /** A structure the parsers read afterwards. */
  | "structure";

export interface Marker {
  id: string;
  kind: MarkerKind;
  text: string;
  /** Why the marker means what its kind says. */
  meaning: string;
  /**
   * A substring of at most 6 bytes the search looks for first, then checks the
   * whole marker around each hit. Node's Buffer.indexOf finds needles of up
   * to 6 bytes with memchr on their first byte (several times faster than
   * its Boyer-Moore-Horspool for longer ones), so an anchor starts with a
   * byte that is rare in binaries; markers sharing an anchor share the pass.
   */
  anchor: string;
}

/** runc's cgroup v1 fs driver, as vendored by kubelet or built into runc itself. */
const FS = "libcontainer/cgroups/fs/";

export const MARKERS: readonly Marker[] = [
  {
    id: "enabled-string:kmem-limit-file",
    anchor: "kmem",
    kind: "enabled",
    text: "memory.kmem.limit_in_bytes",
    meaning: "the file EnableKernelMemoryAccounting writes (runc rc3–rc93)",
  },
  {
    id: "enabled-string:kmem-failed-to-set",
    anchor: "%s, be",
    kind: "enabled",
    text: "failed to set %s, because either tasks have already joined this cgroup or it has children",
    meaning: "the error of runc's enabled setKernelMemory",
  },
  {
    id: "enabled-string:kmem-not-supported",
    anchor: "kernel",
    kind: "enabled",
    text: "kernel memory accounting not supported by this kernel",
    meaning: "the enabled kmem.go of runc rc7–rc93 checks kernel support",
  },
  {
    id: "disabled-string:runc-build",
    anchor: "kernel",
    kind: "disabled",
    text: "kernel memory accounting disabled in this runc build",
    meaning: "the error of kmem_disabled.go's setKernelMemory (runc rc7+ built with nokmem)",
  },
  {
    id: "source-path:kmem.go",
    anchor: "kmem",
    kind: "enabled",
    text: `${FS}kmem.go`,
    meaning: "the line table names runc's kmem.go, compiled only without the nokmem tag (unless overridden)",
  },
  {
    id: "source-path:kmem_disabled.go",
    anchor: "kmem",
    kind: "disabled",
    text: `${FS}kmem_disabled.go`,
    meaning: "the line table names runc's kmem_disabled.go, compiled only with the nokmem tag",
  },
  {
    id: "identity:kubelet",
    anchor: "kubele",
    kind: "identity",
    text: "k8s.io/kubernetes/cmd/kubelet",
    meaning: "code or file names of Kubernetes' cmd/kubelet",
  },
  {
    id: "identity:runc",
    anchor: "mand l",
    kind: "identity",
    text: "runc is a command line client for running applications",
    meaning: "the usage text of runc's own main package",
  },
  {
    id: "structure:go-buildinfo",
    anchor: "Go bui",
    kind: "structure",
    text: "\xff Go buildinf:",
    meaning: "the header of Go's build information",
  },
];

export const MARKER_BY_ID: ReadonlyMap<string, Marker> = new Map(MARKERS.map((m) => [m.id, m]));
