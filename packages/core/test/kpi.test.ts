import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { computeDailyKpis, type DailyKpi, type KpiTrip } from "../src/kpi.js";

interface GoldenCase {
  name: string;
  trips: KpiTrip[];
  expected: DailyKpi[];
}
const golden = JSON.parse(readFileSync(new URL("../golden/kpi-cases.json", import.meta.url), "utf8")) as { cases: GoldenCase[] };

describe("golden KPI cases (shared with the Glue job's pytest suite)", () => {
  test("the file has cases", () => expect(golden.cases.length).toBeGreaterThan(5));
  test.each(golden.cases.map((c) => [c.name, c] as const))("%s", (_, c) => {
    expect(computeDailyKpis(c.trips)).toEqual(c.expected);
  });
});

/** Independent naive computation: everything in integer units of 10^-20, rounding by hand. */
function naive(trips: KpiTrip[]): DailyKpi[] {
  const SCALE = 20n;
  const toUnits = (fare: string) => {
    const [w, f = ""] = fare.split(".");
    return BigInt(w!) * 10n ** SCALE + BigInt((f + "0".repeat(20)).slice(0, 20));
  };
  const money = (units: bigint, divisor = 1n) => {
    const denominator = divisor * 10n ** (SCALE - 2n);
    const cents = (units % denominator) * 2n >= denominator ? units / denominator + 1n : units / denominator;
    return `${cents / 100n}.${(cents % 100n).toString().padStart(2, "0")}`;
  };
  const unique = new Map(trips.map((t) => [t.trip_id, t]));
  const byDay = new Map<string, bigint[]>();
  for (const t of unique.values()) {
    const day = t.pickup_datetime.slice(0, 10);
    byDay.set(day, [...(byDay.get(day) ?? []), toUnits(t.fare_amount)]);
  }
  return [...byDay.keys()].sort().map((day) => {
    const fares = byDay.get(day)!;
    const total = fares.reduce((a, b) => a + b, 0n);
    return {
      pickup_date: day,
      total_fare: money(total),
      trip_count: fares.length,
      average_fare: money(total, BigInt(fares.length)),
      max_fare: money(fares.reduce((a, b) => (b > a ? b : a))),
      min_fare: money(fares.reduce((a, b) => (b < a ? b : a))),
    };
  });
}

const fareArb = fc
  .tuple(fc.integer({ min: 0, max: 500 }), fc.stringMatching(/^\d{0,15}$/))
  .map(([whole, fraction]) => (fraction ? `${whole}.${fraction}` : `${whole}`));
const datetimeArb = fc
  .date({ min: new Date("2024-02-27T00:00:00Z"), max: new Date("2024-03-02T23:59:59Z"), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 19).replace("T", " "));
const tripsArb = fc.uniqueArray(
  fc.record({ trip_id: fc.string({ minLength: 1, maxLength: 8 }), pickup_datetime: datetimeArb, fare_amount: fareArb }),
  { selector: (t) => t.trip_id, maxLength: 60 },
);

describe("computeDailyKpis", () => {
  test("equals a naive exact computation", () => {
    fc.assert(
      fc.property(tripsArb, (trips) => {
        expect(computeDailyKpis(trips)).toEqual(naive(trips));
      }),
      { numRuns: 300 },
    );
  });

  test("is unchanged when the input is shuffled or trips are duplicated", () => {
    fc.assert(
      fc.property(
        tripsArb.chain((trips) =>
          fc.tuple(
            fc.constant(trips),
            fc.shuffledSubarray([...trips, ...trips, ...trips], { minLength: 3 * trips.length, maxLength: 3 * trips.length }),
          ),
        ),
        ([trips, shuffledWithDuplicates]) => {
          expect(computeDailyKpis(shuffledWithDuplicates)).toEqual(computeDailyKpis(trips));
        },
      ),
      { numRuns: 200 },
    );
  });

  test("groups by pickup date, so a trip crossing midnight counts on the day it began", () => {
    const kpis = computeDailyKpis([
      { trip_id: "a", pickup_datetime: "2024-02-28 23:50:00", fare_amount: "10" },
      { trip_id: "b", pickup_datetime: "2024-02-29 00:10:00", fare_amount: "20.005" },
    ]);
    expect(kpis.map((k) => [k.pickup_date, k.total_fare, k.trip_count])).toEqual([
      ["2024-02-28", "10.00", 1],
      ["2024-02-29", "20.01", 1],
    ]);
  });

  test("no trips, no days", () => expect(computeDailyKpis([])).toEqual([]));
});

