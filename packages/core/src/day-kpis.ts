/** One pickup day's KPIs read from the per-day GSI of completed trips (every write shard). */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { allDayShards, createTripService } from "./entities.js";
import { DailyKpiAccumulator, type DailyKpi } from "./kpi.js";

/** undefined: no completed trip that day. */
export async function computeDayKpi(db: DynamoDBDocumentClient, tableName: string, day: string): Promise<DailyKpi | undefined> {
  const completed = createTripService(db, tableName).entities.completed;
  const accumulator = new DailyKpiAccumulator();
  const shards = await Promise.all(allDayShards().map((day_shard) => completed.query.byPickupDay({ pickup_date: day, day_shard }).go({ pages: "all" })));
  for (const { data } of shards) for (const trip of data) accumulator.add(trip);
  return accumulator.results()[0];
}
