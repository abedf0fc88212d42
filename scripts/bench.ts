/**
 * pnpm bench: every benchmark in scripts/bench/, one JSON line each on stdout (figures with the
 * ceilings they are compared to), then a short human summary on stderr.
 */
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { benchFreshness } from "./bench/live-kpis.js";
import { benchPipeline } from "./bench/pipeline.js";
import { runWhenMain } from "./lib/cli.js";

interface BenchResult {
  name: string;
  summary: string;
}

/** The ingest benchmark lives in its own module; it is run when present. */
async function benchIngest(): Promise<BenchResult | undefined> {
  const file = join(import.meta.dirname, "bench", "ingest.ts");
  const module = (await import(pathToFileURL(file).href).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ERR_MODULE_NOT_FOUND" && error.message.includes(file)) return undefined;
    throw error;
  })) as { benchIngest?: () => Promise<BenchResult> } | undefined;
  return module?.benchIngest?.();
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

runWhenMain(import.meta.url, "usage: pnpm bench", main);
