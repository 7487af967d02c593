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
import type { Catalog, StrategyId } from "./types.js";
import { STRATEGY_IDS } from "./types.js";

export interface MatrixEntry {
  version: string;
  line: string;
  strategy: StrategyId;
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
  /** Exact releases to build whether or not they are pinned yet (bootstrap). */
  releases?: string[];
  /** Only entries that have no pinned sha256 for their platform yet. */
  unpinned?: boolean;
  /** Build image for entries whose pin records none (default: the release line's). */
  image?: string;
}

export function buildMatrix(catalog: Catalog, filter: MatrixFilter = {}): MatrixEntry[] {
  if (filter.image !== undefined && !isImageReference(filter.image)) {
    throw new UsageError("E_IMAGE_REF", `expected --image to be an image reference such as ${IMAGE_REFERENCE_EXAMPLE}, found ${quoteReference(filter.image)}`, `pass a valid image name (lowercase repository, no leading "-", no spaces)`);
  }
  for (const s of filter.strategies ?? []) {
    if (!(STRATEGY_IDS as readonly string[]).includes(s)) {
      throw new UsageError("E_STRATEGY", `expected a strategy among ${STRATEGY_IDS.join(", ")}, found ${JSON.stringify(s)}`, "pick one of the listed strategies");
    }
  }
  for (const l of filter.lines ?? []) {
    if (!catalog.lines.some((c) => c.line === l)) {
      throw new UsageError("E_LINE", `expected a release line the catalog has (${[...new Set(catalog.lines.map((c) => c.line))].join(", ")}), found ${JSON.stringify(l)}`, "pass a line such as 1.16");
    }
  }
  const requested = new Set<string>();
  for (const r of filter.releases ?? []) {
    const q = parseVersionQuery(r);
    if (!q.version) throw new UsageError("E_RELEASE", `expected exact releases such as 1.16.15 in --releases, found the line ${q.line}`, `pass ${q.line}.N`);
    const line = lineFor(catalog, q.version);
    if (!line) throw new UsageError("E_RELEASE", `expected releases the catalog covers, found ${q.version}`, "pick a covered release, or add its line to versions.json");
    const strategy = catalog.pins[q.version]?.strategy ?? line.strategy;
    if (!filter.includeUnaffected && !strategyFor(strategy).affected) {
      throw new UsageError("E_RELEASE", `expected releases that need a nokmem build, found ${q.version} (strategy ${strategy}: not affected)`, "drop it from --releases, or pass --include-unaffected");
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
        throw new CatalogError("E_CATALOG_SCHEMA", `expected ${where} to name an image reference such as ${IMAGE_REFERENCE_EXAMPLE}, found ${quoteReference(image)}`, "correct the image in versions.json");
      }
      entries.push({ version, line: line.line, strategy, platform, image, sha256, slug: `${version}-${platform.replace("/", "-")}` });
    }
  }
  return entries;
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
 * proposes the change (`.kubelet-nokmem-propose`).
 */
export function gitlabChildPipeline(entries: MatrixEntry[], template = ".kubelet-nokmem-build", propose = ".kubelet-nokmem-propose"): Record<string, unknown> {
  const jobs: Record<string, unknown> = {};
  for (const e of entries) {
    jobs[`kubelet ${e.version} ${e.platform}`] = {
      extends: template,
      variables: { KUBE_VERSION: e.version, KUBE_PLATFORM: e.platform, KUBE_IMAGE: e.image, KUBE_SHA256: e.sha256, KUBE_SLUG: e.slug },
    };
  }
  const unpinned = entries.filter((e) => !e.sha256);
  // The propose job pins these builds, by slug, and lists those whose build failed.
  if (unpinned.length) jobs["propose pins"] = { extends: propose, variables: { KUBE_UNPINNED: unpinned.map((e) => e.slug).join(" ") } };
  if (!entries.length) {
    // A child pipeline must have at least one job.
    jobs["nothing to build"] = { stage: "build", script: ["echo 'no affected release matches the filter'"] };
  }
  return { include: [{ local: "ci/gitlab/build-job.yml" }], ...jobs };
}
