import { describe, expect, test } from "vitest";
import type { EndEvent, StartEvent } from "../src/events.js";
import { matchTrip } from "../src/trip.js";

const start = (pickup: string, extra: Partial<StartEvent> = {}): StartEvent => ({
  event_type: "start",
  trip_id: "t1",
  pickup_datetime: pickup,
  estimated_fare_amount: "10",
  ...extra,
});
const end = (dropoff: string, fare = "12.5"): EndEvent => ({ event_type: "end", trip_id: "t1", dropoff_datetime: dropoff, fare_amount: fare });

describe("matchTrip", () => {
  test("pending until both kinds are present", () => {
    expect(matchTrip([start("2024-05-25 10:00:00")], [])).toEqual({ kind: "pending" });
    expect(matchTrip([], [end("2024-05-25 10:00:00")])).toEqual({ kind: "pending" });
  });

  test("completes with dropoff at or after pickup, merging both events' fields", () => {
    expect(matchTrip([start("2024-05-25 10:00:00", { vendor_id: "2" })], [end("2024-05-25 10:00:00")])).toEqual({
      kind: "completed",
      trip: {
        trip_id: "t1",
        pickup_datetime: "2024-05-25 10:00:00",
        dropoff_datetime: "2024-05-25 10:00:00",
        estimated_fare_amount: "10",
        fare_amount: "12.5",
        vendor_id: "2",
      },
    });
  });

  test("dropoff before pickup is an anomaly with its reason", () => {
    const outcome = matchTrip([start("2024-05-25 10:00:00")], [end("2024-05-25 09:59:59")]);
    expect(outcome).toMatchObject({ kind: "anomaly", rejection: { code: "dropoff_before_pickup" } });
  });

  test("conflicts resolve the same way whatever the arrival order", () => {
    const starts = [start("2024-05-25 10:05:00"), start("2024-05-25 10:00:00")];
    const ends = [end("2024-05-25 11:00:00", "30"), end("2024-05-25 09:00:00", "1"), end("2024-05-25 10:30:00", "20")];
    const outcome = matchTrip(starts, ends);
    expect(matchTrip([...starts].reverse(), [...ends].reverse())).toEqual(outcome);
    expect(outcome).toMatchObject({ kind: "completed", trip: { pickup_datetime: "2024-05-25 10:00:00", dropoff_datetime: "2024-05-25 10:30:00", fare_amount: "20" } });
  });
});

describe("matchTrip: what an anomaly reports", () => {
  test("every end before the pickup: the latest end is reported, with the field and both instants", () => {
    const ends = [end("2024-05-25 09:00:00"), end("2024-05-25 09:30:00"), end("2024-05-25 08:00:00")];
    for (const order of [ends, [...ends].reverse()])
      expect(matchTrip([start("2024-05-25 10:00:00")], order)).toEqual({
        kind: "anomaly",
        start: start("2024-05-25 10:00:00"),
        end: end("2024-05-25 09:30:00"),
        rejection: { code: "dropoff_before_pickup", field: "dropoff_datetime", message: "dropoff 2024-05-25 09:30:00 is before pickup 2024-05-25 10:00:00" },
      });
  });
});
