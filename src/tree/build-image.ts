/**
 * The build image a Kubernetes tree asks for, and the rule that picks the image
 * a build runs in. Pure: file contents in, data out (the outer layers read the
 * files: src/tree/inspect.ts from a tree, src/source/peek.ts from a source).
 *
 * A tree names its image in two places: `build/build-image/Dockerfile`'s
 * `FROM` line names the repository (with the placeholder
 * `KUBE_BUILD_IMAGE_CROSS_TAG`, and in 1.18/1.19 also
 * `KUBE_BASE_IMAGE_REGISTRY`, whose default sits in `build/common.sh`), and
 * `build/build-image/cross/VERSION` names the kube-cross tag, which carries the
 * Go version the release was built with.
 */
import type { Pin } from "../catalog/types.js";
import { goVersionFromCross } from "./release-version.js";

/** The tree files this module reads, relative to the tree root. */
export const BUILD_IMAGE_FILES = {
  dockerfile: "build/build-image/Dockerfile",
  cross: "build/build-image/cross/VERSION",
  common: "build/common.sh",
} as const;

type BuildImageFiles = Record<keyof typeof BUILD_IMAGE_FILES, string | null>;

/**
 * Registries upstream froze, and where their images are served now. Data,
 * with the date and the announcement: k8s.gcr.io (and the gcr.io names behind
 * it) redirect to registry.k8s.io since 2023-03-20 and take no new images since
 * 2023-04-03; registry.k8s.io serves the same paths.
 */
export interface RegistryMove {
  from: string;
  to: string;
  since: string;
  reference: string;
}

const REDIRECT = "https://kubernetes.io/blog/2023/03/10/image-registry-redirect/";
export const REGISTRY_MOVES: readonly RegistryMove[] = [
  { from: "k8s.gcr.io", to: "registry.k8s.io", since: "2023-03-20", reference: REDIRECT },
  { from: "gcr.io/google_containers", to: "registry.k8s.io", since: "2023-03-20", reference: REDIRECT },
  { from: "gcr.io/google-containers", to: "registry.k8s.io", since: "2023-03-20", reference: REDIRECT },
  { from: "us.gcr.io/k8s-artifacts-prod", to: "registry.k8s.io", since: "2023-03-20", reference: REDIRECT },
  { from: "eu.gcr.io/k8s-artifacts-prod", to: "registry.k8s.io", since: "2023-03-20", reference: REDIRECT },
  { from: "asia.gcr.io/k8s-artifacts-prod", to: "registry.k8s.io", since: "2023-03-20", reference: REDIRECT },
];

/** An image name under a frozen registry, renamed to where it is served now. */
export function mapFrozenRegistry(ref: string): { ref: string; moved: RegistryMove | null } {
  for (const m of REGISTRY_MOVES) {
    if (ref.startsWith(`${m.from}/`)) return { ref: `${m.to}/${ref.slice(m.from.length + 1)}`, moved: m };
  }
  return { ref, moved: null };
}

export interface TreeBuildImage {
  /** The image as the tree names it, placeholders filled in: `k8s.gcr.io/build-image/kube-cross:v1.15.5-1`. */
  requested: string;
  /** The kube-cross tag from cross/VERSION: `v1.15.5-1`. */
  crossTag: string;
  /** The Go version that tag carries: `1.15.5`; null when the tag does not say. */
  expectedGo: string | null;
}

/** The same, from files read by path (`BUILD_IMAGE_FILES` values → content or null). */
export function buildImageFromFiles(files: Readonly<Record<string, string | null | undefined>>): TreeBuildImage | null {
  return parseBuildImage({
    dockerfile: files[BUILD_IMAGE_FILES.dockerfile] ?? null,
    cross: files[BUILD_IMAGE_FILES.cross] ?? null,
    common: files[BUILD_IMAGE_FILES.common] ?? null,
  });
}

const CROSS_PLACEHOLDER = "KUBE_BUILD_IMAGE_CROSS_TAG";
const REGISTRY_PLACEHOLDER = "KUBE_BASE_IMAGE_REGISTRY";

/** The tree's build image, or null when the tree does not name one (no Dockerfile FROM or no cross/VERSION). */
export function parseBuildImage(files: BuildImageFiles): TreeBuildImage | null {
  const crossTag = files.cross?.trim().split(/\s+/)[0] ?? "";
  if (!crossTag || !files.dockerfile) return null;
  const from = fromLine(files.dockerfile);
  if (!from) return null;
  let image = from.replaceAll(CROSS_PLACEHOLDER, crossTag);
  if (image.includes(REGISTRY_PLACEHOLDER)) {
    const registry = files.common ? baseImageRegistry(files.common) : null;
    if (!registry) return null;
    image = image.replaceAll(REGISTRY_PLACEHOLDER, registry);
  }
  // A FROM without a tag means the cross tag (never `latest`).
  if (!/[:@][^/]*$/.test(image)) image = `${image}:${crossTag}`;
  return { requested: image, crossTag, expectedGo: goVersionFromCross(crossTag) };
}

