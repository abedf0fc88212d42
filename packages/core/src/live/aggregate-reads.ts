/**
 * The live KPI aggregates of one pickup day as stored (entities `KpiShard`, `KpiExtremes` and
 * `KpiExpired` under `KPI#<date>`): read with strongly consistent Queries, numbers exact.
 */
import { type AttributeValue, QueryCommand } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { Decimal } from "../domain/decimal.js";
import { LIVE_SUM_SOURCES } from "../kpi/registry.js";
import { TRIP_TABLE } from "../platform/pipeline-spec.js";
import {
  KPI_PREFIX,
  KPI_SHARD_PREFIX,
  kpiExpiredEntity,
  kpiExtremesEntity,
  kpiShardEntity,
} from "../store/entities.js";
import { parseRanges, type SequenceRange } from "../streams/sequence-ranges.js";

export interface ShardPart {
  shardId: string;
  part: number;
  /** By source column. Signed: a removal may be applied through another part, or another shard, than its insert. */
  sums: Map<string, Decimal>;
  count: number;
  applied: SequenceRange[];
  version: number;
  asOf: string | null;
}

export interface DayExtremes {
  max: Decimal | null;
  min: Decimal | null;
  /** Set while they disagree with the day's sums: readers show the day as settling. */
  unsettledSince: string | null;
  version: number;
  expiresAt: number | null;
}

export interface DayAggregates {
  parts: ShardPart[];
  extremes: DayExtremes | null;
  /** The day's live items expired (its EXPIRED marker exists): the nightly rows serve it. */
  expired: boolean;
}

/**
 * Every aggregate item of a day, read in DESCENDING key order (SHARD# parts, then EXTREMES, then
 * EXPIRED): a Query is not a snapshot, and EXTREMES is always written before any part, so a part
 * seen means its EXTREMES is seen too, unless TTL deleted it (a day being retired).
 */
export function readDayAggregates(db: DynamoDBDocumentClient, tableName: string, date: string): Promise<DayAggregates> {
  return queryDay(db, tableName, date, undefined);
}

/** TTL took the day's EXTREMES (its parts are left without it), or the day was marked expired. */
export function isRetired(day: DayAggregates): boolean {
  return day.expired || (day.extremes === null && day.parts.length > 0);
}

/**
 * What one stream shard's consumer needs of a day: the day's markers (EXPIRED, EXTREMES: they sort
 * before every SHARD# key) and that shard's parts only, so a batch reads no other shard's ranges.
 */
export async function readShardOfDay(
  db: DynamoDBDocumentClient,
  tableName: string,
  date: string,
  shardId: string,
): Promise<DayAggregates> {
  const [markers, parts] = await Promise.all([
    readDayMarkers(db, tableName, date),
    queryDay(db, tableName, date, { beginsWith: `${KPI_SHARD_PREFIX}${shardId}#` }),
  ]);
  return { ...markers, parts: parts.parts };
}

/** The day's EXTREMES and EXPIRED items only (no parts). */
export function readDayMarkers(db: DynamoDBDocumentClient, tableName: string, date: string): Promise<DayAggregates> {
  return queryDay(db, tableName, date, { lessThan: KPI_SHARD_PREFIX });
}

/**
 * The low-level Query (through whatever document client the caller holds) keeps numbers as exact
 * text, whether or not that client wraps numbers.
 */
async function queryDay(
  db: DynamoDBDocumentClient,
  tableName: string,
  date: string,
  sortKey: { lessThan: string } | { beginsWith: string } | undefined,
): Promise<DayAggregates> {
  const day: DayAggregates = { parts: [], extremes: null, expired: false };
  const condition =
    sortKey === undefined ? "" : "lessThan" in sortKey ? " AND #sk < :sk" : " AND begins_with(#sk, :sk)";
  const sortValue = sortKey === undefined ? undefined : "lessThan" in sortKey ? sortKey.lessThan : sortKey.beginsWith;
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: `#pk = :day${condition}`,
        ExpressionAttributeNames: {
          "#pk": TRIP_TABLE.partitionKey,
          ...(sortValue !== undefined && { "#sk": TRIP_TABLE.sortKey }),
        },
        ExpressionAttributeValues: {
          ":day": { S: `${KPI_PREFIX}${date}` },
          ...(sortValue !== undefined && { ":sk": { S: sortValue } }),
        },
        ConsistentRead: true,
        ScanIndexForward: false,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const raw of page.Items ?? []) readItem(day, unmarshall(raw, { wrapNumbers: true }));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return day;
}

function readItem(day: DayAggregates, Item: Record<string, unknown>): void {
  const part = kpiShardEntity.parse({ Item }).data;
  if (part) {
    day.parts.push({
      shardId: part.shard_id,
      part: Number(part.part),
      sums: new Map(Object.entries(part.sums).map(([source, sum]) => [source, Decimal.parseNumber(String(sum))])),
      count: part.trip_count ?? 0,
      applied: parseRanges(part.applied),
      version: part.version ?? 0,
      asOf: part.as_of ?? null,
    });
    return;
  }
  const extremes = kpiExtremesEntity.parse({ Item }).data;
  if (extremes) {
    day.extremes = {
      max: extremes.max_fare === undefined ? null : Decimal.parseNumber(extremes.max_fare),
      min: extremes.min_fare === undefined ? null : Decimal.parseNumber(extremes.min_fare),
      unsettledSince: extremes.unsettled_since ?? null,
      version: extremes.version ?? 0,
      expiresAt: extremes.expires_at ?? null,
    };
    return;
  }
  if (kpiExpiredEntity.parse({ Item }).data) day.expired = true;
}

/**
 * The sums and count over the day's parts. A source is summed only where every part has it: a part
 * written before its field joined the registry never summed it, so the day's figure stays unknown
 * (null in the live row) until the day's live items expire.
 */
export function dayTotals(parts: readonly ShardPart[]): { sums: Map<string, Decimal>; count: number } {
  const sums = new Map<string, Decimal>();
  for (const source of LIVE_SUM_SOURCES) {
    if (parts.every((part) => part.sums.has(source)))
      sums.set(
        source,
        parts.reduce((sum, part) => sum.plus(part.sums.get(source)!), Decimal.ZERO),
      );
  }
  return { sums, count: parts.reduce((count, part) => count + part.count, 0) };
}
