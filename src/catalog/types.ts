/** The release catalog (versions.json). versions.schema.json describes the same shape; a test keeps them in step. */

// The strategy ids and kmem layouts belong to src/strategy/ (catalog depends
// on strategy, never the reverse), and so does everything a strategy does:
// its summary, env and changed files. A line names its strategy by id.
import type { KmemLayout, StrategyId } from "../strategy/types.js";
import type { RuncStrategyId } from "../strategy/types.js";
import type { RuncReleaseLine } from "./runc-release.js";
export { KMEM_LAYOUTS, STRATEGY_IDS, type KmemLayout, type StrategyId } from "../strategy/types.js";

/** How a line's hack/lib/golang.sh treats GOFLAGS (docs/domain.md, "The GOFLAGS trap"). */
export type GoflagsHandling = "copy" | "env" | "extract";

export type Env = Record<string, string>;

export interface ReleaseLine {
  /** "1.16" */
  line: string;
  /** A semver range over exact releases, e.g. ">=1.16.0 <1.17.0". */
  range: string;
  strategy: StrategyId;
  runc: string;
  kmemLayout: KmemLayout;
  /** Go version of the line's upstream toolchain image. */
  go: string;
  /** Default build image for the line. */
  image: string;
  goflags: GoflagsHandling;
  /** Go package the version ldflags target. */
  versionPackage: string;
  /** Extra build environment the line needs (GO111MODULE=off …). */
  env: Env;
  reason: string;
  reference: string;
}

export interface PinnedPatch {
  name: string;
  sha256: string;
}

/** A pin of a kubelet (`pins`), or of the runtime's runc (`runcPins`, whose strategies are runc's). */
export interface Pin<S extends StrategyId | RuncStrategyId = StrategyId> {
  /** Source commit the pinned binary was built from ("" until built). */
  commit: string;
  image: string;
  imageId?: string;
  strategy?: S;
  patches?: PinnedPatch[];
  /** keyid (SSH SHA256 fingerprint) of the key whose signature over the build's Statements was checked when pinning. */
  keyid?: string;
  /** Expected sha256 of the nokmem kubelet (or runc) per platform ("linux/amd64" → hex). */
  sha256: Record<string, string>;
}

export interface Catalog {
  $schema?: string;
  schemaVersion: 1;
  lines: ReleaseLine[];
  /** The runtime's runc, the second product: one entry per runc era (src/catalog/runc-release.ts). */
  runcLines?: RuncReleaseLine[];
  /** Exact runc release ("1.0.0-rc93") → pin. */
  runcPins?: Record<string, Pin<RuncStrategyId>>;
  /** Exact release ("1.20.15") → pin. */
  pins: Record<string, Pin>;
}
