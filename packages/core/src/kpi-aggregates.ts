/**
 * The live KPI aggregates of one pickup day as stored (entities `KpiShard` and `KpiExtremes`
 * under `KPI#<date>`): read with one strongly consistent Query, numbers exact.
 */
import { QueryCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { Decimal } from "./decimal.js";
import { KPI_PREFIX, kpiExtremesEntity, kpiShardEntity } from "./entities.js";
import { TRIP_TABLE } from "./pipeline-spec.js";

export interface ShardAggregate {
  shardId: string;
  /** Signed: a removal may be applied by another shard than its insert (stream shards roll over). */
  total: Decimal;
  count: number;
  lastSequence: string;
  asOf: string | null;
}

export interface DayExtremes {
  max: Decimal | null;
  min: Decimal | null;
  version: number;
}

export interface DayAggregates {
  shards: ShardAggregate[];
  extremes: DayExtremes | null;
}

/**
 * Every aggregate item of a day. The low-level Query (through whatever document client the
 * caller holds) keeps numbers as exact text, whether or not that client wraps numbers.
 */
export async function readDayAggregates(db: DynamoDBDocumentClient, tableName: string, date: string): Promise<DayAggregates> {
  const day: DayAggregates = { shards: [], extremes: null };
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "#pk = :day",
        ExpressionAttributeNames: { "#pk": TRIP_TABLE.partitionKey },
        ExpressionAttributeValues: { ":day": { S: `${KPI_PREFIX}${date}` } },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const raw of page.Items ?? []) {
      const Item = unmarshall(raw, { wrapNumbers: true });
      const shard = kpiShardEntity.parse({ Item }).data;
      if (shard) {
        day.shards.push({
          shardId: shard.shard_id,
          total: Decimal.parseNumber(shard.total_fare ?? shard.total_fare_text ?? "0"),
          count: shard.trip_count ?? 0,
          lastSequence: shard.last_sequence,
          asOf: shard.as_of ?? null,
        });
        continue;
      }
      const extremes = kpiExtremesEntity.parse({ Item }).data;
      if (extremes)
        day.extremes = {
          max: extremes.max_fare === undefined ? null : Decimal.parseNumber(extremes.max_fare),
          min: extremes.min_fare === undefined ? null : Decimal.parseNumber(extremes.min_fare),
          version: extremes.version ?? 0,
        };
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return day;
}
