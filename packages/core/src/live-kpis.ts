/**
 * STAND-IN until issue 13's read model lands (same file, same signature: take theirs on merge).
 * Reads the day's completed trips from the per-day GSI at request time: exact, but a Query per
 * write shard per call, and `as_of` is the read itself.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { formatDateTime } from "./datetime.js";
import { computeDayKpi } from "./day-kpis.js";
import type { DailyKpi } from "./kpi.js";

export type LiveKpi = DailyKpi & { as_of: string | null; freshness_s: number | null };

export async function liveKpis(db: DynamoDBDocumentClient, tableName: string, date: string, now: Date): Promise<LiveKpi | null> {
  const kpi = await computeDayKpi(db, tableName, date);
  return kpi ? { ...kpi, as_of: formatDateTime(now), freshness_s: 0 } : null;
}
