/**
 * pnpm bench: every benchmark in scripts/bench/, one JSON line each on stdout (figures with the
 * ceilings they are compared to), then a short human summary on stderr. `pnpm bench --trips N`
 * is the scale benchmark: the pipeline alone on N generated trips (in a temporary folder), against
 * the ceiling measured in the same run.
 */
import { benchIngest } from "./bench/ingest.js";
import { benchFreshness } from "./bench/live-kpis.js";
import { benchPipeline } from "./bench/pipeline.js";
import { intOption, parseCli, runWhenMain } from "./lib/cli.js";
import { EXIT } from "./lib/exit-codes.js";
import type { Help } from "./lib/help.js";
import { jsonDocument } from "./lib/json-output.js";

export const HELP: Help = {
  command: "pnpm bench",
  synopsis: ["[--trips N]"],
  about:
    "Without options, every benchmark (ingest throughput and memory on about 5 million rows, the whole pipeline on the sample, live KPI freshness): one JSON line each on stdout, a summary on stderr; it takes more than 5 minutes. `node scripts/run.mjs bench-ingest --help` and `bench-pipeline` run parts alone.",
  options: [
    [
      "--trips N",
      "the pipeline alone on N generated trips (outside the repository), with its ceiling measured in the same run: wall time, events/s, ratio, peak RSS, heap after GC, Queries and writes per completed trip",
    ],
  ],
  failures:
    "the pipeline run measured drifted, left records in the DLQ, or (on generated trips) its KPIs differ from the generator's ground truth",
};

interface BenchResult {
  name: string;
  summary: string;
  /** The pipeline's own verdict on the run measured: a fast wrong answer is no figure. */
  drift?: number;
  dlq?: number;
  kpisEqualGroundTruth?: boolean;
}

export async function main(argv: string[]): Promise<number> {
  const trips = intOption("trips", parseCli(argv, { trips: { type: "string" } }).trips, 1);
  // Its runs log through their own loggers: on a terminal, only what went wrong.
  if (process.stderr.isTTY) process.env.LOG_LEVEL ??= "warn";
  const benches = trips === undefined ? [benchIngest, benchPipeline, benchFreshness] : [() => benchPipeline({ trips })];
  const results: BenchResult[] = [];
  for (const bench of benches) {
    const result = await bench();
    if (!result) continue;
    process.stdout.write(jsonDocument(result));
    results.push(result);
  }
  process.stderr.write(`\n${results.map((result) => result.summary).join("\n")}\n`);
  const wrong = results.some((result) => result.drift || result.dlq || result.kpisEqualGroundTruth === false);
  return wrong ? EXIT.failures : EXIT.done;
}

export const launch = runWhenMain(import.meta.url, HELP, main);
