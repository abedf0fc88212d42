/**
 * pnpm kpis: the daily KPIs of any date range. On a deployed stage it runs the Glue KPI job over
 * the range (backfillKpis in core: windows of at most 31 days, within the job's concurrency,
 * never over days an active run is recomputing), optionally waits for the runs, and prints the
 * rows read back from metrics/ (readKpiRange in core); `--read-only` and `--local` only read.
 *
 * Exit codes: scripts/lib/exit-codes.ts (without --wait, "done" is every run started).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { addDays, isCalendarDay } from "@trip-pipeline/core/domain/datetime";
import {
  ACTIVE_RUN_STATES,
  type BackfillResult,
  backfillKpis,
  type WindowRun,
} from "@trip-pipeline/core/nightly/backfill";
import { type KpiRangeReport, metricsDays, readKpiRange } from "@trip-pipeline/core/nightly/kpi-rows-reader";
import { DEFAULT_REGION } from "@trip-pipeline/core/platform/app";
import { METRICS_PREFIX } from "@trip-pipeline/core/platform/pipeline-spec";
import { type BlobStore, FolderBlobStore } from "@trip-pipeline/core/store/blob-store";
import { displayPath, parseCli, runWhenMain, UsageError } from "./lib/cli.js";
import { EXIT } from "./lib/exit-codes.js";
import type { Help } from "./lib/help.js";
import { jsonDocument } from "./lib/json-output.js";
import { clock, createStatusLine } from "./lib/progress.js";
import { formatTable, kpiTable } from "./lib/table.js";
import { type MetricsTarget, regionOf, resolveMetricsTarget } from "./lib/target.js";

export const HELP: Help = {
  command: "pnpm kpis",
  synopsis: [
    "--stage S --from YYYY-MM-DD --to YYYY-MM-DD [--wait | --read-only] [--json]",
    "--local [--out DIR] [--from YYYY-MM-DD --to YYYY-MM-DD] [--json]",
  ],
  about:
    "The daily KPIs of a date range: on a deployed stage it runs the Glue KPI job over the range and prints the rows read back from metrics/; --read-only and --local only read.",
  options: [
    [
      "--stage S",
      "a deployed stage: the KPI job from its Analytics stack outputs, the bucket from its Pipeline stack outputs (AWS credentials needed)",
    ],
    ["--from D, --to D", "the pickup days (UTC), both included"],
    ["--wait", "poll every job run to its final state before reading the rows"],
    ["--read-only", "start nothing: print the rows metrics/ holds, and the days without any"],
    ["--region R", `with --stage: AWS region (default AWS_REGION or ${DEFAULT_REGION})`],
    ["--local", "read the last `pnpm start --keep` output (default: every day it holds)"],
    ["--out DIR", "with --local: pnpm start's --out folder (default .local)"],
    ["--json", "print exactly one JSON document on stdout"],
  ],
  notes:
    "The range is computed in job runs of at most 31 days (--END_DATE, --DAYS_WINDOW), as many at a time as the job allows; a run already recomputing any of the days makes the command start nothing.",
  failures: "a job run failed, was refused or left unstarted, or KPI lines were unreadable",
};

const OPTIONS = {
  stage: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  wait: { type: "boolean", default: false },
  "read-only": { type: "boolean", default: false },
  region: { type: "string" },
  local: { type: "boolean", default: false },
  out: { type: "string" },
  json: { type: "boolean", default: false },
} as const;

/**
 * What `--json` prints. `backfill` is null when nothing was to be started (--read-only, --local);
 * `from`/`to` are null when --local found no rows to take the range from.
 */
export interface KpisReport extends Omit<KpiRangeReport, "from" | "to"> {
  from: string | null;
  to: string | null;
  source: string;
  backfill: BackfillResult | null;
}

export interface KpisDependencies {
  connect(stage: string, region: string): Promise<MetricsTarget>;
  /** Between polls of the job runs (tests make it instant). */
  sleep?: (ms: number) => Promise<void>;
}

