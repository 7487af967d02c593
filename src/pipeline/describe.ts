/**
 * A BuildPlan for people and for `build --dry-run --json`. The JSON carries
 * the plan object itself, unchanged: pending facts appear as
 * `{"pending": "<fact>"}` and in `argv` as `<fact>`.
 */
import { formatCommand } from "../process/exec.js";
import { stepOf, type BuildPlan } from "./build-plan.js";
import { DOCKER, dockerRunArgs } from "./docker.js";
import { showPending } from "./facts.js";
import { isPending } from "./make-invocation.js";
import { runcBuildEnv, runcDockerArgs } from "./runc-make.js";

interface DryRunJson {
  dryRun: true;
  source: BuildPlan["source"];
  plan: BuildPlan;
  /** The make command as it will run, pending facts shown as `<fact>`. */
  argv: string[];
}

export function dryRunJson(plan: BuildPlan): DryRunJson {
  return { dryRun: true, source: plan.source, plan, argv: argvOf(plan) };
}

/** The make command line with pending facts shown as `<fact>`. */
export function argvOf(plan: BuildPlan): string[] {
  const make = stepOf(plan, "make");
  if (make.product === "runc") {
    // The tree's tags and module mode are read by the inspect step: shown as pending.
    const shown = showPending({ ...make, goModules: null, tags: { ...make.tags, buildTags: [`<buildTags>`] } });
    return [
      DOCKER,
      ...runcDockerArgs({
        containerName: shown.containerName,
        uid: shown.user.uid,
        gid: shown.user.gid,
        gopathVolume: shown.gopathVolume,
        tree: shown.tree,
        image: shown.image,
        goMod: null,
        buildTags: shown.tags.buildTags,
        commit: shown.commit,
      }),
    ];
  }
  const shown = showPending(make);
  return shown.runner === "docker" ? [DOCKER, ...dockerRunArgs(shown)] : shown.command;
}

export function describeBuildPlan(p: BuildPlan): string {
  const argv = argvOf(p);
  const img = p.image;
  const make = stepOf(p, "make");
  const imageStep = stepOf(p, "image");
  const cache =
    make.product === "runc"
      ? `volume ${showPending(make.gopathVolume)} → GOPATH`
      : (() => {
          const c = showPending(make.goCache);
          return `${c.kind} ${c.name} → ${c.target}`;
        })();
  const env = make.product === "runc" ? runcBuildEnv(null) : showPending(make.env);
  const lines = [
    `release:    ${p.product === "runc" ? `runc ${p.version}` : p.gitVersion} (line ${p.line}, strategy ${p.strategy}${p.affected ? "" : ", not affected"})`,
    `source:     ${p.source.kind} ${p.source.origin}${p.source.ref ? ` at ${p.source.ref}` : ""}`,
    `runner:     ${p.runner}`,
    ...(isPending(img)
      ? [`image:      chosen once the source is staged (its build/build-image files), pull ${imageStep.pull}`]
      : [
          `image:      ${img.ref} (rule: ${img.rule}; ${img.why}), pull ${imageStep.pull}`,
          ...(img.requested && img.requested !== img.ref ? [`            the tree names ${img.requested}`] : []),
          `go:         expected ${img.expectedGo ?? "unknown"} (from ${img.expectedGoFrom ?? "nothing"}); the image's Go is known once it is resolved${imageStep.strictToolchain ? " (--strict-toolchain: a difference fails)" : ""}`,
        ]),
    `go cache:   ${cache}`,
    ...(make.product === "kubelet"
      ? [
          `generated:  ${
            make.generated
              ? `${showPending(make.generated.entry)}, reused when its key matches (${make.generated.keyOf.join(", ")})`
              : "made by make every time (--runner local)"
          }`,
        ]
      : []),
    `platforms:  ${p.platforms.join(", ")}`,
    `env:`,
    ...env.map(([k, v]) => `  ${k}=${v}`),
    ...(make.product === "runc" ? [`tags:       BUILDTAGS="<${make.tags.from}> ${make.tags.add.join(" ")}"`.replace(/ "$/, '"')] : []),
    `command:    ${formatCommand({ file: argv[0]!, args: argv.slice(1) })}`,
    `steps:      ${p.steps.map((s) => s.step).join(" → ")}`,
    `pending:    ${Object.entries(p.pending)
      .map(([f, by]) => `${f} (${by})`)
      .join(", ")}`,
    `out:        ${p.out}`,
  ];
  return lines.join("\n");
}
