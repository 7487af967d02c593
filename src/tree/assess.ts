/**
 * From what a tree holds to a report: which release it is, which strategy it
 * needs, and whether that agrees with the catalog. Pure: the facts come in as
 * data (src/tree/inspect.ts reads them), so every disagreement can be tested
 * without a disk.
 */
import { parseVersionQuery, resolve, type Resolution, type VersionQuery } from "../catalog/resolve.js";
import type { Catalog, KmemLayout, Pin, StrategyId } from "../catalog/types.js";
import { UsageError } from "../errors.js";
import { coreOf } from "../release.js";
import type { GitFacts } from "../source/git.js";
import { STRATEGIES, strategyForLayout } from "../strategy/index.js";
import { chooseImage, type ImageChoice, type TreeBuildImage } from "./build-image.js";
import { RUNC_FS_DIR, type KmemDetection } from "./kmem-layout.js";
import { parseGitDescribe, type ArchiveStamp, type TreeVersion } from "./release-version.js";

/** git-clean / git-dirty: a checkout (as version.sh's tree state); archive: a `git archive` export; dir: anything else. */
export type TreeKind = "git-clean" | "git-dirty" | "archive" | "dir";

export type VersionSource = "flag" | "git" | "archive";

export interface Evidence {
  /** Path relative to the tree root. */
  file: string;
  says: string;
}

/** Everything read from the tree, before any judgement. */
export interface TreeFacts {
  root: string;
  git: GitFacts | null;
  /** Paths git lists as changed, without build output (`_output/`). */
  changed: string[];
  archive: ArchiveStamp | null;
  runc: { version: string | null; source: string | null; replacedBy?: string; notes: string[] };
  kmem: KmemDetection;
  go: { version: string; source: string; raw: string } | null;
  /** The image build/build-image names, when the tree names one. */
  buildImage?: TreeBuildImage | null;
}

export interface TreeReport {
  root: string;
  /** The release used for the catalog ("1.16.15"); the flag's when given, else the tree's. Null when unknown. */
  version: string | null;
  line: string | null;
  versionSource: VersionSource | null;
  /** What the tree itself says ("1.16.15", "1.17.0-rc.1"), independent of --version. */
  treeVersion: string | null;
  /** Commits between the release tag and HEAD (git checkouts). */
  commitsSinceTag: number | null;
  /** False when --version and the tree name different releases. */
  versionAgrees: boolean | null;
  commit: string | null;
  treeKind: TreeKind;
  /** Changed paths of a dirty checkout (build output excluded). */
  changed: string[];
  runc: string | null;
  runcSource: string | null;
  kmemLayout: KmemLayout;
  /** The default build's kmem code is already stubbed (this tool's vendor-stub or kmem-override patch). */
  patched: boolean;
  goVersion: string | null;
  /**
   * The image `build` would run this tree in without --image, the rule that
   * chose it (pin, tree or catalog) and the Go the tree expects; null when
   * neither the tree nor the catalog names one.
   */
  buildImage: ImageChoice | null;
  /** The strategy to use: the catalog's when the tree's layout fits it, else the one the layout calls for. */
  strategy: StrategyId;
  catalogStrategy: StrategyId | null;
  catalogLayout: KmemLayout | null;
  catalogRunc: string | null;
  catalogGo: string | null;
  /** Whether the catalog's strategy fits the tree's layout; null when the catalog has no entry to compare. */
  agrees: boolean | null;
  evidence: Evidence[];
  notes: string[];
}

interface AssessOptions {
  /** A release given by the user (--version), "1.16.15" or "v1.16.15". */
  version?: string;
}

/** Parse a --version value: an exact release, never a line or garbage. */
export function parseVersionFlag(input: string): { version: string; line: string } {
  const q = parseVersionQuery(input);
  if (!q.version) {
    throw new UsageError(
      "E_VERSION_LINE",
      `expected an exact release for --version such as ${q.line}.0, found the line ${q.line}`,
      `pass the tree's release, e.g. --version ${q.line}.0`,
    );
  }
  return { version: q.version, line: q.line };
}

function treeKind(facts: TreeFacts): TreeKind {
  if (facts.git) return facts.changed.length ? "git-dirty" : "git-clean";
  if (facts.archive) return "archive";
  return "dir";
}

/** What a step of the assessment found: evidence and notes, in the order a report lists them. */
interface Findings {
  evidence: Evidence[];
  notes: string[];
}

