import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { kpiLine, metricsKey } from "@trip-pipeline/core/nightly/kpi-rows-layout";
import { createDocumentClient, createDynamoDbClient } from "@trip-pipeline/core/platform/aws-clients";
import { FolderBlobStore } from "@trip-pipeline/core/store/blob-store";
import { createTripService } from "@trip-pipeline/core/store/entities";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTripTable, type LocalServer, startLocalDynamoDb } from "../src/dynamo.js";
import { runLocalKpiJob } from "../src/kpi-job.js";

let server: LocalServer;
let raw: DynamoDBClient;
let root: string;

beforeAll(async () => {
  server = await startLocalDynamoDb();
  raw = createDynamoDbClient({ endpoint: server.endpoint });
  await createTripTable(raw);
  root = await mkdtemp(join(tmpdir(), "kpi-job-"));
});
afterAll(async () => {
  raw.destroy();
  await server.close();
  await rm(root, { recursive: true, force: true });
});

describe("the local KPI job", () => {
  test("computes each pickup day from its completed trips and writes the Glue job's line format", async () => {
    const db = createDocumentClient(raw);
    const trips = createTripService(db, "TripData");
    const completed = (
      trip_id: string,
      pickup: string,
      fare: string,
      extras: { dropoff_datetime?: string; tip_amount?: string; trip_distance?: string } = {},
    ) =>
      trips.entities.completed
        .create({
          trip_id,
          pickup_datetime: pickup,
          dropoff_datetime: pickup,
          estimated_fare: "1",
          fare_amount: fare,
          ...extras,
        })
        .go();
    // 2024-02-29: 40 trips over many GSI shards, fares 0.005 .. 0.200 (total 4.1, average 0.1025, min 0.005: half-up 0.01).
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        completed(
          `leap-${i}`,
          `2024-02-29 ${String(i % 24).padStart(2, "0")}:00:00`,
          `0.${String((i + 1) * 5).padStart(3, "0")}`,
        ),
      ),
    );
    await completed("march", "2024-03-01 23:59:59", "10.005", {
      dropoff_datetime: "2024-03-02 00:12:29",
      tip_amount: "1.995",
      trip_distance: "3.14159",
    });
    await trips.entities.rawStart
      .put({ trip_id: "pending", pickup_datetime: "2024-02-29 12:00:00", variant: "v", estimated_fare: "99" })
      .go();

    const bucket = new FolderBlobStore(root);
    await bucket.put(metricsKey("2024-01-01"), "stale, not recomputed\n");
    await bucket.put(metricsKey("2024-03-02"), "stale, recomputed empty\n");
    const { kpis, outputs } = await runLocalKpiJob(db, "TripData", bucket);

    const none = { total_tip: "0.00", total_distance: "0.00", average_duration_minutes: "0.00" };
    expect(kpis).toMatchObject([
      {
        pickup_date: "2024-02-29",
        total_fare: "4.10",
        trip_count: 40,
        average_fare: "0.10",
        max_fare: "0.20",
        min_fare: "0.01",
        ...none,
        median_fare: "0.10",
      },
      {
        pickup_date: "2024-03-01",
        total_fare: "10.01",
        trip_count: 1,
        average_fare: "10.01",
        max_fare: "10.01",
        min_fare: "10.01",
        total_tip: "2.00",
        total_distance: "3.14",
        average_duration_minutes: "12.50",
        median_fare: "10.01",
      },
    ]);
    expect(outputs).toEqual([
      "metrics/year=2024/month=02/day=29/part-00000.jsonl",
      "metrics/year=2024/month=03/day=01/part-00000.jsonl",
    ]);
    expect(await bucket.get(outputs[0]!)).toMatch(
      /^\{"pickup_date":"2024-02-29","total_fare":4\.10,"trip_count":40,"average_fare":0\.10,"max_fare":0\.20,"min_fare":0\.01,"total_tip":0\.00,"total_distance":0\.00,"average_duration_minutes":0\.00,"median_fare":0\.10[,}]/,
    );
    expect(JSON.parse((await bucket.get(outputs[1]!))!)).toMatchObject({
      pickup_date: "2024-03-01",
      total_fare: 10.01,
      total_tip: 2,
      total_distance: 3.14,
      average_duration_minutes: 12.5,
    });

    // Days named explicitly: a day without completed trips loses its object, other days are untouched.
    const again = await runLocalKpiJob(db, "TripData", bucket, ["2024-03-02"]);
    expect(again).toEqual({ kpis: [], outputs: [] });
    expect(await bucket.get(metricsKey("2024-03-02"))).toBeUndefined();
    expect(await bucket.get(metricsKey("2024-01-01"))).toBe("stale, not recomputed\n");
  });

  test("counts a trip with two COMPLETED items once, on its earliest pickup, whichever days are asked for", async () => {
    const db = createDocumentClient(raw);
    const { completed } = createTripService(db, "TripData").entities;
    const trip = (trip_id: string, pickup: string, fare: string) =>
      completed
        .create({ trip_id, pickup_datetime: pickup, dropoff_datetime: pickup, estimated_fare: "1", fare_amount: fare })
        .go();
    // Re-matched to an earlier pickup, the later item not yet removed; other trips around it in the table.
    await trip("twice", "2024-05-02 10:00:00", "7.00");
    await trip("twice", "2024-05-01 10:00:00", "5.00");
    await Promise.all(Array.from({ length: 20 }, (_, i) => trip(`other-${i}`, "2024-05-02 11:00:00", "1.00")));
    const bucket = new FolderBlobStore(join(root, "twice"));

    const days = ["2024-05-01", "2024-05-02"];
    const { kpis } = await runLocalKpiJob(db, "TripData", bucket, days);
    expect(kpis.map((kpi) => [kpi.pickup_date, kpi.trip_count, kpi.total_fare])).toEqual([
      ["2024-05-01", 1, "5.00"],
      ["2024-05-02", 20, "20.00"],
    ]);
    const later = await runLocalKpiJob(db, "TripData", bucket, ["2024-05-02"]);
    expect(later.kpis.map((kpi) => [kpi.pickup_date, kpi.trip_count, kpi.total_fare])).toEqual([
      ["2024-05-02", 20, "20.00"],
    ]);
  });

  test("money stays decimal text up to the JSON number", () => {
    const row = {
      pickup_date: "2024-05-25",
      total_fare: "1234.50",
      trip_count: 10,
      average_fare: "123.45",
      max_fare: "200.00",
      min_fare: "3.10",
    };
    // The registry's fields in order, each value's text as it is (a field the row lacks: null).
    expect(
      kpiLine({
        ...row,
        total_tip: "12.00",
        total_distance: "0.05",
        average_duration_minutes: "17.50",
        median_fare: "100.10",
      }),
    ).toMatch(
      /^\{"pickup_date":"2024-05-25","total_fare":1234\.50,"trip_count":10,"average_fare":123\.45,"max_fare":200\.00,"min_fare":3\.10,"total_tip":12\.00,"total_distance":0\.05,"average_duration_minutes":17\.50,"median_fare":100\.10(,"[a-z_]+":null)*\}$/,
    );
  });
});