/** The image of the first `FROM` instruction (`FROM [--platform=…] IMAGE [AS name]`). */
function fromLine(dockerfile: string): string | null {
  for (const raw of dockerfile.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^FROM\s+(?:--\S+\s+)*(\S+)/i.exec(line);
    if (m) return m[1]!;
  }
  return null;
}

/** `KUBE_BASE_IMAGE_REGISTRY="${KUBE_BASE_IMAGE_REGISTRY:-us.gcr.io/k8s-artifacts-prod/build-image}"` → the default. */
function baseImageRegistry(commonSh: string): string | null {
  return /KUBE_BASE_IMAGE_REGISTRY="?\$\{KUBE_BASE_IMAGE_REGISTRY:-([^}"\s]+)\}/.exec(commonSh)?.[1] ?? null;
}

/** Which rule chose the image, in the order they are tried. */
export type ImageRule = "flag" | "pin" | "tree" | "catalog" | "local";

export interface ImageChoice {
  rule: ImageRule;
  /** What to look up or pull (a tag or `repo@sha256:…`); "local" for --runner local. */
  ref: string;
  /** One sentence for people. */
  why: string;
  /** The tree's own name for it before a frozen registry was mapped (tree rule only). */
  requested: string | null;
  moved: RegistryMove | null;
  /** A pinned image id the image must have (pins of images without a registry digest). */
  pinnedId: string | null;
  /** The Go version the tree was released with, and where that comes from. */
  expectedGo: string | null;
  expectedGoFrom: "build/build-image/cross/VERSION" | "catalog" | null;
}

export interface ImageInputs {
  runner: "docker" | "local";
  /** --image */
  flag?: string;
  pin: Pin | null;
  /** What the tree names; null when the tree names nothing or no tree is at hand. */
  tree: TreeBuildImage | null;
  /** The catalog line's fallback image and Go version. */
  catalog: { image: string; go: string };
}

/** --image, then the pin, then the tree's own image, then the catalog's fallback. Pure. */
export function chooseImage(i: ImageInputs): ImageChoice {
  const expected = i.tree?.expectedGo
    ? { expectedGo: i.tree.expectedGo, expectedGoFrom: BUILD_IMAGE_FILES.cross }
    : { expectedGo: i.catalog.go || null, expectedGoFrom: i.catalog.go ? ("catalog" as const) : null };
  // One key order for every rule: the JSON reads the same whichever rule chose.
  const choice = (rule: ImageRule, ref: string, why: string, more: Partial<Pick<ImageChoice, "requested" | "moved" | "pinnedId">> = {}): ImageChoice => ({
    rule,
    ref,
    why,
    requested: more.requested ?? null,
    moved: more.moved ?? null,
    pinnedId: more.pinnedId ?? null,
    ...expected,
  });
  if (i.runner === "local") return choice("local", "local", "--runner local builds with the Go on PATH");
  if (i.flag) return choice("flag", i.flag, "--image was given");
  if (i.pin?.image)
    return choice("pin", i.pin.image, "the release is pinned in versions.json: the pinned image is used, not a tag", { pinnedId: i.pin.imageId ?? null });
  if (i.tree) {
    const mapped = mapFrozenRegistry(i.tree.requested);
    const moved = mapped.moved ? ` (${mapped.moved.from} is served by ${mapped.moved.to} since ${mapped.moved.since})` : "";
    return choice("tree", mapped.ref, `the tree's ${BUILD_IMAGE_FILES.dockerfile} and cross/VERSION name it${moved}`, {
      requested: i.tree.requested,
      moved: mapped.moved,
    });
  }
  return choice("catalog", i.catalog.image, "no tree names an image: the catalog line's fallback");
}

/**
 * Does the image's Go match the Go the tree was released with? Compares as
 * many parts as the expected version has (1.15 matches 1.15.5).
 */
export function toolchainMatches(expected: string | null, found: string | null): boolean | null {
  if (!expected || !found) return null;
  const e = expected.replace(/^go/, "").split(".");
  const f = found.replace(/^go/, "").split(".");
  return e.every((part, n) => f[n] === part);
}
