import { defineConfig } from "vitest/config";

/**
 * The unit tests of the money and validation rules, for `pnpm test:mutation` only: Stryker runs
 * them once per mutant, so suites that start emulators or synthesise stacks stay out.
 */
export default defineConfig({
  test: {
    include: [
      "packages/core/test/decimal.test.ts",
      "packages/core/test/datetime.test.ts",
      "packages/core/test/events.test.ts",
      "packages/core/test/trip.test.ts",
      "packages/core/test/kpi.test.ts",
      "packages/core/test/csv.test.ts",
      "packages/core/test/matcher-decisions.test.ts",
      "packages/core/test/sequence-ranges.test.ts",
    ],
    setupFiles: ["packages/core/test/support/fast-check-seed.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { LOG_LEVEL: "silent", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
