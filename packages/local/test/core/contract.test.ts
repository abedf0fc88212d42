/**
 * golden/contract.json, the rules shared with the Glue job (pytest reads the same file): the
 * TypeScript side follows each one.
 */

import { CONTRACT } from "@trip-pipeline/core/domain/contract";
import { Decimal } from "@trip-pipeline/core/domain/decimal";
import { validateEvent } from "@trip-pipeline/core/domain/events";
import { computeDailyKpis } from "@trip-pipeline/core/kpi/daily-kpis";
import { metricsKey } from "@trip-pipeline/core/nightly/kpi-rows-layout";
import { TRIP_TABLE } from "@trip-pipeline/core/platform/pipeline-spec";
import { completedTripEntity, dayShardOf } from "@trip-pipeline/core/store/entities";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startEmulator } from "../support/test-table.js";

const { fare_domain: domain } = CONTRACT;
const endRow = (fare: string, extra: Record<string, string> = {}) => ({
  trip_id: "t",
  dropoff_datetime: "2024-05-25 10:00:00",
  fare_amount: fare,
  ...extra,
});

let emulator: Awaited<ReturnType<typeof startEmulator>>;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());

describe("fare domain: what validation accepts is exactly what DynamoDB stores exactly", () => {
  test.each(domain.accepted)("accepted as a fare and as a numeric extra: %s", (fare) => {
    expect(validateEvent("end", endRow(fare)).ok).toBe(true);
    expect(validateEvent("end", endRow("1", { tip_amount: fare })).ok).toBe(true);
  });

  test.each(domain.rejected)("rejected with invalid_fare: %s", (fare) => {
    const result = validateEvent("end", endRow(fare));
    expect(result.ok ? undefined : result.rejection.code).toBe("invalid_fare");
  });

  test("every accepted fare is stored by the DynamoDB emulator and reads back equal", async () => {
    const table = await emulator.newTable();
    const events = domain.accepted.map((fare, i) => validateEvent("end", { ...endRow(fare), trip_id: `t${i}` }));
    const requests = events.map((event) => (event.ok ? table.store.rawPut(event.value, 1) : expect.fail("valid")));
    expect(await table.store.writeAll(requests, { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 })).toEqual([]);
    const stored = new Map((await table.items()).map((item) => [String(item.trip_id), String(item.fare_amount)]));
    // Equal as numbers (DynamoDB normalises "0.00" to "0").
    domain.accepted.forEach((fare, i) => {
      expect(Decimal.parse(stored.get(`t${i}`)!).compare(Decimal.parse(fare))).toBe(0);
    });
  });

  test("the emulator refuses each number just outside the domain (the limits are DynamoDB's, not ours)", async () => {
    const table = await emulator.newTable();
    const outside = [`0.${"0".repeat(130)}1`, `1${"0".repeat(126)}`, `1.${"0".repeat(37)}1`];
    const failures = await table.store.writeAll(
      outside.map((fare, i) =>
        table.store.rawPut(
          { event_type: "end", trip_id: `o${i}`, dropoff_datetime: "2024-05-25 10:00:00", fare_amount: fare },
          1,
        ),
      ),
      { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    );
    expect(failures.map((f) => f.rejected)).toEqual([true, true, true]);
  });
});

describe("GSI and metrics layout", () => {
  test("completed items carry the contract's GSI keys, shard count included", () => {
    const gsi = CONTRACT.completed_by_day;
    expect([
      TRIP_TABLE.completedByDay.name,
      TRIP_TABLE.completedByDay.partitionKey,
      TRIP_TABLE.completedByDay.sortKey,
      TRIP_TABLE.completedByDay.shards,
    ]).toEqual([gsi.index_name, gsi.partition_key, gsi.sort_key, gsi.shards]);
    const trip = {
      trip_id: "trip-42",
      pickup_datetime: "2024-05-25 10:00:00",
      dropoff_datetime: "2024-05-25 10:30:00",
      estimated_fare: "1",
      fare_amount: "2",
    };
    const item = completedTripEntity.create(trip).params().Item as Record<string, string>;
    const fill = (template: string) =>
      template
        .replace("{pickup_date}", "2024-05-25")
        .replace("{day_shard}", dayShardOf(trip.trip_id, gsi.shards))
        .replace("{pickup_datetime}", trip.pickup_datetime)
        .replace("{trip_id}", trip.trip_id);
    expect(item[gsi.partition_key]).toBe(fill(gsi.partition_key_template));
    expect(item[gsi.sort_key]).toBe(fill(gsi.sort_key_template));
  });

  test("metrics objects follow the contract's path and file name", () => {
    expect(metricsKey("2024-02-29")).toBe("metrics/year=2024/month=02/day=29/part-00000.jsonl");
  });
});

describe("duplicate rule: one per trip_id, the earliest pickup", () => {
  test("whatever the order, a trip with several completions counts once, on its earliest pickup", () => {
    const rows = [
      {
        trip_id: "a",
        pickup_datetime: "2024-05-26 09:00:00",
        dropoff_datetime: "2024-05-26 09:30:00",
        fare_amount: "100",
        tip_amount: "9",
      },
      {
        trip_id: "a",
        pickup_datetime: "2024-05-25 23:00:00",
        dropoff_datetime: "2024-05-25 23:10:00",
        fare_amount: "7",
        tip_amount: "1",
      },
      {
        trip_id: "b",
        pickup_datetime: "2024-05-26 10:00:00",
        dropoff_datetime: "2024-05-26 10:05:00",
        fare_amount: "3",
      },
      {
        trip_id: "b",
        pickup_datetime: "2024-05-26 10:00:00",
        dropoff_datetime: "2024-05-26 10:05:00",
        fare_amount: "3.00",
      },
    ];
    fc.assert(
      fc.property(fc.shuffledSubarray(rows, { minLength: rows.length }), (order) => {
        expect(computeDailyKpis(order)).toMatchObject([
          {
            pickup_date: "2024-05-25",
            total_fare: "7.00",
            trip_count: 1,
            total_tip: "1.00",
            average_duration_minutes: "10.00",
          },
          {
            pickup_date: "2024-05-26",
            total_fare: "3.00",
            trip_count: 1,
            total_tip: "0.00",
            average_duration_minutes: "5.00",
          },
        ]);
      }),
    );
  });
});
