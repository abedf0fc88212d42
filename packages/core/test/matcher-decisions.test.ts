/**
 * The matcher's pure decisions: which stream records it settles (readRawInsert) and, per trip,
 * what the COMPLETED item must be and which items can go (planTrip). Kept apart from
 * packages/local/test/core/matcher.test.ts, which starts an emulator, so that the mutation run (these tests once per
 * mutant) stays fast.
 */
import { describe, expect, test } from "vitest";
import type { EndEvent, StartEvent } from "../src/domain/events.js";
import { type CompletedTrip, completedTrip } from "../src/domain/trip.js";
import type { Stored, TripItems } from "../src/store/trip-store.js";
import { planTrip, readRawInsert } from "../src/streams/matcher.js";
import { insertRecord } from "./support/stream-record.js";

const start = (pickup: string, fare = "10"): StartEvent => ({
  event_type: "start",
  trip_id: "t",
  pickup_datetime: `2024-05-25 ${pickup}`,
  estimated_fare_amount: fare,
});
const end = (dropoff: string, fare = "30"): EndEvent => ({
  event_type: "end",
  trip_id: "t",
  dropoff_datetime: `2024-05-25 ${dropoff}`,
  fare_amount: fare,
});
const raw = <T extends StartEvent | EndEvent>(event: T): Stored<T> => ({
  key: {
    trip_id: "t",
    sort_key: `RAW#${event.event_type.toUpperCase()}#${event.event_type === "start" ? event.pickup_datetime : event.dropoff_datetime}#${event.event_type === "start" ? event.estimated_fare_amount : event.fare_amount}`,
  },
  value: event,
});
const done = (s: StartEvent, e: EndEvent): Stored<CompletedTrip> => ({
  key: { trip_id: "t", sort_key: `COMPLETED#${s.pickup_datetime}` },
  value: completedTrip(s, e),
});
const trip = (parts: Partial<TripItems>): TripItems => ({ starts: [], ends: [], completed: [], ...parts });
const sortKeys = (keys: Record<string, unknown>[]) => keys.map((k) => k.sort_key).sort();