const DEFAULTS: KpisDependencies = { connect: resolveMetricsTarget };

function dayOption(name: string, text: string | undefined): string | undefined {
  if (text !== undefined && !isCalendarDay(text))
    throw new UsageError(`--${name} must be a YYYY-MM-DD calendar day, got ${JSON.stringify(text)}`);
  return text;
}

export async function main(argv: string[], dependencies: KpisDependencies = DEFAULTS): Promise<number> {
  const values = parseCli(argv, OPTIONS);
  const from = dayOption("from", values.from);
  const to = dayOption("to", values.to);
  if ((from === undefined) !== (to === undefined)) throw new UsageError("give both --from and --to, or neither");
  if (from !== undefined && to !== undefined && from > to) throw new UsageError(`--to ${to} is before --from ${from}`);
  if (values.wait && values["read-only"])
    throw new UsageError("--wait waits for job runs; --read-only starts none: give one of them");

  let report: KpisReport;
  if (values.local) {
    if (values.stage !== undefined || values.region !== undefined)
      throw new UsageError("--local reads pnpm start's output: drop --stage/--region");
    if (values.wait) throw new UsageError("--local has no job runs to wait for (pnpm start computes the KPIs)");
    report = await readLocal(values.out ?? ".local", from && to ? { from, to } : undefined);
  } else {
    if (values.stage === undefined) throw new UsageError("give --stage S (a deployed stage) or --local");
    if (values.out !== undefined) throw new UsageError("--out goes with --local");
    if (!from || !to) throw new UsageError("--stage needs --from and --to");
    report = await onStage(
      values.stage,
      regionOf(values),
      { from, to },
      { wait: values.wait, readOnly: values["read-only"], json: values.json },
      dependencies,
    );
  }

  process.stdout.write(values.json ? jsonDocument(report) : humanReport(report));
  return warnings(report) ? EXIT.failures : EXIT.done;
}

async function onStage(
  stage: string,
  region: string,
  range: { from: string; to: string },
  options: { wait: boolean; readOnly: boolean; json: boolean },
  dependencies: KpisDependencies,
): Promise<KpisReport> {
  const target = await dependencies.connect(stage, region);
  try {
    let backfill: BackfillResult | null = null;
    if (!options.readOnly) {
      const status = createStatusLine(process.stderr, process.stderr.isTTY === true && !options.json);
      const started = Date.now();
      try {
        backfill = await backfillKpis({
          glue: target.glue,
          jobName: target.jobName,
          range,
          wait: options.wait,
          sleep: dependencies.sleep,
          onProgress: (windows) => status.show(`${progressText(windows)} | ${clock((Date.now() - started) / 1000)}`),
        });
      } finally {
        status.done();
      }
    }
    return { source: target.location, backfill, ...(await readKpiRange(target.store, range.from, range.to)) };
  } finally {
    target.close();
  }
}

async function readLocal(out: string, range: { from: string; to: string } | undefined): Promise<KpisReport> {
  const { runFolders } = await import("@trip-pipeline/local/runtime");
  const { bucketDir } = runFolders(out);
  if (!existsSync(bucketDir))
    throw new Error(`no pnpm start output in ${out}: run \`pnpm start --keep\` first (or give its --out folder)`);
  const store: BlobStore = new FolderBlobStore(bucketDir);
  const metrics = join(bucketDir, METRICS_PREFIX);
  const source = displayPath(metrics);
  const days = range ? undefined : await metricsDays(store);
  const { from, to } = range ?? { from: days![0], to: days!.at(-1) };
  if (!from || !to) return { source, backfill: null, from: null, to: null, kpis: [], missingDays: [], invalid: [] };
  return { source, backfill: null, ...(await readKpiRange(store, from, to)) };
}

/** `2 of 3 succeeded, 1 running | 2024-06-01..2024-06-30 RUNNING` */
function progressText(windows: readonly WindowRun[]): string {
  const counts = new Map<string, number>();
  for (const window of windows) counts.set(window.state, (counts.get(window.state) ?? 0) + 1);
  const current = windows.filter((window) => ACTIVE_RUN_STATES.has(window.state));
  return [
    `runs: ${[...counts].map(([state, n]) => `${n} ${state.toLowerCase()}`).join(", ")}`,
    ...current.map((w) => `${w.from}..${w.to} ${w.state}`),
  ].join(" | ");
}

