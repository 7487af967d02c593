import { defineConfig } from "vitest/config";

// Two projects so a developer can run the fast suite in seconds
// (`npm run test:fast`) while CI runs both. Slow tests are the ones that run
// real `go build`, `make` or Docker; they are named `*.slow.test.ts`.
export default defineConfig({
  test: {
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