describe("planTrip: the matcher's decision for one trip", () => {
  test("a first start and end: complete them at a new key, then drop both raw items", () => {
    const s = raw(start("10:00:00"));
    const e = raw(end("11:00:00"));
    const plan = planTrip(trip({ starts: [s], ends: [e] }));
    expect(plan.outcome).toMatchObject({ kind: "completed", trip: completedTrip(s.value, e.value) });
    expect(plan.current).toBeUndefined();
    expect(sortKeys(plan.deletes)).toEqual(sortKeys([s.key, e.key]));
    expect(plan.mayHaveBeenAnomaly).toBe(false);
  });

  test("a dropoff at the very pickup instant completes and was never an anomaly", () => {
    const plan = planTrip(trip({ starts: [raw(start("10:00:00"))], ends: [raw(end("10:00:00"))] }));
    expect(plan.outcome).toMatchObject({ kind: "completed" });
    expect(plan.mayHaveBeenAnomaly).toBe(false);
  });

  test("a replayed event of a completed trip: the item stands and the replay goes", () => {
    const item = done(start("10:00:00"), end("11:00:00"));
    const replay = raw(end("11:00:00"));
    const plan = planTrip(trip({ ends: [replay], completed: [item] }));
    expect(plan.current).toBe(item);
    expect(plan.deletes).toEqual([replay.key]);
  });

  test("a late, earlier start re-matches to a new key: the old completion and the raw start go once it exists", () => {
    const old = done(start("10:05:00"), end("11:00:00"));
    const earlier = raw(start("10:00:00", "8"));
    const plan = planTrip(trip({ starts: [earlier], completed: [old] }));
    // The end comes back from the old COMPLETED item with every value and no absent field (DynamoDB refuses undefined).
    expect(plan.outcome).toMatchObject({ kind: "completed" });
    expect(plan.outcome.kind === "completed" && plan.outcome.trip).toStrictEqual(
      completedTrip(earlier.value, end("11:00:00")),
    );
    expect(plan.current).toBeUndefined();
    expect(sortKeys(plan.deletes)).toEqual(sortKeys([old.key, earlier.key]));
  });

  test("two completions left by concurrent matchers: the earliest pickup is the one kept", () => {
    const later = done(start("10:05:00"), end("11:00:00"));
    const earliest = done(start("10:00:00"), end("11:00:00"));
    const plan = planTrip(trip({ completed: [later, earliest] }));
    expect(plan.current).toBe(earliest);
    expect(plan.deletes).toEqual([later.key]);
  });

  test("an end before the pickup stays: an earlier start may still arrive and make it the trip's end", () => {
    const early = raw(end("09:30:00"));
    const plan = planTrip(trip({ ends: [early], completed: [done(start("10:00:00"), end("11:00:00"))] }));
    expect(plan.deletes).toEqual([]);
    // It was an anomaly on its own before: the matcher must clear that report.
    expect(plan.mayHaveBeenAnomaly).toBe(true);
  });

  test("an end between two starts: the later start alone made it an anomaly, whose report must now be cleared", () => {
    const plan = planTrip(
      trip({ starts: [raw(start("10:00:00")), raw(start("10:05:00"))], ends: [raw(end("10:02:00"))] }),
    );
    expect(plan.outcome).toMatchObject({
      kind: "completed",
      trip: { pickup_datetime: "2024-05-25 10:00:00", dropoff_datetime: "2024-05-25 10:02:00" },
    });
    expect(plan.mayHaveBeenAnomaly).toBe(true);
  });

  test("an anomaly keeps its ends and its start, and drops a later start that can never win", () => {
    const s = raw(start("10:00:00"));
    const later = raw(start("10:05:00"));
    const e = raw(end("09:00:00"));
    const plan = planTrip(trip({ starts: [later, s], ends: [e] }));
    expect(plan.outcome).toMatchObject({
      kind: "anomaly",
      start: s.value,
      end: e.value,
      rejection: { code: "dropoff_before_pickup" },
    });
    expect(plan.current).toBeUndefined();
    expect(plan.deletes).toEqual([later.key]);
    expect(plan.mayHaveBeenAnomaly).toBe(true);
  });

  test("pending: of two ends at one instant the smaller fare is kept, the other can never win", () => {
    const cheaper = raw(end("11:00:00", "30"));
    const dearer = raw(end("11:00:00", "31"));
    const plan = planTrip(trip({ ends: [dearer, cheaper] }));
    expect(plan.outcome).toEqual({ kind: "pending" });
    expect(plan.deletes).toEqual([dearer.key]);
  });
});

describe("readRawInsert", () => {
  const record = insertRecord("TripData", { trip_id: "t9", sort_key: "RAW#END#2024-05-25 11:00:00", fare_amount: 3 });

  test("reads the trip and sequence number of a RAW insert", () => {
    expect(readRawInsert(record)).toEqual({ ok: true, tripId: "t9", sequenceNumber: record.dynamodb!.SequenceNumber });
  });

  test("names what is wrong with anything else", () => {
    expect(readRawInsert({ ...record, eventName: "MODIFY" })).toMatchObject({
      ok: false,
      reason: expect.stringContaining("eventName"),
    });
    expect(
      readRawInsert({
        ...record,
        dynamodb: { ...record.dynamodb, Keys: { trip_id: { S: "t9" }, sort_key: { S: "COMPLETED#x" } } },
      }),
    ).toMatchObject({ ok: false, reason: expect.stringMatching(/^dynamodb\.Keys\.sort_key\.S: /) });
    expect(readRawInsert({ eventName: "INSERT" })).toMatchObject({
      ok: false,
      reason: expect.stringContaining("dynamodb"),
    });
    expect(readRawInsert({ ...record, dynamodb: { ...record.dynamodb, SequenceNumber: "" } })).toMatchObject({
      ok: false,
      reason: expect.stringContaining("SequenceNumber"),
    });
    expect(
      readRawInsert({
        ...record,
        dynamodb: { ...record.dynamodb, Keys: { trip_id: { S: "" }, sort_key: { S: "RAW#END#x" } } },
      }),
    ).toMatchObject({ ok: false, reason: expect.stringContaining("trip_id") });
    expect(
      readRawInsert({
        ...record,
        dynamodb: { ...record.dynamodb, Keys: { trip_id: { S: "t9" }, sort_key: { S: "COMPLETED#RAW#x" } } },
      }),
    ).toMatchObject({ ok: false, reason: expect.stringContaining("sort_key") });
    expect(readRawInsert("not a record")).toEqual({ ok: false, reason: expect.stringMatching(/^record: /) });
  });
});