/** Which release the tree says it is: git describe in a checkout, the baked values of an export. */
function releaseFromTree(facts: TreeFacts): Findings & { fromTree: TreeVersion | null; treeSource: VersionSource | null } {
  const evidence: Evidence[] = [];
  const notes: string[] = [];
  let fromTree: TreeVersion | null = null;
  let treeSource: VersionSource | null = null;
  if (facts.git) {
    if (facts.git.describe) {
      evidence.push({ file: ".git", says: `git describe: ${facts.git.describe}` });
      fromTree = parseGitDescribe(facts.git.describe);
      if (!fromTree) notes.push(`git describe names ${facts.git.describe}, which is not a Kubernetes release tag`);
    } else {
      notes.push("no release tag (v*) is reachable from HEAD: the version is unknown to git");
    }
    treeSource = fromTree ? "git" : null;
  } else if (facts.archive) {
    evidence.push({
      file: "hack/lib/version.sh",
      says: `git archive export of ${facts.archive.commit ?? "an unknown commit"}${facts.archive.refNames ? ` (refs: ${facts.archive.refNames})` : ""}`,
    });
    fromTree = facts.archive.version;
    treeSource = fromTree ? "archive" : null;
    if (!fromTree) notes.push("the export names no release tag: the exported commit was not tagged");
  }
  if (fromTree?.commitsSinceTag) notes.push(`HEAD is ${fromTree.commitsSinceTag} commit(s) past ${fromTree.tag}; the catalog entry of ${fromTree.tag} is used`);
  if (fromTree?.prerelease) notes.push(`${fromTree.tag} is a pre-release: the catalog is asked about line ${fromTree.line}`);
  return { evidence, notes, fromTree, treeSource };
}

/** Whether --version names the release the tree says it is; null when either is unknown. */
function flagAgreement(
  flag: { version: string } | null,
  fromTree: TreeVersion | null,
  treeSource: VersionSource | null,
): { agrees: boolean | null; notes: string[] } {
  if (!flag || !fromTree) return { agrees: null, notes: [] };
  const agrees = coreOf(fromTree.version) === flag.version;
  return {
    agrees,
    notes: agrees ? [] : [`--version ${flag.version} disagrees with the tree, which says ${fromTree.tag} (${treeSource}); using ${flag.version} as asked`],
  };
}

interface CatalogAnswer {
  strategy: StrategyId;
  layout: KmemLayout;
  runc: string;
  go: string;
  image: { image: string; go: string; pin: Pin | null };
}

/** What the catalog says about the release, or null when it does not cover it. */
function catalogAnswer(catalog: Catalog, version: string, line: string, askLine: boolean): CatalogAnswer | null {
  // A pre-release tag (v1.18.0-alpha.0 on master) is asked about by its line.
  const query = askLine ? { version: null, line } : { version, line };
  try {
    const r = resolve(catalog, query);
    return { strategy: r.strategy, layout: r.kmemLayout, runc: r.runc, go: r.go, image: { image: r.image, go: r.go, pin: r.pin } };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    return null;
  }
}

/** The strategy to use: the catalog's when the tree's layout fits it, else the one the layout calls for. */
function strategyFit(
  answer: CatalogAnswer | null,
  layout: KmemLayout,
  version: string | null,
): { strategy: StrategyId; agrees: boolean | null; notes: string[] } {
  if (!answer) return { strategy: strategyForLayout("kubelet", layout), agrees: null, notes: [] };
  const agrees = STRATEGIES[answer.strategy].layouts.includes(layout);
  const strategy = agrees ? answer.strategy : strategyForLayout("kubelet", layout);
  if (!agrees) {
    return {
      strategy,
      agrees,
      notes: [
        `the catalog gives ${answer.strategy} for ${version} (expecting the ${answer.layout} layout), but the tree has the ${layout} layout: using ${strategy}, the tree wins`,
      ],
    };
  }
  if (answer.layout !== layout)
    return {
      strategy,
      agrees,
      notes: [`the catalog expects the ${answer.layout} layout for ${version}; the tree has ${layout}, which ${answer.strategy} also handles`],
    };
  return { strategy, agrees, notes: [] };
}

/** Where the runc version came from, and what disagreed. */
function runcFindings(runc: TreeFacts["runc"]): Findings {
  const evidence: Evidence[] = runc.source
    ? [{ file: runc.source, says: `runc ${runc.version ?? "(no version)"}${runc.replacedBy ? ` from ${runc.replacedBy}` : ""}` }]
    : [];
  const notes = runc.source ? [] : ["no dependency file (Godeps/Godeps.json, go.mod, vendor/modules.txt) names runc"];
  return { evidence, notes: [...notes, ...runc.notes] };
}

/** A dirty checkout would stamp -dirty unless the tree state is forced clean. */
function changedNotes(changed: string[]): string[] {
  if (!changed.length) return [];
  const shown = changed.slice(0, 5).join(", ");
  return [
    `the checkout has ${changed.length} changed path(s): ${shown}${changed.length > 5 ? ", …" : ""}; version.sh would stamp -dirty unless KUBE_GIT_TREE_STATE=clean`,
  ];
}

