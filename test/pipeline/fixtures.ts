/**
 * The build options, staged tree and docker arguments the pipeline's plan
 * tests share: a v1.16.15 build in Docker, as uid 1000, of a tree staged at
 * /work/tree whose commit time is 1600000000.
 */
import type { BuildOptions } from "../../src/pipeline/build-plan.js";
import type { PlanOptions } from "../../src/pipeline/make-invocation.js";

export const CONTAINER = "kubelet-nokmem-build-x";
export const TREE = { root: "/work/tree", commitTime: 1600000000 };

export const BUILD_OPTIONS: BuildOptions = {
  runner: "docker",
  platforms: ["linux/amd64"],
  out: "/out",
  cacheDir: "/cache",
  uid: 1000,
  gid: 1000,
  pull: "missing",
  strictToolchain: false,
  linkMode: "auto",
  keepWork: false,
  signKeyId: null,
};

/** The make step's share of BUILD_OPTIONS, with the container's name already known. */
export const PLAN_OPTIONS: PlanOptions = {
  runner: BUILD_OPTIONS.runner,
  platforms: BUILD_OPTIONS.platforms,
  out: BUILD_OPTIONS.out,
  uid: BUILD_OPTIONS.uid,
  gid: BUILD_OPTIONS.gid,
  containerName: CONTAINER,
  cacheDir: BUILD_OPTIONS.cacheDir,
};

/** `docker run` (without `docker`) for v1.16.15 in TREE as CONTAINER: the Go cache volume and the image are what a test chose. */
export function v1_16_15DockerRun(goCacheVolume: string, image: string): string[] {
  return [
    "run",
    "--rm",
    "--name",
    CONTAINER,
    "--network",
    "none",
    "--user",
    "1000:1000",
    "-v",
    `${TREE.root}:/src`,
    "-v",
    `${goCacheVolume}:/src/_output/local/go/cache`,
    "-w",
    "/src",
    "-e",
    "GO111MODULE=off",
    "-e",
    "GOFLAGS=-tags=nokmem",
    "-e",
    "KUBE_GIT_VERSION_FILE=/src/_output/kubelet-nokmem/version.env",
    "-e",
    `SOURCE_DATE_EPOCH=${TREE.commitTime}`,
    "-e",
    "KUBE_BUILD_PLATFORMS=linux/amd64",
    "-e",
    "HOME=/tmp",
    image,
    "make",
    "WHAT=cmd/kubelet",
  ];
}