/** Consecutive days folded: `2024-05-02..2024-05-10, 2024-05-12`. */
export function dayRanges(days: readonly string[]): string {
  const ranges: string[][] = [];
  for (const day of days) {
    const last = ranges.at(-1);
    if (last && addDays(last.at(-1)!, 1) === day) last.push(day);
    else ranges.push([day]);
  }
  return ranges.map((range) => (range.length === 1 ? range[0]! : `${range[0]}..${range.at(-1)}`)).join(", ");
}

/** Writes what needs attention on stderr; true when the exit code must say so. */
function warnings(report: KpisReport): boolean {
  const say = (text: string) => process.stderr.write(`${text}\n`);
  let attention = false;
  const backfill = report.backfill;
  if (backfill) {
    const windows = backfill.windows;
    const runs = `${backfill.jobName} runs`;
    switch (backfill.outcome) {
      case "refused":
        say(
          `error: ${backfill.jobName} is already recomputing some of these days; nothing was started. Run again once it has ended:`,
        );
        for (const run of backfill.blockedBy)
          say(
            `  run ${run.runId} ${run.state}${run.startedOn ? ` since ${run.startedOn}` : ""}, days ${run.window ? `${run.window.from}..${run.window.to}` : "unknown (unreadable arguments)"}`,
          );
        attention = true;
        break;
      case "failed":
        for (const w of windows.filter((window) => window.state !== "SUCCEEDED"))
          say(`error: ${w.from}..${w.to}: run ${w.runId ?? "-"} ${w.state}${w.error ? `: ${w.error}` : ""}`);
        say(
          `error: ${windows.filter((window) => window.state !== "SUCCEEDED").length} of ${windows.length} ${runs} did not succeed; their days keep their earlier rows (if any)`,
        );
        attention = true;
        break;
      case "incomplete":
        say(
          `error: ${windows.filter((window) => window.state === "NOT_STARTED").length} of ${windows.length} windows not started: the job runs ${backfill.concurrency} at a time. Add --wait, or run again once the started runs end`,
        );
        attention = true;
        break;
      case "started":
        say(
          `warning: ${windows.length} ${runs} started and not waited for: the rows below are from before them. Add --wait, or read them later with --read-only`,
        );
        break;
      case "succeeded":
        break;
    }
  }
  for (const row of report.invalid)
    say(`warning: ${row.key} line ${row.line} left out (${row.reason}): ${row.message}`);
  return attention || report.invalid.length > 0;
}

function humanReport(report: KpisReport): string {
  const parts: string[] = [];
  const backfill = report.backfill;
  if (backfill) {
    const runs = formatTable([
      ["from", "to", "days", "state", "run", "seconds", "error"],
      ...backfill.windows.map((w) => [
        w.from,
        w.to,
        w.arguments["--DAYS_WINDOW"]!,
        w.state,
        w.runId ?? "-",
        w.executionSeconds === undefined ? "-" : String(w.executionSeconds),
        w.error ?? "-",
      ]),
    ]);
    parts.push(`Job runs of ${backfill.jobName} (${backfill.concurrency} at a time)\n${runs}`);
  }
  if (!report.from) return [...parts, `No KPI rows in ${report.source}\n`].join("\n");
  const rows = report.kpis.length > 0 ? kpiTable(report.kpis) : "no rows\n";
  parts.push(`Daily KPIs (pickup day, UTC), ${report.from}..${report.to}, from ${report.source}\n${rows}`);
  if (report.missingDays.length > 0)
    parts.push(`Days without KPI rows (no completed trips, or not computed yet): ${dayRanges(report.missingDays)}\n`);
  return parts.join("\n");
}

export const launch = runWhenMain(import.meta.url, HELP, (argv) => main(argv));