describe("computeDailyKpis: fares compared as numbers", () => {
  test("max and min are numeric, not text, order, and exact before rounding", () => {
    const [day] = computeDailyKpis([
      { trip_id: "a", pickup_datetime: "2024-05-25 08:00:00", fare_amount: "9.5" },
      { trip_id: "b", pickup_datetime: "2024-05-25 09:00:00", fare_amount: "10.25" },
      { trip_id: "c", pickup_datetime: "2024-05-25 10:00:00", fare_amount: "10.2449" },
      { trip_id: "d", pickup_datetime: "2024-05-25 11:00:00", fare_amount: "100" },
      { trip_id: "e", pickup_datetime: "2024-05-25 12:00:00", fare_amount: "0.005" },
    ]);
    expect(day).toMatchObject({ max_fare: "100.00", min_fare: "0.01", trip_count: 5, total_fare: "130.00" });
  });

  test("days come out in calendar order, across months and years", () => {
    const days = computeDailyKpis(
      ["2025-01-01 00:00:00", "2024-12-31 23:59:59", "2024-02-29 12:00:00", "2024-10-01 00:00:00"].map((pickup_datetime, i) => ({ trip_id: `t${i}`, pickup_datetime, fare_amount: "1" })),
    );
    expect(days.map((d) => d.pickup_date)).toEqual(["2024-02-29", "2024-10-01", "2024-12-31", "2025-01-01"]);
  });
});

describe("computeDailyKpis: one trip per trip_id (the contract's duplicate rule)", () => {
  const trip = (trip_id: string, pickup_datetime: string, fare_amount: string): KpiTrip => ({ trip_id, pickup_datetime, fare_amount });

  test("two completions of one trip count once, at the earliest pickup, whichever comes first", () => {
    const early = trip("t1", "2024-05-24 23:59:59", "10.00");
    const late = trip("t1", "2024-05-25 00:00:01", "99.00");
    const other = trip("t2", "2024-05-25 08:00:00", "5.00");
    const expected = [
      { pickup_date: "2024-05-24", total_fare: "10.00", trip_count: 1, average_fare: "10.00", max_fare: "10.00", min_fare: "10.00" },
      { pickup_date: "2024-05-25", total_fare: "5.00", trip_count: 1, average_fare: "5.00", max_fare: "5.00", min_fare: "5.00" },
    ];
    expect(computeDailyKpis([early, late, other])).toEqual(expected);
    expect(computeDailyKpis([late, other, early])).toEqual(expected);
  });

  test("the same pickup twice with other fares keeps the smaller fare, in either order", () => {
    const a = trip("t1", "2024-05-25 10:00:00", "12.50");
    const b = trip("t1", "2024-05-25 10:00:00", "12.4");
    const row = { pickup_date: "2024-05-25", total_fare: "12.40", trip_count: 1, average_fare: "12.40", max_fare: "12.40", min_fare: "12.40" };
    expect(computeDailyKpis([a, b])).toEqual([row]);
    expect(computeDailyKpis([b, a])).toEqual([row]);
  });

  test("any order of any multiset of completions gives the same KPIs", () => {
    const completion = fc.record({
      trip_id: fc.constantFrom("a", "b", "c"),
      pickup_datetime: fc.constantFrom("2024-05-24 23:00:00", "2024-05-25 01:00:00", "2024-05-25 02:00:00"),
      fare_amount: fc.constantFrom("1", "2.5", "2.50", "10"),
    });
    fc.assert(
      fc.property(fc.array(completion, { maxLength: 8 }), fc.nat(), (trips, seed) => {
        const shuffled = [...trips].sort((x, y) => ((JSON.stringify(x).length * 31 + seed) % 7) - ((JSON.stringify(y).length * 17 + seed) % 7));
        expect(computeDailyKpis(shuffled)).toEqual(computeDailyKpis([...trips].reverse()));
        expect(computeDailyKpis(trips).reduce((n, k) => n + k.trip_count, 0)).toBe(new Set(trips.map((t) => t.trip_id)).size);
      }),
    );
  });
});
