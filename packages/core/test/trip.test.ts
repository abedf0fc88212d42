import fc from "fast-check";
import { describe, expect, test } from "vitest";
import type { EndEvent, StartEvent } from "../src/domain/events.js";
import { canonicalValues, essentialEvents, matchTrip } from "../src/domain/trip.js";

const start = (pickup: string, extra: Partial<StartEvent> = {}): StartEvent => ({
  event_type: "start",
  trip_id: "t1",
  pickup_datetime: pickup,
  estimated_fare_amount: "10",
  ...extra,
});
const end = (dropoff: string, fare = "12.5"): EndEvent => ({
  event_type: "end",
  trip_id: "t1",
  dropoff_datetime: dropoff,
  fare_amount: fare,
});

describe("matchTrip", () => {
  test("pending until both kinds are present", () => {
    expect(matchTrip([start("2024-05-25 10:00:00")], [])).toEqual({ kind: "pending" });
    expect(matchTrip([], [end("2024-05-25 10:00:00")])).toEqual({ kind: "pending" });
  });

  test("completes with dropoff at or after pickup, merging both events' fields", () => {
    expect(matchTrip([start("2024-05-25 10:00:00", { vendor_id: "2" })], [end("2024-05-25 10:00:00")])).toMatchObject({
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
    expect(outcome).toMatchObject({
      kind: "completed",
      trip: { pickup_datetime: "2024-05-25 10:00:00", dropoff_datetime: "2024-05-25 10:30:00", fare_amount: "20" },
    });
  });
});

/** Small domains so that conflicts, same-instant twins and duplicates are frequent. */
const minute = (m: number) => `2024-05-25 10:${String(m).padStart(2, "0")}:00`;
const startArb = fc
  .record({
    m: fc.integer({ min: 0, max: 5 }),
    fare: fc.constantFrom("1", "1.0", "2", "10"),
    vendor: fc.option(fc.constantFrom("1", "2"), { nil: undefined }),
  })
  .map(({ m, fare, vendor }) =>
    start(minute(m), { estimated_fare_amount: fare, ...(vendor && { vendor_id: vendor }) }),
  );
const endArb = fc
  .record({ m: fc.integer({ min: 0, max: 7 }), fare: fc.constantFrom("3", "3.00", "4", "0") })
  .map(({ m, fare }) => end(minute(m), fare));
const eventsArb = fc.record({ starts: fc.array(startArb, { maxLength: 4 }), ends: fc.array(endArb, { maxLength: 4 }) });

describe("the rule depends only on the set of events", () => {
  test("any order, any duplication, same-instant twins: the same outcome", () => {
    fc.assert(
      fc.property(eventsArb, fc.integer(), ({ starts, ends }, seed) => {
        const shuffled = <T>(items: T[]) =>
          [...items, ...items.slice(0, seed & 1)]
            .map((item, i) => ({ item, k: (i * 7919 + seed) % 101 }))
            .sort((a, b) => a.k - b.k)
            .map(({ item }) => item);
        expect(normalised(matchTrip(shuffled(starts), shuffled(ends)))).toEqual(normalised(matchTrip(starts, ends)));
      }),
      { numRuns: 500 },
    );
  });

  test("the essential events decide every future outcome: rule(essential(X) + Y) = rule(X + Y)", () => {
    fc.assert(
      fc.property(eventsArb, eventsArb, (x, y) => {
        const kept = essentialEvents(x.starts, x.ends);
        expect(normalised(matchTrip([...kept.starts, ...y.starts], [...kept.ends, ...y.ends]))).toEqual(
          normalised(matchTrip([...x.starts, ...y.starts], [...x.ends, ...y.ends])),
        );
        expect(kept.starts.length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 1000 },
    );
  });

  test("same instant, other values: the smaller fare wins, then the extras (absent first)", () => {
    const a = start("2024-05-25 10:00:00", { estimated_fare_amount: "9.50" });
    const b = start("2024-05-25 10:00:00", { estimated_fare_amount: "10" });
    const c = start("2024-05-25 10:00:00", { estimated_fare_amount: "9.5", vendor_id: "1" });
    const e = [end("2024-05-25 10:30:00", "20"), end("2024-05-25 10:30:00", "19.99")];
    for (const starts of [
      [a, b, c],
      [c, b, a],
      [b, c, a],
    ])
      expect(matchTrip(starts, e)).toMatchObject({ kind: "completed", start: a, end: e[1] });
  });
});

/** Outcomes compared by value ("1" equals "1.0"), as the table stores numbers. */
function normalised(outcome: ReturnType<typeof matchTrip>) {
  const canon = (value: unknown) =>
    typeof value === "string" && /^\d+(\.\d+)?$/.test(value) ? String(Number(value)) : value;
  const values = (event: object) => Object.fromEntries(Object.entries(event).map(([k, v]) => [k, canon(v)]));
  if (outcome.kind === "pending") return outcome;
  return { kind: outcome.kind, start: values(outcome.start), end: values(outcome.end) };
}
describe("matchTrip: what an anomaly reports", () => {
  test("every end before the pickup: the latest end is reported, with the field and both instants", () => {
    const ends = [end("2024-05-25 09:00:00"), end("2024-05-25 09:30:00"), end("2024-05-25 08:00:00")];
    for (const order of [ends, [...ends].reverse()])
      expect(matchTrip([start("2024-05-25 10:00:00")], order)).toEqual({
        kind: "anomaly",
        start: start("2024-05-25 10:00:00"),
        end: end("2024-05-25 09:30:00"),
        rejection: {
          code: "dropoff_before_pickup",
          field: "dropoff_datetime",
          message: "dropoff 2024-05-25 09:30:00 is before pickup 2024-05-25 10:00:00",
        },
      });
  });
});

describe("essentialEvents and canonicalValues: what the matcher keeps and how it names an event", () => {
  test("keeps the least start, the end it pairs with, and the least end of each instant before the pickup", () => {
    const s = start("2024-05-25 10:00:00");
    const cheaperEarly = end("2024-05-25 09:00:00", "5");
    const atPickup = end("2024-05-25 10:00:00");
    const ends = [
      end("2024-05-25 09:00:00", "6"),
      cheaperEarly,
      end("2024-05-25 11:00:00"),
      atPickup,
      end("2024-05-25 10:30:00"),
    ];
    expect(essentialEvents([start("2024-05-25 10:05:00"), s], ends)).toEqual({
      starts: [s],
      ends: [cheaperEarly, atPickup],
    });
  });

  test("events equal as values name the same variant: numbers by value, datetimes as text, absent fields as null", () => {
    expect(canonicalValues(start("2024-05-25 10:00:00", { estimated_fare_amount: "12.50", vendor_id: "02" }))).toBe(
      canonicalValues(start("2024-05-25 10:00:00", { estimated_fare_amount: "12.5", vendor_id: "2" })),
    );
    expect(
      JSON.parse(
        canonicalValues(
          start("2024-05-25 10:00:00", {
            estimated_fare_amount: "12.50",
            estimated_dropoff_datetime: "2024-05-25 10:30:00",
          }),
        ),
      ),
    ).toEqual(["12.5", null, null, null, "2024-05-25 10:30:00"]);
    expect(JSON.parse(canonicalValues(end("2024-05-25 11:00:00", "30.0")))).toEqual([
      "30",
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
  });
});
