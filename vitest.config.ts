import { defineConfig } from "vitest/config";

// Two projects so a developer can run the fast suite in seconds
// (`npm run test:fast`) while CI runs both. Slow tests are the ones that run
// real `go build`, `make` or Docker; they are named `*.slow.test.ts`.
export default defineConfig({
  test: {
    // The JSON report lets .ci/run print a plain "N passed, N failed" line.
    reporters: ["default", "json"],
    outputFile: { json: "node_modules/.cache/kubelet-nokmem/vitest-report.json" },
    projects: [
      {
        test: {
          name: "fast",
          include: ["test/**/*.test.ts"],
          exclude: ["test/**/*.slow.test.ts", "node_modules/**"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "slow",
          include: ["test/**/*.slow.test.ts"],
          testTimeout: 20 * 60_000,
          hookTimeout: 20 * 60_000,
          // Builds compete for two cores; run slow files one after another.
          fileParallelism: false,
        },
      },
    ],
  },
});
