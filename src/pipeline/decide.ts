/**
 * From `build`'s flags to a BuildPlan: resolve the release, classify the
 * source, read the tree's build-image files where they can be read without
 * staging, choose the image, plan. Reads, never writes; needs no Docker.
 * `build --dry-run` stops here; a real build hands the plan to run.ts.
 * Both products: `decideRuncBuild` is the same for `build runc`.
 */
import { resolve, type VersionQuery } from "../catalog/resolve.js";
import { resolveRunc } from "../catalog/runc-release.js";
import type { Catalog } from "../catalog/types.js";
import { parseSource } from "../source/parse.js";
import { peekSource } from "../source/peek.js";
import { BUILD_IMAGE_FILES, buildImageFromFiles, chooseImage, type ImageInputs } from "../tree/build-image.js";
import { planBuild, type BuildOptions, type BuildPlan, type ImagePlanInput } from "./build-plan.js";

interface BuildRequest extends BuildOptions {
  /** `--version`, parsed once by the command. */
  version: VersionQuery;
  source?: string;
  ref?: string;
  image?: string;
  cwd?: string;
}

export async function decideBuild(catalog: Catalog, req: BuildRequest): Promise<BuildPlan> {
  const res = resolve(catalog, req.version);
  const spec = parseSource(req.source, req.cwd);
  const inputs: Omit<ImageInputs, "tree"> = { runner: req.runner, flag: req.image, pin: res.pin, catalog: { image: res.image, go: res.go } };
  let image: ImagePlanInput;
  const decidedWithoutTree = req.runner === "local" || req.image || res.pin?.image;
  const files = res.version ? await peekSource(spec, req.ref ?? `v${res.version}`, Object.values(BUILD_IMAGE_FILES)) : null;
  if (files) {
    image = { choice: chooseImage({ ...inputs, tree: buildImageFromFiles(files) }) };
  } else if (decidedWithoutTree) {
    // The image is decided without the tree; the Go it expects then comes from the catalog.
    image = { choice: chooseImage({ ...inputs, tree: null }) };
  } else {
    image = { chooseOnceStaged: inputs };
  }
  return planBuild(res, { spec, ref: req.ref }, image, req);
}

interface RuncBuildRequest extends BuildOptions {
  /** `--version` as runc spells it. */
  version: string;
  /** Default: runc's public repository. */
  source: string;
  ref?: string;
  image?: string;
  cwd?: string;
}

/** `build runc`: the catalog's runc line, and its image (or --image); the tree is read once staged. */
export function decideRuncBuild(catalog: Catalog, req: RuncBuildRequest): BuildPlan {
  const res = resolveRunc(catalog.runcLines ?? [], req.version);
  const spec = parseSource(req.source, req.cwd);
  const choice = chooseImage({ runner: "docker", flag: req.image, pin: null, tree: null, catalog: { image: res.image, go: res.go } });
  return planBuild(res, { spec, ref: req.ref }, { choice }, req);
}
