/**
 * Attacks on the live KPIs: each test is a scenario AWS may produce that the read
 * model or the aggregator got wrong.
 */

import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DeleteCommand, GetCommand } from "@aws-sdk/lib-dynamodb";
import { liveResponse } from "@trip-pipeline/core/dashboard/api";
import { liveKpis } from "@trip-pipeline/core/live/live-kpis";
import { createLiveHandler } from "@trip-pipeline/functions/api-live";
import { createKpiAggregatorHandler } from "@trip-pipeline/functions/kpi-aggregator";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { type KpiWorld, kpiWorld, completedTrip as trip } from "./kpi-support.js";
import { context } from "./support.js";

let world: KpiWorld;
beforeEach(async () => {
  world = await kpiWorld(1);
});
afterEach(() => world.close());

const NOW = new Date("2024-05-26T08:00:00Z");
const SHARD = "shardId-00000001716595200000-0a1b2c3d";
const changes = () => world.takeChanges().flatMap((shard) => shard.records);
const aggregator = () => {
  const handler = createKpiAggregatorHandler({ ...world.deps, now: () => NOW });
  return (records: ReturnType<typeof changes>) => handler({ Records: records, shardId: SHARD }, context());
};
const apiGet = (date: string) =>
  ({
    version: "2.0",
    routeKey: "GET /api/kpis/live",
    rawPath: "/api/kpis/live",
    rawQueryString: `date=${date}`,
    headers: {},
    queryStringParameters: { date },
    requestContext: { requestId: "req-1", http: { method: "GET", path: "/api/kpis/live" } },
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyEventV2;

describe("live KPIs under attack", () => {
  test("a removal applied before its insert (its batch in the DLQ) while other trips count: the average is never negative, the API never a 500", async () => {
    const big = trip("t", "2024-05-25 10:00:00", "90");
    await world.complete(big);
    const lost = changes(); // its batch exhausted its retries: in the on-failure destination, not yet redriven
    await world.complete(trip("u", "2024-05-25 11:00:00", "5"));
    await world.complete(trip("v", "2024-05-25 12:00:00", "5"));
    await world.remove(big); // re-matched away (or removed) later, on the same shard
    const aggregate = aggregator();
    await aggregate(changes());
    const kpi = await liveKpis(world.store.db, world.tableName, "2024-05-25", NOW);
    // count 2 - 1 = 1, total 10 - 90 = -80: settling, and no field the API's schema refuses.
    expect(kpi).toMatchObject({ trip_count: 1, total_fare: "-80.00", settling: true });
    expect(
      liveResponse.safeParse({ date: "2024-05-25", kpi, served_at: "2024-05-26 08:00:00", currency: "USD" }).success,
    ).toBe(true);
    const api = createLiveHandler({
      now: () => NOW,
      currency: "USD",
      live: (date, now) => liveKpis(world.store.db, world.tableName, date, now),
    });
    const response = (await api(apiGet("2024-05-25"), context())) as APIGatewayProxyStructuredResultV2;
    expect(response.statusCode).toBe(200);
    // The redrive settles it.
    await aggregate(lost);
    expect(await liveKpis(world.store.db, world.tableName, "2024-05-25", NOW)).toMatchObject({
      trip_count: 2,
      total_fare: "10.00",
      average_fare: "5.00",
      settling: false,
    });
  });

  test("a shard's batch that read the day settled, then wrote its part after another shard marked the day unsettled: the day must not stay settling once every change is applied", async () => {
    const two = await kpiWorld(2);
    try {
      const DAY = "2024-05-25";
      const handlerWith = (db: DynamoDBDocumentClient) =>
        createKpiAggregatorHandler({ ...two.deps, db, now: () => NOW });
      // Two trips of the day on different stream shards.
      const ids: string[] = [];
      const shardOfId = new Map<string, string>();
      for (let i = 0; ids.length < 2 && i < 40; i += 1) {
        await two.store.createCompleted(trip(`p${i}`, `2099-01-01 00:00:00`, "1"));
        const [taken] = two.takeChanges().filter((shard) => shard.records.length > 0);
        if (!ids.some((id) => shardOfId.get(id) === taken!.shardId)) {
          ids.push(`p${i}`);
          shardOfId.set(`p${i}`, taken!.shardId);
        }
      }
      const [a, b] = ids as [string, string];
      await two.store.createCompleted(trip(a, `${DAY} 10:00:00`, "50"));
      const plain = handlerWith(two.deps.db);
      for (const shard of two.takeChanges())
        if (shard.records.length > 0) await plain({ Records: shard.records, shardId: shard.shardId }, context());
      expect(await liveKpis(two.store.db, two.tableName, DAY, NOW)).toMatchObject({
        trip_count: 1,
        max_fare: "50.00",
        settling: false,
      });

      // b completes on its shard (within the extremes: Y writes no EXTREMES), a leaves on its shard (X: a recompute).
      await two.store.createCompleted(trip(b, `${DAY} 11:00:00`, "50"));
      await two.store.db.send(
        new DeleteCommand({ TableName: two.tableName, Key: { trip_id: a, sort_key: `COMPLETED#${DAY} 10:00:00` } }),
      );
      const batches = two.takeChanges().filter((shard) => shard.records.length > 0);
      const y = batches.find((shard) => shard.shardId === shardOfId.get(b))!;
      const x = batches.find((shard) => shard.shardId === shardOfId.get(a))!;

      // Y's part write is slow (throttled, retried by the SDK): it lands after X is done.
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let yReachedPart!: () => void;
      const reachedPart = new Promise<void>((resolve) => (yReachedPart = resolve));
      const slow = {
        send: async (command: { input: { Key?: Record<string, unknown> } }) => {
          if (String(command.input.Key?.sort_key ?? "").startsWith("SHARD#")) {
            yReachedPart();
            await gate;
          }
          return two.deps.db.send(command as never);
        },
      } as unknown as DynamoDBDocumentClient;
      const yDone = handlerWith(slow)({ Records: y.records, shardId: y.shardId }, context());
      await reachedPart;
      // X: the index has b, the sums do not yet: unsettled, as designed.
      expect(await plain({ Records: x.records, shardId: x.shardId }, context())).toEqual({
        batchItemFailures: [],
        state: {},
      });
      release();
      expect(await yDone).toEqual({ batchItemFailures: [], state: {} });

      // Every change of the day is applied now; nothing else will ever touch the day.
      expect(await liveKpis(two.store.db, two.tableName, DAY, NOW)).toMatchObject({
        trip_count: 1,
        total_fare: "50.00",
        max_fare: "50.00",
        min_fare: "50.00",
        settling: false,
      });
    } finally {
      await two.close();
    }
  });

  test("KPI_TTL_DAYS=1 (allowed): a day written again 23 hours later still expires a day after its last write, not an hour after it", async () => {
    let now = new Date("2024-05-26T00:00:00Z");
    const handler = createKpiAggregatorHandler({ ...world.deps, ttlDays: 1, now: () => now });
    await world.complete(trip("a", "2024-05-26 00:10:00", "10"));
    await handler({ Records: changes(), shardId: SHARD }, context());
    now = new Date("2024-05-26T23:00:00Z");
    await world.complete(trip("b", "2024-05-26 22:50:00", "10"));
    await handler({ Records: changes(), shardId: SHARD }, context());
    const { Item } = await world.store.db.send(
      new GetCommand({ TableName: world.tableName, Key: { trip_id: "KPI#2024-05-26", sort_key: "EXTREMES" } }),
    );
    const expiresAt = Number(String(Item!.expires_at));
    // At most a day's slack is fine for 35 days, not for 1: the day being written now would be retired (TTL) within the hour.
    expect(expiresAt).toBeGreaterThanOrEqual(now.getTime() / 1000 + 86_400 / 2);
  });

  test("a batch that changes neither the extremes, their settledness nor a due expiry writes only its part: one write, not two", async () => {
    const aggregate = aggregator();
    await world.complete(trip("a", "2024-05-25 10:00:00", "10"));
    await world.complete(trip("b", "2024-05-25 11:00:00", "30"));
    await aggregate(changes());
    const before = world.faults.writes;
    await world.complete(trip("c", "2024-05-25 12:00:00", "20"));
    await aggregate(changes());
    expect(await liveKpis(world.store.db, world.tableName, "2024-05-25", NOW)).toMatchObject({
      trip_count: 3,
      max_fare: "30.00",
      min_fare: "10.00",
      settling: false,
    });
    expect(world.faults.writes - before).toBe(1);
  });
});
