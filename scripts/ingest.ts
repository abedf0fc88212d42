/**
 * pnpm ingest: streams trip_start.csv and trip_end.csv into the trip stream of a deployed stage
 * (--stage) or of the local AWS (--endpoint). The work is ingestFiles in core; this is the CLI.
 *
 * Exit codes: scripts/lib/exit-codes.ts (rejected rows are a warning on stderr, not a failure).
 */

import { IngestStoppedError, type IngestSummary, ingestFiles } from "@trip-pipeline/core/ingest/ingest";
import { DEFAULT_REGION } from "@trip-pipeline/core/platform/app";
import { createLogger } from "@trip-pipeline/core/platform/logger";
import { TRIP_STREAM } from "@trip-pipeline/core/platform/pipeline-spec";
import { FailedTrail } from "@trip-pipeline/core/store/failed-trail";
import { intOption, parseCli, runWhenMain, terminalLogDestination, UsageError } from "./lib/cli.js";
import { EXIT } from "./lib/exit-codes.js";
import type { Help } from "./lib/help.js";
import { jsonDocument } from "./lib/json-output.js";
import { checkInputFile } from "./lib/preflight.js";
import { createProgressBar } from "./lib/progress.js";
import { formatTable, reasonsCell } from "./lib/table.js";
import { checkTargetOptions, DEFAULT_TRAIL_DIR, resolvePipelineTarget, TARGET_OPTIONS } from "./lib/target.js";

export const HELP: Help = {
  command: "pnpm ingest",
  synopsis: ["--start-file F --end-file F (--stage S | --endpoint URL | --dry-run) [options]"],
  about:
    "Streams trip_start.csv and trip_end.csv into the trip stream of a deployed stage or of a local Kinesis: rows validated, batched and retried; rejected and undeliverable rows go to the failed trail.",
  options: [
    ["--start-file F, --end-file F", "the two CSV exports (trip_start.csv, trip_end.csv)"],
    ["--stage S", "a deployed stage: stream and bucket from its Pipeline stack outputs (AWS credentials needed)"],
    ["--endpoint URL", "a local Kinesis: the one `pnpm start --serve` prints"],
    ["--stream NAME", `with --endpoint: the stream (default ${TRIP_STREAM.name})`],
    ["--trail-dir DIR", `with --endpoint: the local bucket folder for failed/ (default ${DEFAULT_TRAIL_DIR})`],
    ["--region R", `with --stage: AWS region (default AWS_REGION or ${DEFAULT_REGION})`],
    ["--concurrency N", "PutRecords calls in flight (default 2 per shard, 2 to 16)"],
    ["--dry-run", "validate and count only: nothing is sent or written"],
    ["--json", "print exactly one JSON summary on stdout"],
  ],
  notes:
    "On a terminal, log lines are readable one-liners (warnings and errors; LOG_LEVEL=info for more); into a pipe they are JSON lines.",
  failures: "some valid rows failed delivery (they are in the failed trail: `pnpm replay-failed`)",
};

const OPTIONS = {
  "start-file": { type: "string" },
  "end-file": { type: "string" },
  ...TARGET_OPTIONS,
  concurrency: { type: "string" },
  "dry-run": { type: "boolean", default: false },
  json: { type: "boolean", default: false },
} as const;

/** The summary as a plain-text table, one line per file (also printed by pnpm start). */
export function table(summary: IngestSummary): string {
  return formatTable([
    ["file", "read", "valid", "rejected", "sent", "failed", "reasons"],
    ...Object.entries(summary).map(([file, s]) => [
      file,
      ...[s.read, s.valid, s.rejected, s.sent, s.failed].map(String),
      reasonsCell(s.reasons),
    ]),
  ]);
}

export async function main(argv: string[]): Promise<number> {
  const values = parseCli(argv, OPTIONS);
  const startFile = values["start-file"];
  const endFile = values["end-file"];
  if (!startFile || !endFile) throw new UsageError("--start-file and --end-file are required");
  const concurrency = intOption("concurrency", values.concurrency, 1);
  const dryRun = values["dry-run"];
  checkTargetOptions(values, !dryRun);
  checkInputFile("start-file", startFile);
  checkInputFile("end-file", endFile);
  const logs = terminalLogDestination();
  // A dry run reads nothing remote (not even the stage's outputs) and writes nothing.
  const target = dryRun ? undefined : await resolvePipelineTarget(values, true);
  const logger = createLogger("ingest", {}, logs);
  const progress = createProgressBar(process.stderr, process.stderr.isTTY === true && !values.json);
  let summary: IngestSummary;
  try {
    summary = await ingestFiles({
      startFile,
      endFile,
      dryRun,
      sink: target?.sink,
      trail: target && new FailedTrail(target.store),
      concurrency,
      logger,
      onProgress: progress.update,
    });
  } catch (error) {
    if (!(error instanceof IngestStoppedError)) throw error;
    // What was read is accounted for: print it, then fail.
    progress.done();
    process.stdout.write(values.json ? jsonDocument(error.summary) : table(error.summary));
    process.stderr.write(`error: ${error.message}\n`);
    return EXIT.error;
  } finally {
    progress.done();
    target?.close();
  }

  process.stdout.write(values.json ? jsonDocument(summary) : table(summary));
  const rejected = summary.start.rejected + summary.end.rejected;
  const failed = summary.start.failed + summary.end.failed;
  const where = target ? ` (failed/start/, failed/end/ in ${target.location})` : "";
  if (rejected > 0)
    process.stderr.write(
      `warning: ${rejected} rows ${dryRun ? "would be " : ""}rejected (start ${summary.start.rejected}, end ${summary.end.rejected})${where}\n`,
    );
  if (failed > 0) {
    process.stderr.write(
      `error: ${failed} valid rows failed delivery (start ${summary.start.failed}, end ${summary.end.failed})${where}\n`,
    );
    return EXIT.failures;
  }
  return EXIT.done;
}

export const launch = runWhenMain(import.meta.url, HELP, main);
