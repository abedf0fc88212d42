/**
 * The daily KPI job of the local AWS: what the Glue job does in AWS, with the core's exact
 * arithmetic. Reads the COMPLETED trips in one scan of the table and writes
 * `metrics/year=YYYY/month=MM/day=DD/part-00000.jsonl`, one line per day, in the Glue job's line
 * format (metrics-layout.ts). Each computed day's object is replaced; a day without completed
 * trips loses its object.
 *
 * A scan returns a trip's items together, in sort key order, so a trip's first COMPLETED item is
 * its earliest pickup: the contract's duplicate rule then needs no memory of other trips, and a
 * day's export of a million trips is folded in bounded memory (DailyTotals).
 */
import { type DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { dateOf } from "@trip-pipeline/core/domain/datetime";
import { type DailyKpi, DailyTotals, type KpiTrip } from "@trip-pipeline/core/kpi/daily-kpis";
import { kpiLine, metricsKey } from "@trip-pipeline/core/nightly/kpi-rows-layout";
import { TRIP_TABLE } from "@trip-pipeline/core/platform/pipeline-spec";
import type { BlobStore } from "@trip-pipeline/core/store/blob-store";
import { createTripService, KPI_PREFIX } from "@trip-pipeline/core/store/entities";

export interface KpiJobResult {
  kpis: DailyKpi[];
  /** Keys written in the bucket. */
  outputs: string[];
}

export async function runLocalKpiJob(
  db: DynamoDBDocumentClient,
  tableName: string,
  bucket: BlobStore,
  days?: readonly string[],
): Promise<KpiJobResult> {
  const completed = createTripService(db, tableName).entities.completed;
  const only = days && new Set(days);
  const totals = new DailyTotals();
  let previousTrip: string | undefined;
  let cursor: string | null = null;
  do {
    const page: { data: KpiTrip[]; cursor: string | null } = await completed.scan.go({ cursor, pages: 1 });
    for (const trip of page.data) {
      // A later COMPLETED item of the trip just counted (re-matched, not yet removed): not the trip's pickup.
      if (trip.trip_id === previousTrip) continue;
      previousTrip = trip.trip_id;
      if (!only || only.has(dateOf(trip.pickup_datetime))) totals.add(trip);
    }
    cursor = page.cursor;
  } while (cursor);
  const byDay = new Map(totals.results().map((kpi) => [kpi.pickup_date, kpi]));
  const kpis: DailyKpi[] = [];
  const outputs: string[] = [];
  for (const day of [...new Set(days ?? byDay.keys())].sort()) {
    const kpi = byDay.get(day);
    const key = metricsKey(day);
    if (!kpi) {
      await bucket.delete(key);
      continue;
    }
    await bucket.put(key, `${kpiLine(kpi)}\n`);
    kpis.push(kpi);
    outputs.push(key);
  }
  return { kpis, outputs };
}

/** The pickup days that have live KPI items (a local run's table is small enough to scan). */
export function liveKpiDays(db: DynamoDBDocumentClient, tableName: string): Promise<string[]> {
  return scanDays(
    db,
    {
      TableName: tableName,
      FilterExpression: "begins_with(#pk, :kpi)",
      ExpressionAttributeNames: { "#pk": TRIP_TABLE.partitionKey },
      ExpressionAttributeValues: { ":kpi": KPI_PREFIX },
      ProjectionExpression: "#pk",
    },
    (item) => String(item[TRIP_TABLE.partitionKey]).slice(KPI_PREFIX.length),
  );
}

async function scanDays(
  db: DynamoDBDocumentClient,
  params: ConstructorParameters<typeof ScanCommand>[0],
  dayOf: (item: Record<string, unknown>) => string,
): Promise<string[]> {
  const days = new Set<string>();
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(new ScanCommand({ ...params, ExclusiveStartKey: startKey }));
    for (const item of page.Items ?? []) days.add(dayOf(item));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return [...days].sort();
}
