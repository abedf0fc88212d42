import { configDefaults, defineConfig } from "vitest/config";

/**
 * Four projects, by what a test file starts. `unit` is the complement of the other three, so a
 * new test file always runs somewhere; scripts/test/test-projects.test.ts checks that every file
 * lands in exactly one project and that no unit file starts an emulator, a CLI or a synthesis.
 */
export const TEST_ROOTS = ["packages/*/test/**/*.test.ts", "stacks/test/**/*.test.ts", "scripts/test/**/*.test.ts"];

/** SST/CDK synthesis: every stacks test. */
export const INFRA_TESTS = ["stacks/test/**/*.test.ts"];

/** Spawns a CLI (tsx, pnpm start) or drives Chromium. */
export const E2E_TESTS = [
  "cli-errors",
  "cli-help",
  "cli-json",
  "dashboard-browser",
  "ingest-cli",
  "kpis-cli",
  "replay-failed",
  "serve-ingest",
  "start",
  "start-terminal",
].map((name) => `scripts/test/${name}.test.ts`);

/**
 * Starts dynalite, kinesalite, the embedded DynamoDB or LocalAws in-process. Matched by file name
 * in any package, so moving a suite between packages (core's emulator suites into local) needs no
 * change here; a name that is also a unit suite elsewhere is pinned to its package.
 */
export const EMULATOR_TESTS = [
  ...[
    "batch-write",
    "ceiling",
    "contract",
    "entities",
    "ingest",
    "live-kpis",
    "matcher",
    "replay",
    "environment",
    "every-record",
    "handlers",
    "kpi-aggregator",
    "kpi-aggregator.attack",
    "kpi-aggregator.model",
    "model",
    "reconcile-kpis",
    "delivery-faults",
    "dynamo-streams",
    "dynamodb-transport",
    "embedded-dynamodb",
    "expression-memo",
    "every-record-ends",
    "gsi-lag",
    "kinesis",
    "kinesis-throttle",
    "kpi-job",
    "local-aws-dynamodb",
    "runtime",
    "torn-reads",
    "ttl-sweeper",
  ].map((name) => `packages/*/test/**/${name}.test.ts`),
  // core's redrive suite is pure (a folder blob store); local's drives LocalAws.
  "packages/local/test/**/redrive.test.ts",
];

export default defineConfig({
  test: {
    // SST synthesis and the emulators are heavy: forked workers isolate them and keep a crashed suite from taking the rest down.
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    // Synthesizing the app bundles every function and builds the dashboard page (Vite): minutes on a loaded 2-core machine.
    hookTimeout: 300_000,
    env: { SST_TELEMETRY_DISABLED: "1", LOG_LEVEL: "silent", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: TEST_ROOTS,
          exclude: [...configDefaults.exclude, ...INFRA_TESTS, ...E2E_TESTS, ...EMULATOR_TESTS],
        },
      },
      { extends: true, test: { name: "emulator", include: EMULATOR_TESTS } },
      { extends: true, test: { name: "infra", include: INFRA_TESTS } },
      { extends: true, test: { name: "e2e", include: E2E_TESTS } },
    ],
  },
});
