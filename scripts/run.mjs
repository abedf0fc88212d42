#!/usr/bin/env node
/**
 * Starts a CLI (`node scripts/run.mjs start ...`, what `pnpm start` runs) from prebuilt
 * JavaScript: bundled by esbuild on the first run and whenever a source changed (see
 * packages/local/src/prebuilt.mjs), then loaded by plain Node. No TypeScript loader in memory:
 * `pnpm ingest` streams millions of rows in a small footprint, and every command starts faster.
 */
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { prebuild } from "../packages/local/src/prebuilt.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Every command built from these sources; one build serves them all. */
const CLIS = {
  start: "scripts/start.ts",
  ingest: "scripts/ingest.ts",
  "gen-data": "scripts/gen-data.ts",
  "replay-failed": "scripts/replay-failed.ts",
  "check-order": "scripts/check-order.ts",
  kpis: "scripts/kpis.ts",
  redrive: "scripts/redrive.ts",
  bench: "scripts/bench.ts",
  "bench-ingest": "scripts/bench/ingest.ts",
  "bench-pipeline": "scripts/bench/pipeline.ts",
  "bench-ceiling": "scripts/bench/ceiling.ts",
  "local-kinesis-server": "scripts/lib/local-kinesis-server.ts",
  // Not a command: the local AWS starts it as its emulator thread, next to the bundle it runs from.
  "emulator-thread": "packages/local/src/emulator-thread.ts",
};

const [name, ...args] = process.argv.slice(2);
if (!name || !(name in CLIS) || name === "emulator-thread") {
  process.stderr.write(
    `usage: node scripts/run.mjs <${Object.keys(CLIS)
      .filter((cli) => cli !== "emulator-thread")
      .join("|")}> [options]\n`,
  );
  process.exit(1);
}
// On stderr: `pnpm -s start --json` keeps stdout for the document.
const building = () => process.stderr.write("building commands (first run, or sources changed): a few seconds\n");
const outputs = await prebuild(
  "cli",
  Object.fromEntries(Object.entries(CLIS).map(([cli, source]) => [cli, join(ROOT, source)])),
  ROOT,
  { onBuild: building },
);
// Each bundle exports its command's launch (it may hold other commands' modules, which do not run).
const { launch } = await import(pathToFileURL(outputs[name]).href);
if (typeof launch !== "function")
  throw new Error(`${CLIS[name]} exports no launch (see scripts/lib/cli.ts runWhenMain)`);
launch(args);
