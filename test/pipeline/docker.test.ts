import { describe, expect, it } from "vitest";
import { classifyDockerFailure, goVersionFromImage, parseGoVersion, parseImageInspect } from "../../src/pipeline/docker.js";

describe("classifyDockerFailure", () => {
  it.each([
    ["Cannot connect to the Docker daemon at unix:///tmp/dead.sock. Is the docker daemon running?", "E_DOCKER_DAEMON"],
    ['error during connect: Get "http://%2F%2F.%2Fpipe%2Fdocker_engine/v1.24/version": open //./pipe/docker_engine', "E_DOCKER_DAEMON"],
    ["permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get ...", "E_DOCKER_PERMISSION"],
    ["Error: No such image: nope:1", null],
  ])("%s → %s", (stderr, code) => {
    const e = classifyDockerFailure(stderr);
    expect(e?.code ?? null).toBe(code);
    if (e) {
      expect(e.exitCode).toBe(3);
      expect(e.hint).toBeTruthy();
    }
  });

  it("names the socket it could not reach", () => {
    expect(classifyDockerFailure("Cannot connect to the Docker daemon at unix:///tmp/dead.sock. Is the docker daemon running?")!.message).toContain(
      "unix:///tmp/dead.sock",
    );
  });
});

describe("image facts", () => {
  it("reads id, env and labels from docker image inspect", () => {
    const info = parseImageInspect(
      "x:1",
      JSON.stringify({ Id: "sha256:ab", Created: "2024", Config: { Env: ["PATH=/bin"], Labels: { "io.github.kubelet-nokmem.go-version": "1.19.8" } } }),
    );
    expect(info).toMatchObject({ ref: "x:1", id: "sha256:ab", go: "1.19.8" });
  });
  it("falls back to GOLANG_VERSION of golang-based images", () => {
    expect(goVersionFromImage(["GOLANG_VERSION=1.15.5"], {})).toBe("1.15.5");
    expect(goVersionFromImage([], {})).toBeNull();
  });
  it.each([
    ["go version go1.19.8 linux/amd64", "1.19.8"],
    ["go version go1.12 linux/amd64", "1.12"],
    ["nothing", null],
  ])("parseGoVersion(%s) = %s", (text, want) => expect(parseGoVersion(text)).toBe(want));
});
