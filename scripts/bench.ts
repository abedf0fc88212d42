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

export const USAGE = `usage: pnpm bench [--trips N]

  (no option)   ingest, end-to-end pipeline (the real sample, else 5,000 generated trips) and live KPI freshness
  --trips N     the pipeline alone on N generated trips, with its ceiling measured in the same run: wall time,
                events/s, ratio, peak RSS, heap after GC, Queries and writes per completed trip`;

interface BenchResult {
  name: string;
  summary: string;
}

export async function main(argv: string[]): Promise<number> {
  const values = parseCli(argv, { trips: { type: "string" }, help: { type: "boolean", default: false } });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const trips = intOption("trips", values.trips, 1);
  const benches = trips === undefined ? [benchIngest, benchPipeline, benchFreshness] : [() => benchPipeline({ trips })];
  const results: BenchResult[] = [];
  for (const bench of benches) {
    const result = await bench();
    process.stdout.write(`${JSON.stringify(result)}\n`);
    results.push(result);
  }
  process.stderr.write(`\n${results.map((result) => result.summary).join("\n")}\n`);
  return 0;
}

runWhenMain("bench", import.meta.url, USAGE, main);
