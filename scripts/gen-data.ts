/**
 * pnpm gen-data: deterministic trip_start.csv / trip_end.csv with the real exports' columns,
 * invalid rows, duplicates, orphans and anomalies. The defaults reproduce the committed data/,
 * written to .local/data: the command never overwrites a file git tracks.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseStartDate, TRIP_FILE_NAMES, writeTripFiles } from "@trip-pipeline/local/generate";
import { intOption, parseCli, runWhenMain, UsageError } from "./lib/cli.js";
import { EXIT } from "./lib/exit-codes.js";
import type { Help } from "./lib/help.js";

export const SAMPLE_DEFAULTS = {
  trips: 2000,
  days: 3,
  seed: 42,
  startDate: "2024-02-28",
  out: join(".local", "data"),
} as const;

export const HELP: Help = {
  command: "pnpm gen-data",
  synopsis: ["[--trips N] [--days D] [--seed S] [--out DIR] [--start-date YYYY-MM-DD]"],
  about:
    "Generates a deterministic trip_start.csv and trip_end.csv with the real exports' columns, including invalid rows, duplicates, orphans and anomalies. The defaults reproduce the committed sample in data/.",
  options: [
    ["--trips N", `trips to generate (default ${SAMPLE_DEFAULTS.trips}); the files get about N rows each`],
    ["--days D", `pickup days (default ${SAMPLE_DEFAULTS.days})`],
    ["--seed S", `PRNG seed: same options, same files (default ${SAMPLE_DEFAULTS.seed})`],
    ["--out DIR", `output folder (default ${SAMPLE_DEFAULTS.out}); files git tracks (data/) are never overwritten`],
    [
      "--start-date YYYY-MM-DD",
      `first pickup day, UTC (default ${SAMPLE_DEFAULTS.startDate}: the sample spans a leap day)`,
    ],
  ],
};

const OPTIONS = {
  trips: { type: "string" },
  days: { type: "string" },
  seed: { type: "string" },
  out: { type: "string" },
  "start-date": { type: "string" },
} as const;

/** The files among `paths` that git tracks (none outside a git checkout, or without git). */
function trackedByGit(dir: string, paths: readonly string[]): string[] {
  if (!existsSync(dir)) return [];
  try {
    return execFileSync("git", ["ls-files", "--", ...paths], {
      cwd: dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    })
      .split("\n")
      .filter(Boolean);
  } catch {
    return [];
  }
}

export async function main(argv: string[]): Promise<number> {
  const values = parseCli(argv, OPTIONS);
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
  const tracked = trackedByGit(options.outDir, Object.values(TRIP_FILE_NAMES));
  if (tracked.length > 0)
    throw new Error(
      `--out ${options.outDir}: ${tracked.join(" and ")} ${tracked.length > 1 ? "are" : "is"} tracked by git and would be overwritten; give another --out (default ${SAMPLE_DEFAULTS.out})`,
    );
  const started = Date.now();
  const written = await writeTripFiles(options);
  process.stdout.write(
    `wrote ${written.startFile} (${written.startRows.toLocaleString("en-US")} rows) and ${written.endFile} (${written.endRows.toLocaleString("en-US")} rows) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  return EXIT.done;
}

export const launch = runWhenMain(import.meta.url, HELP, main);
