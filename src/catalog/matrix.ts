/**
 * The build matrix a CI engine runs: every affected pinned release × its
 * platforms, plus releases named to be built before they have a pin
 * (bootstrap), filtered. Pure over the catalog.
 */
import semver from "semver";
import { CatalogError, UsageError } from "../errors.js";
import { IMAGE_REFERENCE_EXAMPLE, isImageReference, quoteReference } from "./image-ref.js";
import { strategyFor } from "../strategy/index.js";
import { DEFAULT_PLATFORM } from "./platforms.js";
import { lineFor, parseVersionQuery } from "./resolve.js";
import { compareRunc, parseRuncVersion } from "../runc-version.js";
import { resolveRunc, runcLineFor } from "./runc-release.js";
import { RUNC_STRATEGY_IDS, type RuncStrategyId } from "../strategy/types.js";
import type { Catalog, StrategyId } from "./types.js";
import { STRATEGY_IDS } from "./types.js";

export interface MatrixEntry {
  /** What the entry builds: `kubelet` (`build --version`) or the runtime's `runc` (`build runc --version`). */
  product: "kubelet" | "runc";
  version: string;
  line: string;
  strategy: StrategyId | RuncStrategyId;
  platform: string;
  image: string;
  /** The pinned sha256 for this platform, "" when not built yet. */
  sha256: string;
  /** A name safe for artifact and job names: "1.16.15-linux-amd64". */
  slug: string;
}

interface MatrixFilter {
  lines?: string[];
  strategies?: string[];
  /** Platforms to build; by default the platforms each pin lists, else linux/amd64. */
  platforms?: string[];
  /** Include releases whose strategy is `none` (not affected). */
  includeUnaffected?: boolean;
  /** Exact releases to build whether or not they are pinned yet (bootstrap); `runc@1.0.0-rc93` names a runc release. */
  releases?: string[];
  /** Only entries that have no pinned sha256 for their platform yet. */
  unpinned?: boolean;
  /** Build image for entries whose pin records none (default: the release line's). */
  image?: string;
}

export function buildMatrix(catalog: Catalog, filter: MatrixFilter = {}): MatrixEntry[] {
  if (filter.image !== undefined && !isImageReference(filter.image)) {
    throw new UsageError(
      "E_IMAGE_REF",
      `expected --image to be an image reference such as ${IMAGE_REFERENCE_EXAMPLE}, found ${quoteReference(filter.image)}`,
      `pass a valid image name (lowercase repository, no leading "-", no spaces)`,
    );
  }
  for (const s of filter.strategies ?? []) {
    if (!(STRATEGY_IDS as readonly string[]).includes(s) && !(RUNC_STRATEGY_IDS as readonly string[]).includes(s)) {
      throw new UsageError(
        "E_STRATEGY",
        `expected a strategy among ${[...STRATEGY_IDS, ...RUNC_STRATEGY_IDS].join(", ")}, found ${JSON.stringify(s)}`,
        "pick one of the listed strategies",
      );
    }
  }
  const runcReleases = (filter.releases ?? []).filter((r) => r.startsWith(RUNC_PREFIX)).map((r) => r.slice(RUNC_PREFIX.length));
  const kubeletReleases = (filter.releases ?? []).filter((r) => !r.startsWith(RUNC_PREFIX));
  for (const l of filter.lines ?? []) {
    if (!catalog.lines.some((c) => c.line === l) && !(catalog.runcLines ?? []).some((c) => c.line === l)) {
      throw new UsageError(
        "E_LINE",
        `expected a release line the catalog has (${[...new Set([...catalog.lines, ...(catalog.runcLines ?? [])].map((c) => c.line))].join(", ")}), found ${JSON.stringify(l)}`,
        "pass a line such as 1.16, or a runc line such as 1.0.0-rc93",
      );
    }
  }
  const requested = new Set<string>();
  for (const r of kubeletReleases) {
    const q = parseVersionQuery(r);
    if (!q.version) throw new UsageError("E_RELEASE", `expected exact releases such as 1.16.15 in --releases, found the line ${q.line}`, `pass ${q.line}.N`);
    const line = lineFor(catalog, q.version);
    if (!line)
      throw new UsageError("E_RELEASE", `expected releases the catalog covers, found ${q.version}`, "pick a covered release, or add its line to versions.json");
    const strategy = catalog.pins[q.version]?.strategy ?? line.strategy;
    if (!filter.includeUnaffected && !strategyFor(strategy).affected) {
      throw new UsageError(
        "E_RELEASE",
        `expected releases that need a nokmem build, found ${q.version} (strategy ${strategy}: not affected)`,
        "drop it from --releases, or pass --include-unaffected",
      );
    }
    requested.add(q.version);
  }
  const entries: MatrixEntry[] = [];
  const versions = [...new Set([...Object.keys(catalog.pins), ...requested])].sort(semver.compare);
  for (const version of versions) {
    const pin = catalog.pins[version];
    const line = lineFor(catalog, version);
    if (!line) continue; // the loader rejects such pins; defensive only
    const strategy = pin?.strategy ?? line.strategy;
    if (!filter.includeUnaffected && !strategyFor(strategy).affected) continue;
    if (filter.lines?.length && !filter.lines.includes(line.line)) continue;
    if (filter.strategies?.length && !filter.strategies.includes(strategy)) continue;
    const pinned = Object.keys(pin?.sha256 ?? {});
    const platforms = filter.platforms ?? (pinned.length ? pinned.sort() : [DEFAULT_PLATFORM]);
    for (const platform of platforms) {
      const sha256 = pin?.sha256[platform] ?? "";
      if (filter.unpinned && sha256) continue;
      const image = pin?.image || filter.image || line.image;
      // The loader's schema already refuses such a catalog; a catalog made some other way is checked here, before any pipeline sees it.
      if (!isImageReference(image)) {
        const where = pin?.image ? `the pin of ${version}` : `the release line ${line.line}`;
        throw new CatalogError(
          "E_CATALOG_SCHEMA",
          `expected ${where} to name an image reference such as ${IMAGE_REFERENCE_EXAMPLE}, found ${quoteReference(image)}`,
          "correct the image in versions.json",
        );
      }
      entries.push({ product: "kubelet", version, line: line.line, strategy, platform, image, sha256, slug: `${version}-${platform.replace("/", "-")}` });
    }
  }
  return [...entries, ...runcEntries(catalog, runcReleases, filter)];
}

