import { defineConfig } from "vitest/config";

// The tests of the decision modules Stryker mutates (stryker.config.mjs), and
// only those: every mutant runs them, so they must stay fast and pure (no CLI
// child processes, no builds).
export default defineConfig({
  test: {
    include: [
      "test/strategy/registry.test.ts",
      "test/strategy/runc-registry.test.ts",
      "test/audit/verdict.test.ts",
      "test/audit/verdict-reasons.test.ts",
      "test/audit/pin.test.ts",
      "test/audit/fix.test.ts",
      "test/audit/judge-runc.test.ts",
      "test/audit/analyse.test.ts",
      "test/artifact/outdir.test.ts",
      "test/catalog/runc-release.test.ts",
      "test/catalog/pin-check.test.ts",
      "test/io/confine.test.ts",
      "test/io/confine-rules.test.ts",
      "test/release/release.test.ts",
      "test/release/runc-version.test.ts",
    ],
    reporters: ["dot"],
  },
});
