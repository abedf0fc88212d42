/**
 * pnpm replay-failed: the CLI over core's replayFailed (@trip-pipeline/core/ingest), which
 * re-validates the failed trail and re-sends the now-valid records to the trip stream.
 *
 * Exit codes: scripts/lib/exit-codes.ts (records still invalid are a warning on stderr, not a failure).
 */

import type { EventType } from "@trip-pipeline/core/domain/events";
import { type ReplaySummary, replayFailed } from "@trip-pipeline/core/ingest/replay";
import { DEFAULT_REGION } from "@trip-pipeline/core/platform/app";
import { createLogger } from "@trip-pipeline/core/platform/logger";
import { FAILED_PREFIX, TRIP_STREAM } from "@trip-pipeline/core/platform/pipeline-spec";
import { parseCli, runWhenMain, terminalLogDestination, UsageError } from "./lib/cli.js";
import { EXIT } from "./lib/exit-codes.js";
import type { Help } from "./lib/help.js";
import { jsonDocument } from "./lib/json-output.js";
import { formatTable, reasonsCell } from "./lib/table.js";
import { DEFAULT_TRAIL_DIR, resolvePipelineTarget, TARGET_OPTIONS } from "./lib/target.js";

export const HELP: Help = {
  command: "pnpm replay-failed",
  synopsis: ["[--trail-dir DIR | --stage S] [--endpoint URL [--stream NAME]] [options]"],
  about:
    "Re-validates the failed trail (failed/start/, failed/end/) and re-sends the records that are now valid to the trip stream; records still invalid stay in the trail.",
  options: [
    [
      "--stage S",
      "a deployed stage: the trail in its bucket, re-sent to its stream (stack outputs; AWS credentials needed)",
    ],
    ["--trail-dir DIR", `a local bucket folder holding failed/ (default ${DEFAULT_TRAIL_DIR}); with --endpoint`],
    ["--endpoint URL", "a local Kinesis to re-send to: the one `pnpm start --serve` prints"],
    ["--stream NAME", `with --endpoint: the stream (default ${TRIP_STREAM.name})`],
    ["--region R", `with --stage: AWS region (default AWS_REGION or ${DEFAULT_REGION})`],
    ["--kind K", "start, end or all (default all)"],
    ["--dry-run", "re-validate and report only: nothing is sent or moved"],
    ["--json", "print exactly one JSON summary on stdout"],
  ],
  failures: "some records failed delivery (they stay in the trail)",
};

const OPTIONS = {
  ...TARGET_OPTIONS,
  kind: { type: "string", default: "all" },
  "dry-run": { type: "boolean", default: false },
  json: { type: "boolean", default: false },
} as const;

function kindsOf(value: string): EventType[] {
  if (value === "all") return ["start", "end"];
  if (value === "start" || value === "end") return [value];
  throw new UsageError(`--kind must be start, end or all, got ${JSON.stringify(value)}`);
}

export function table(summary: ReplaySummary): string {
  const rows = Object.entries(summary).map(([kind, s]) => [
    kind,
    ...[s.read, s.valid, s.sent, s.failed, s.invalid].map(String),
    reasonsCell(s.reasons),
  ]);
  return formatTable([["kind", "read", "valid", "sent", "failed", "invalid", "still invalid by reason"], ...rows]);
}

export async function main(argv: string[]): Promise<number> {
  const values = parseCli(argv, OPTIONS);
  const kinds = kindsOf(values.kind);
  const dryRun = values["dry-run"];
  const logs = terminalLogDestination();
  const target = await resolvePipelineTarget(values, !dryRun);
  const logger = createLogger("replay-failed", {}, logs);
  let summary: ReplaySummary;
  try {
    summary = await replayFailed({ store: target.store, sink: target.sink, kinds, dryRun, logger });
  } finally {
    target.close();
  }
  process.stdout.write(values.json ? jsonDocument(summary) : table(summary));
  const totals = Object.values(summary).reduce(
    (sum, s) => ({ invalid: sum.invalid + s.invalid, failed: sum.failed + s.failed }),
    { invalid: 0, failed: 0 },
  );
  const where = `(${kinds.map((kind) => FAILED_PREFIX[kind]).join(", ")} in ${target.location})`;
  if (totals.invalid > 0)
    process.stderr.write(`warning: ${totals.invalid} records are still invalid and stay in the trail ${where}\n`);
  if (totals.failed > 0) {
    process.stderr.write(`error: ${totals.failed} valid records failed delivery and stay in the trail ${where}\n`);
    return EXIT.failures;
  }
  return EXIT.done;
}

export const launch = runWhenMain(import.meta.url, HELP, main);
