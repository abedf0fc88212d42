/**
 * Reconciliation of the live KPIs with the nightly job: the days of a window on which the two
 * disagree. A day whose live figures moved after the nightly run started is not drift (a late
 * completion the run could not see), nor is a day whose live figures are still settling (a stream
 * shard or the index behind): both are reported as unsettled and compared the next night. A day
 * whose live items expired has only its nightly row: nothing to compare.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { addDays, daysBetween } from "../domain/datetime.js";
import type { DailyKpi } from "../kpi/daily-kpis.js";
import { LIVE_FIELDS } from "../kpi/registry.js";
import { readDailyKpis } from "../nightly/kpi-rows-reader.js";
import type { Logger } from "../platform/logger.js";
import { KPI_DRIFT_METRIC } from "../platform/pipeline-spec.js";
import type { BlobStore } from "../store/blob-store.js";
import { isExpired, type LiveFigures, type LiveKpi, liveKpis } from "./live-kpis.js";

/** A live row as reported beside the nightly ones: the figures and whether they are settling. */
export type LiveRow = LiveFigures;

export interface DayComparison {
  pickup_date: string;
  live: LiveRow | null;
  nightly: DailyKpi | null;
}

export interface Reconciliation {
  /** Days that differ (the KpiDrift metric). */
  drift: number;
  differing: DayComparison[];
  /** Days that differ but whose live figures changed after the nightly run started, or are settling. */
  unsettled: string[];
  /** Days whose live items expired: the nightly rows serve them. */
  expired: string[];
  /** The live rows of the window. */
  live: LiveRow[];
}

/** The row without the freshness fields. */
export function asLiveRow(kpi: LiveKpi): LiveRow {
  const { as_of: _asOf, freshness_s: _freshness, ...row } = kpi;
  return row;
}

/**
 * Every live field of the registry agrees. A nightly value that is null (a row written before the
 * field existed) is not compared: there is nothing to compare with.
 */
export function sameKpi(a: LiveRow | DailyKpi | null, b: DailyKpi | null): boolean {
  if (a === null || b === null) return a === b;
  return LIVE_FIELDS.every(({ name }) => b[name] === null || a[name] === b[name]);
}

/**
 * Compares the live KPIs of `days` with the nightly rows. `runStartedAt` is when the nightly run
 * read the table (`YYYY-MM-DD HH:MM:SS`); live days with a newer as_of are unsettled.
 */
export async function reconcileKpis(
  db: DynamoDBDocumentClient,
  tableName: string,
  days: readonly string[],
  nightly: readonly DailyKpi[],
  runStartedAt: string,
  now: Date,
): Promise<Reconciliation> {
  const byDay = new Map(nightly.map((row) => [row.pickup_date, row]));
  const result: Reconciliation = { drift: 0, differing: [], unsettled: [], expired: [], live: [] };
  for (const day of [...new Set([...days, ...byDay.keys()])].sort()) {
    const live = await liveKpis(db, tableName, day, now);
    if (isExpired(live)) {
      result.expired.push(day);
      continue;
    }
    const row = live && asLiveRow(live);
    if (row) result.live.push(row);
    const expected = byDay.get(day) ?? null;
    if (sameKpi(row, expected)) continue;
    if (live && (live.settling || (live.as_of !== null && live.as_of > runStartedAt))) {
      result.unsettled.push(day);
      continue;
    }
    result.drift += 1;
    result.differing.push({ pickup_date: day, live: row, nightly: expected });
  }
  return result;
}

export interface NightlyRun {
  /** The run's window: END_DATE and the DAYS_WINDOW days up to it. */
  endDate: string;
  daysWindow: number;
  /** When the run started reading, `YYYY-MM-DD HH:MM:SS` UTC. */
  startedAt: string;
}

export interface ReconcileDeps {
  db: DynamoDBDocumentClient;
  tableName: string;
  /** The bucket holding `metrics/`. */
  metrics: BlobStore;
  logger: Logger;
  now: Date;
}

/**
 * After a nightly run: every day of its window compared, KpiDrift published as a CloudWatch
 * embedded-metric log line (no API call, no extra permission), each differing day logged.
 */
export async function reconcileNightlyRun(run: NightlyRun, deps: ReconcileDeps): Promise<Reconciliation> {
  const from = addDays(run.endDate, 1 - run.daysWindow);
  const days = daysBetween(from, run.endDate);
  const nightly = await readDailyKpis(deps.metrics, from, run.endDate);
  const result = await reconcileKpis(deps.db, deps.tableName, days, nightly, run.startedAt, deps.now);
  for (const day of result.differing) deps.logger.error(day, "live KPIs differ from the nightly KPIs");
  deps.logger.info(
    {
      _aws: {
        Timestamp: deps.now.getTime(),
        CloudWatchMetrics: [
          {
            Namespace: KPI_DRIFT_METRIC.namespace,
            Dimensions: [[]],
            Metrics: [
              { Name: KPI_DRIFT_METRIC.name, Unit: "Count" },
              { Name: KPI_DRIFT_METRIC.unsettled, Unit: "Count" },
            ],
          },
        ],
      },
      [KPI_DRIFT_METRIC.name]: result.drift,
      [KPI_DRIFT_METRIC.unsettled]: result.unsettled.length,
      window: { from, to: run.endDate },
      unsettled_days: result.unsettled,
      expired_days: result.expired,
    },
    "live KPIs reconciled with the nightly run",
  );
  return result;
}
