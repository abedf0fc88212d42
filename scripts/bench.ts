/**
 * pnpm bench: every benchmark in scripts/bench/, one JSON line each on stdout (figures with the
 * ceilings they are compared to), then a short human summary on stderr.
 */
import { benchIngest } from "./bench/ingest.js";
import { benchFreshness } from "./bench/live-kpis.js";
import { benchPipeline } from "./bench/pipeline.js";
import { runWhenMain } from "./lib/cli.js";

interface BenchResult {
  name: string;
  summary: string;
}

export async function main(): Promise<number> {
  const results: BenchResult[] = [];
  for (const bench of [benchIngest, benchPipeline, benchFreshness]) {
    const result = await bench();
    if (!result) continue;
    process.stdout.write(`${JSON.stringify(result)}\n`);
    results.push(result);
  }
  process.stderr.write(`\n${results.map((result) => result.summary).join("\n")}\n`);
  return 0;
}

export const launch = runWhenMain(import.meta.url, "usage: pnpm bench", main);
