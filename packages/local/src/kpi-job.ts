/**
 * The daily KPI job of the local AWS: what the Glue job does in AWS, with the core's exact
 * arithmetic. Reads each day's COMPLETED trips through the per-day GSI (every write shard) and
 * writes `metrics/year=YYYY/month=MM/day=DD/part-00000.jsonl`, one line per day, in the Glue
 * job's line format (metrics-layout.ts). Each computed day's object is replaced; a day without
 * completed trips loses its object.
 */
import { type DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { type DailyKpi, DailyKpiAccumulator } from "@trip-pipeline/core/kpi/daily-kpis";
import { kpiLine, metricsKey } from "@trip-pipeline/core/nightly/kpi-rows-layout";
import { TRIP_TABLE } from "@trip-pipeline/core/platform/pipeline-spec";
import type { BlobStore } from "@trip-pipeline/core/store/blob-store";
import { allDayShards, createTripService, KPI_PREFIX } from "@trip-pipeline/core/store/entities";

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
  const wanted = [...new Set(days ?? (await completedDays(db, tableName)))].sort();
  // One accumulator over every day read: a trip with COMPLETED items on two of them counts once, on its earliest pickup.
  const accumulator = new DailyKpiAccumulator();
  for (const day of wanted) {
    const shards = await Promise.all(
      allDayShards().map((day_shard) =>
        completed.query.byPickupDay({ pickup_date: day, day_shard }).go({ pages: "all" }),
      ),
    );
    for (const { data } of shards) for (const trip of data) accumulator.add(trip);
  }
  const byDay = new Map(accumulator.results().map((kpi) => [kpi.pickup_date, kpi]));
  const kpis: DailyKpi[] = [];
  const outputs: string[] = [];
  for (const day of wanted) {
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

/** The pickup days that have completed trips: the GSI is sparse, it holds nothing else. */
function completedDays(db: DynamoDBDocumentClient, tableName: string): Promise<string[]> {
  return scanDays(
    db,
    { TableName: tableName, IndexName: TRIP_TABLE.completedByDay.name, ProjectionExpression: "pickup_date" },
    (item) => String(item.pickup_date),
  );
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