export function assessTree(catalog: Catalog, facts: TreeFacts, opts: AssessOptions = {}): TreeReport {
  const flag = opts.version !== undefined ? parseVersionFlag(opts.version) : null;
  const told = releaseFromTree(facts);
  const { fromTree, treeSource } = told;
  const agreement = flagAgreement(flag, fromTree, treeSource);
  const version = flag?.version ?? fromTree?.version ?? null;
  const line = flag?.line ?? fromTree?.line ?? null;
  const answer = version && line ? catalogAnswer(catalog, version, line, Boolean(fromTree?.prerelease && !flag)) : null;
  const layout = facts.kmem.layout;
  const fit = strategyFit(answer, layout, version);
  const runc = runcFindings(facts.runc);

  const evidence: Evidence[] = [
    ...told.evidence,
    ...facts.kmem.findings.map((f) => ({ file: `${RUNC_FS_DIR}/${f.file}`, says: f.says })),
    ...runc.evidence,
    ...(facts.go ? [{ file: facts.go.source, says: `${facts.go.raw} (Go ${facts.go.version})` }] : []),
  ];
  const notes: string[] = [
    ...told.notes,
    ...agreement.notes,
    ...(version ? [] : ["the release is unknown: pass --version X.Y.Z to compare with the catalog"]),
    ...(version && line && !answer ? [`${version} is outside the catalog: the strategy comes from the tree alone`] : []),
    ...facts.kmem.notes,
    ...fit.notes,
    ...(facts.kmem.patched ? ["the vendored runc is already patched: a default build of this tree does not enable kmem accounting"] : []),
    ...runc.notes,
    ...changedNotes(facts.changed),
  ];

  return {
    root: facts.root,
    version,
    line,
    versionSource: flag ? "flag" : treeSource,
    treeVersion: fromTree?.version ?? null,
    commitsSinceTag: fromTree && facts.git ? fromTree.commitsSinceTag : null,
    versionAgrees: agreement.agrees,
    commit: facts.git?.commit ?? facts.archive?.commit ?? null,
    treeKind: treeKind(facts),
    changed: facts.changed,
    runc: facts.runc.version,
    runcSource: facts.runc.source,
    kmemLayout: layout,
    patched: facts.kmem.patched,
    goVersion: facts.go?.version ?? null,
    buildImage:
      answer || facts.buildImage
        ? chooseImage({ runner: "docker", pin: answer?.image.pin ?? null, tree: facts.buildImage ?? null, catalog: answer?.image ?? { image: "", go: "" } })
        : null,
    strategy: fit.strategy,
    catalogStrategy: answer?.strategy ?? null,
    catalogLayout: answer?.layout ?? null,
    catalogRunc: answer?.runc ?? null,
    catalogGo: answer?.go ?? null,
    agrees: fit.agrees,
    evidence,
    notes,
  };
}

/** The release a tree says it is, as the patch step and the version stamp read it. */
interface TreeRelease {
  /** `1.16.15`, or null when the tree does not say. */
  version: string | null;
  commit: string | null;
  source: "git" | "archive" | "none";
  /** What git describe said when HEAD is not exactly on a tag. */
  describe?: string;
}

/** Only a release tag on HEAD itself (or an archive's baked values) names the release: a pre-release or commits past the tag need --version. */
export function treeRelease(facts: Pick<TreeFacts, "git" | "archive">): TreeRelease {
  const git = facts.git;
  if (git) {
    const d = git.describe ? parseGitDescribe(git.describe) : null;
    const exact = d && !d.prerelease && d.commitsSinceTag === 0 ? d.version : null;
    return { version: exact, commit: git.commit, source: "git", ...(git.describe && !exact ? { describe: git.describe } : {}) };
  }
  const baked = facts.archive;
  if (baked && (baked.version || baked.commit)) {
    const v = baked.version;
    return { version: v && !v.prerelease ? v.version : null, commit: baked.commit, source: "archive" };
  }
  return { version: null, commit: null, source: "none" };
}

/**
 * The release to patch a tree for: --version, else what the tree says; the
 * two must agree, and it must be an exact release the catalog resolves.
 */
export function resolveTreeRelease(catalog: Catalog, facts: TreeFacts, given: string | undefined): { resolution: Resolution; tree: TreeRelease } {
  const tree = treeRelease(facts);
  let version: string | VersionQuery;
  if (given) {
    const q = parseVersionQuery(given);
    if (tree.version && tree.version !== q.version) {
      throw new UsageError(
        "E_VERSION_MISMATCH",
        `expected --version to name the release the tree is, found --version ${given} but the tree says v${tree.version} (${tree.source === "git" ? "git describe" : "archive version.sh"}); nothing was changed`,
        `drop --version, or pass --version ${tree.version}`,
      );
    }
    version = q;
  } else if (tree.version) {
    version = tree.version;
  } else {
    throw new UsageError(
      "E_VERSION_NEEDED",
      `expected the tree to say which release it is (a git tag vX.Y.Z on HEAD, or the values a git archive export bakes into hack/lib/version.sh), found ${tree.source === "git" ? `git describe ${tree.describe ?? "without a v* tag"}` : "neither"}`,
      `pass --version, e.g. \`kubelet-nokmem patch ${facts.root} --version 1.16.15\``,
    );
  }
  const resolution = resolve(catalog, version);
  if (!resolution.version)
    throw new UsageError(
      "E_VERSION_NEEDED",
      `expected an exact release such as ${resolution.line}.0, found the line ${resolution.line}`,
      "pass --version MAJOR.MINOR.PATCH",
    );
  return { resolution, tree };
}
