/**
 * Import rules for src/, checked by `npm run lint` (depcruise): no import
 * cycles, and no module importing a higher layer. docs/architecture.md
 * explains the layers. Type-only imports count: a type is a dependency too.
 *
 * Layers, lowest first (a module may import its own layer and lower ones):
 *   0 errors.ts, verdict.ts, release.ts, runc-version.ts, io/, process/
 *                                     side-effect doors, the error table, the verdict words,
 *                                     Kubernetes release versions, runc versions
 *   1 strategy/                       how each strategy makes a kubelet nokmem
 *   2 catalog/                        versions.json: lines, pins, resolution
 *   3 source/, artifact/              getting a tree; checksums, manifests, publishing
 *                                     (artifact/attest.ts and sbom.ts excepted: they gather
 *                                     the build's inputs from tree/ and patch/, so they sit
 *                                     with pipeline/, the only module that calls them)
 *   4 tree/                           reading a tree's facts and judging them
 *   5 audit/                          the verdict from a binary alone
 *   6 patch/, node/                   changing a tree; diagnosing a node
 *   7 pipeline/, pin/, package/,      the build; pins and verification; RPM/DEB packages;
 *     metrics/, report/               a node's metrics; the fleet report
 *   8 commands/                       one file per CLI command
 *   9 cli.ts, bin.ts                  wires commander to the commands; the bin picks a bundle
 */
// Each layer is a list of path patterns, or a { path, pathNot } selector.
const LAYERS = [
  ["^src/(errors\\.ts|verdict\\.ts|release\\.ts|runc-version\\.ts|io/|process/)"],
  ["^src/strategy/"],
  ["^src/catalog/"],
  { path: "^src/(source|artifact)/", pathNot: "^src/artifact/(attest|sbom)\\.ts$" },
  ["^src/tree/"],
  ["^src/audit/"],
  ["^src/(patch|node)/"],
  ["^src/(pipeline|pin|package|metrics|report)/", "^src/artifact/(attest|sbom)\\.ts$"],
  ["^src/commands/"],
  ["^src/(cli|bin)\\.ts$"],
];

const upward = LAYERS.flatMap((from, i) =>
  LAYERS.slice(i + 1).map((to, k) => ({
    name: `layer-${i}-imports-layer-${i + 1 + k}`,
    severity: "error",
    comment: "A module imports a higher layer: move the shared fact down, or pass it in as data.",
    from: Array.isArray(from) ? { path: from } : from,
    to: Array.isArray(to) ? { path: to } : to,
  })),
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import cycle makes load order and ownership unclear: break it by moving the shared fact down a layer.",
      from: {},
      to: { circular: true },
    },
    {
      name: "simple-git-behind-source",
      severity: "error",
      comment: "Git has one door: src/source/git.ts.",
      from: { pathNot: "^src/source/git\\.ts$" },
      to: { path: "node_modules/simple-git" },
    },
    {
      name: "execa-behind-process",
      severity: "error",
      comment: "Child processes have one door: src/process/exec.ts.",
      from: { pathNot: "^src/process/exec\\.ts$" },
      to: { path: "node_modules/execa" },
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"] },
  },
};