/** `--releases runc@1.0.0-rc93`: a runc release beside the kubelet ones. */
const RUNC_PREFIX = "runc@";

/**
 * The runtime's runc entries: every pinned affected runc release (runcPins)
 * plus the runc releases named to bootstrap, built for linux/amd64 (runc's
 * Makefile cross-compiles with per-arch C toolchains the image does not carry).
 */
function runcEntries(catalog: Catalog, requested: string[], filter: MatrixFilter): MatrixEntry[] {
  const lines = catalog.runcLines ?? [];
  const versions = new Set<string>();
  for (const r of requested) {
    const res = resolveRunc(lines, r); // refuses a malformed or uncovered runc release
    if (!filter.includeUnaffected && !res.affected) {
      throw new UsageError(
        "E_RELEASE",
        `expected runc releases that need a nokmem build, found ${res.version} (strategy ${res.strategy}: not affected)`,
        "drop it from --releases, or pass --include-unaffected",
      );
    }
    versions.add(res.version);
  }
  const pins = catalog.runcPins ?? {};
  for (const v of Object.keys(pins)) versions.add(v);
  const out: MatrixEntry[] = [];
  for (const version of [...versions].sort(byRuncVersion)) {
    const line = runcLineFor(lines, version);
    if (!line) continue;
    const pin = pins[version];
    const strategy = line.strategy;
    if (!filter.includeUnaffected && !strategyFor(strategy).affected) continue;
    if (filter.lines?.length && !filter.lines.includes(line.line)) continue;
    if (filter.strategies?.length && !filter.strategies.includes(strategy)) continue;
    const platforms = filter.platforms ?? [DEFAULT_PLATFORM];
    for (const platform of platforms) {
      const sha256 = pin?.sha256[platform] ?? "";
      if (filter.unpinned && sha256) continue;
      out.push({
        product: "runc",
        version,
        line: line.line,
        strategy,
        platform,
        image: pin?.image || line.image,
        sha256,
        slug: `runc-${version}-${platform.replace("/", "-")}`,
      });
    }
  }
  return out;
}

function byRuncVersion(a: string, b: string): number {
  return compareRunc(parseRuncVersion(a)!, parseRuncVersion(b)!);
}

/** GitHub Actions reads `{"include": [...]}` through fromJSON(). */
export function githubMatrix(entries: MatrixEntry[]): { include: MatrixEntry[] } {
  return { include: entries };
}

/**
 * GitLab cannot expand a matrix from a job's output; it runs a generated child
 * pipeline instead. JSON is YAML, so the child pipeline is printed as JSON
 * (GitLab reads it only from a file named .yml or .yaml): one job per entry,
 * extending the template job of the included file (`.kubelet-nokmem-build`),
 * and, when some entry has no pin yet, one job that pins the builds and
 * proposes the change (`.kubelet-nokmem-propose`); when some kubelet entry is
 * pinned, one job that packages the verified builds into a yum and an apt
 * repository (`.kubelet-nokmem-package`, which runs only when the CI/CD
 * variable KUBELET_NOKMEM_PACKAGE is set).
 */
export function gitlabChildPipeline(
  entries: MatrixEntry[],
  template = ".kubelet-nokmem-build",
  propose = ".kubelet-nokmem-propose",
  packageTemplate = ".kubelet-nokmem-package",
): Record<string, unknown> {
  const jobs: Record<string, unknown> = {};
  for (const e of entries) {
    jobs[`${e.product} ${e.version} ${e.platform}`] = {
      extends: template,
      variables: { KUBE_PRODUCT: e.product, KUBE_VERSION: e.version, KUBE_PLATFORM: e.platform, KUBE_IMAGE: e.image, KUBE_SHA256: e.sha256, KUBE_SLUG: e.slug },
    };
  }
  const unpinned = entries.filter((e) => !e.sha256);
  // The propose job pins these builds, by slug, and lists those whose build failed.
  if (unpinned.length) jobs["propose pins"] = { extends: propose, variables: { KUBE_UNPINNED: unpinned.map((e) => e.slug).join(" ") } };
  // Only a pinned kubelet can be packaged (`package` verifies each build against its pin first); runc is not packaged.
  const packaged = entries.filter((e) => e.product === "kubelet" && e.sha256);
  if (packaged.length) jobs["package repository"] = { extends: packageTemplate, variables: { KUBE_PINNED: packaged.map((e) => e.slug).join(" ") } };
  if (!entries.length) {
    // A child pipeline must have at least one job.
    jobs["nothing to build"] = { stage: "build", script: ["echo 'no affected release matches the filter'"] };
  }
  return { include: [{ local: "ci/gitlab/build-job.yml" }], ...jobs };
}
