import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "stacks/test/**/*.test.ts", "scripts/test/**/*.test.ts"],
    // SST synthesis and the emulators are heavy: forked workers isolate them and keep a crashed suite from taking the rest down.
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    // Synthesizing the app bundles every function and builds the dashboard page (Vite): minutes on a loaded 2-core machine.
    hookTimeout: 300_000,
    env: { SST_TELEMETRY_DISABLED: "1", LOG_LEVEL: "silent", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
