/**
 * pnpm gen-data: deterministic trip_start.csv / trip_end.csv with the real exports' columns,
 * invalid rows, duplicates, orphans and anomalies. The defaults reproduce the committed data/.
 */
import { parseStartDate, writeTripFiles } from "@trip-pipeline/local/generate";
import { intOption, parseCli, runWhenMain, UsageError } from "./lib/cli.js";

export const USAGE = `usage: pnpm gen-data [--trips N] [--days D] [--seed S] [--out DIR] [--start-date YYYY-MM-DD]

  --trips N                 trips to generate (default 2000); files get ~N rows each
  --days D                  pickup days (default 3)
  --seed S                  PRNG seed: same options, same files (default 42)
  --out DIR                 output folder (default data/)
  --start-date YYYY-MM-DD   first pickup day, UTC (default 2024-02-28: the sample spans a leap day)`;

export const SAMPLE_DEFAULTS = { trips: 2000, days: 3, seed: 42, startDate: "2024-02-28", out: "data" } as const;

const OPTIONS = {
  trips: { type: "string" },
  days: { type: "string" },
  seed: { type: "string" },
  out: { type: "string" },
  "start-date": { type: "string" },
  help: { type: "boolean", default: false },
} as const;

export async function main(argv: string[]): Promise<number> {
  const values = parseCli(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const startDate = values["start-date"] ?? SAMPLE_DEFAULTS.startDate;
  try {
    parseStartDate(startDate);
  } catch (error) {
    throw new UsageError(`--start-date: ${(error as Error).message}`);
  }
  const options = {
    trips: intOption("trips", values.trips, 0) ?? SAMPLE_DEFAULTS.trips,
    days: intOption("days", values.days, 1) ?? SAMPLE_DEFAULTS.days,
    seed: intOption("seed", values.seed, 0) ?? SAMPLE_DEFAULTS.seed,
    startDate,
    outDir: values.out ?? SAMPLE_DEFAULTS.out,
  };
  const started = Date.now();
  const written = await writeTripFiles(options);
  process.stdout.write(`wrote ${written.startFile} (${written.startRows} rows) and ${written.endFile} (${written.endRows} rows) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return 0;
}

export const launch = runWhenMain(import.meta.url, USAGE, main);
