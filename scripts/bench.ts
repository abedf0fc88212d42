/**
 * pnpm bench: every benchmark in scripts/bench/, one JSON line each on stdout (figures with the
 * ceilings they are compared to), then a short human summary on stderr.
 */
import { benchIngest } from "./bench/ingest.js";
import { benchFreshness } from "./bench/live-kpis.js";
import { benchPipeline } from "./bench/pipeline.js";
import { parseCli, runWhenMain } from "./lib/cli.js";
import { EXIT } from "./lib/exit-codes.js";
import type { Help } from "./lib/help.js";
import { jsonDocument } from "./lib/json-output.js";

export const HELP: Help = {
  command: "pnpm bench",
  synopsis: [""],
  about:
    "Runs every benchmark (ingest throughput and memory on about 5 million rows, the whole pipeline on the sample, live KPI freshness): one JSON line each on stdout, a summary on stderr. It takes more than 5 minutes; `node scripts/run.mjs bench-ingest --help` and `bench-pipeline` run parts alone.",
  options: [],
};

interface BenchResult {
  name: string;
  summary: string;
}

export async function main(argv: string[]): Promise<number> {
  parseCli(argv, {});
  // Its runs log through their own loggers: on a terminal, only what went wrong.
  if (process.stderr.isTTY) process.env.LOG_LEVEL ??= "warn";
  const results: BenchResult[] = [];
  for (const bench of [benchIngest, benchPipeline, benchFreshness]) {
    const result = await bench();
    if (!result) continue;
    process.stdout.write(jsonDocument(result));
    results.push(result);
  }
  process.stderr.write(`\n${results.map((result) => result.summary).join("\n")}\n`);
  return EXIT.done;
}

export const launch = runWhenMain(import.meta.url, HELP, main);
