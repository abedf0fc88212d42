import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { Decimal } from "../src/domain/decimal.js";
import { computeDailyKpis, type DailyKpi, type KpiTrip, kpiValues, sourceValue } from "../src/kpi/daily-kpis.js";
import { KPI_COLUMNS, KPI_FIELDS, KPI_TYPES, LIVE_FIELDS, NIGHTLY_ONLY_FIELDS } from "../src/kpi/registry.js";

interface GoldenCase {
  name: string;
  trips: KpiTrip[];
  expected: DailyKpi[];
}
const golden = JSON.parse(readFileSync(new URL("../golden/kpi-cases.json", import.meta.url), "utf8")) as {
  cases: GoldenCase[];
};

describe("golden KPI cases (shared with the Glue job's pytest suite)", () => {
  test("the file has cases", () => expect(golden.cases.length).toBeGreaterThan(5));
  test.each(golden.cases.map((c) => [c.name, c] as const))("%s", (_, c) => {
    expect(computeDailyKpis(c.trips)).toEqual(c.expected);
  });

  // A field added to the registry without an implementation (a new aggregation or derived source) fails here.
  test.each(KPI_FIELDS.map((field) => [field.name, field] as const))(
    "every registered field is computed: %s",
    (name) => {
      const rows = golden.cases.flatMap((c) => computeDailyKpis(c.trips));
      for (const row of rows) {
        expect(Object.keys(row)).toEqual(KPI_COLUMNS);
        expect(row[name]).not.toBeNull();
      }
      expect(new Set(rows.map((row) => row[name])).size).toBeGreaterThan(1);
    },
  );
});

/** Seconds between two `YYYY-MM-DD HH:MM:SS` timestamps, by hand. */
function seconds(from: string, to: string): bigint {
  const at = (t: string) =>
    BigInt(
      Date.UTC(
        +t.slice(0, 4),
        +t.slice(5, 7) - 1,
        +t.slice(8, 10),
        +t.slice(11, 13),
        +t.slice(14, 16),
        +t.slice(17, 19),
      ) / 1000,
    );
  return at(to) - at(from);
}

/** Independent naive computation: everything in integer units of 10^-20, rounding by hand. */
function naive(trips: KpiTrip[]): DailyKpi[] {
  const SCALE = 20n;
  const toUnits = (fare: string) => {
    const [w, f = ""] = fare.split(".");
    return BigInt(w!) * 10n ** SCALE + BigInt((f + "0".repeat(20)).slice(0, 20));
  };
  const money = (units: bigint, divisor = 1n, places = 2n) => {
    const denominator = divisor * 10n ** (SCALE - places);
    const rounded = (units % denominator) * 2n >= denominator ? units / denominator + 1n : units / denominator;
    return places === 0n
      ? Number(rounded)
      : `${rounded / 10n ** places}.${(rounded % 10n ** places).toString().padStart(Number(places), "0")}`;
  };
  const unique = new Map(trips.map((t) => [t.trip_id, t]));
  const byDay = new Map<string, KpiTrip[]>();
  for (const t of unique.values()) {
    const day = t.pickup_datetime.slice(0, 10);
    byDay.set(day, [...(byDay.get(day) ?? []), t]);
  }
  const sum = (values: bigint[]) => values.reduce((a, b) => a + b, 0n);
  return [...byDay.keys()].sort().map((day) => {
    const dayTrips = byDay.get(day)!;
    const fares = dayTrips.map((t) => toUnits(t.fare_amount)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const column = (name: string) =>
      sum(dayTrips.map((t) => toUnits((t as unknown as Record<string, string | undefined>)[name] ?? "0")));
    const n = BigInt(fares.length);
    const middle = fares.length >> 1;
    // Every plain column sum of the registry (tips, distance, and any added later) by the same rule.
    const columnSums = KPI_FIELDS.filter((f) => f.aggregation === "sum" && f.source !== "fare_amount").map((f) => [
      f.name,
      money(column(f.source), 1n, BigInt(KPI_TYPES[f.type].places)),
    ]);
    return {
      ...Object.fromEntries(columnSums),
      pickup_date: day,
      total_fare: money(sum(fares)),
      trip_count: fares.length,
      average_fare: money(sum(fares), n),
      max_fare: money(fares.at(-1)!),
      min_fare: money(fares[0]!),
      average_duration_minutes: money(
        sum(dayTrips.map((t) => seconds(t.pickup_datetime, t.dropoff_datetime))) * 10n ** SCALE,
        n * 60n,
      ),
      median_fare: fares.length % 2 === 1 ? money(fares[middle]!) : money(fares[middle - 1]! + fares[middle]!, 2n),
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
  fc
    .record(
      {
        trip_id: fc.string({ minLength: 1, maxLength: 8 }),
        pickup_datetime: datetimeArb,
        seconds: fc.integer({ min: 0, max: 7_200 }),
        fare_amount: fareArb,
        tip_amount: fareArb,
        trip_distance: fareArb,
      },
      { requiredKeys: ["trip_id", "pickup_datetime", "seconds", "fare_amount"] },
    )
    .map(({ seconds: length, ...t }) => ({
      ...t,
      dropoff_datetime: new Date(Date.parse(`${t.pickup_datetime.replace(" ", "T")}Z`) + length * 1000)
        .toISOString()
        .slice(0, 19)
        .replace("T", " "),
    })),
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
            fc.shuffledSubarray([...trips, ...trips, ...trips], {
              minLength: 3 * trips.length,
              maxLength: 3 * trips.length,
            }),
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
      {
        trip_id: "a",
        pickup_datetime: "2024-02-28 23:50:00",
        dropoff_datetime: "2024-02-29 00:10:00",
        fare_amount: "10",
      },
      {
        trip_id: "b",
        pickup_datetime: "2024-02-29 00:10:00",
        dropoff_datetime: "2024-02-29 00:20:00",
        fare_amount: "20.005",
      },
    ]);
    expect(kpis.map((k) => [k.pickup_date, k.total_fare, k.trip_count, k.average_duration_minutes])).toEqual([
      ["2024-02-28", "10.00", 1, "20.00"],
      ["2024-02-29", "20.01", 1, "10.00"],
    ]);
  });

  test("no trips, no days", () => expect(computeDailyKpis([])).toEqual([]));
});

describe("computeDailyKpis: fares compared as numbers", () => {
  test("max and min are numeric, not text, order, and exact before rounding", () => {
    const [day] = computeDailyKpis([
      {
        trip_id: "a",
        pickup_datetime: "2024-05-25 08:00:00",
        dropoff_datetime: "2024-05-25 08:00:00",
        fare_amount: "9.5",
      },
      {
        trip_id: "b",
        pickup_datetime: "2024-05-25 09:00:00",
        dropoff_datetime: "2024-05-25 09:00:00",
        fare_amount: "10.25",
      },
      {
        trip_id: "c",
        pickup_datetime: "2024-05-25 10:00:00",
        dropoff_datetime: "2024-05-25 10:00:00",
        fare_amount: "10.2449",
      },
      {
        trip_id: "d",
        pickup_datetime: "2024-05-25 11:00:00",
        dropoff_datetime: "2024-05-25 11:00:00",
        fare_amount: "100",
      },
      {
        trip_id: "e",
        pickup_datetime: "2024-05-25 12:00:00",
        dropoff_datetime: "2024-05-25 12:00:00",
        fare_amount: "0.005",
      },
    ]);
    expect(day).toMatchObject({
      max_fare: "100.00",
      min_fare: "0.01",
      trip_count: 5,
      total_fare: "130.00",
      median_fare: "10.24",
    });
  });

  test("days come out in calendar order, across months and years", () => {
    const days = computeDailyKpis(
      ["2025-01-01 00:00:00", "2024-12-31 23:59:59", "2024-02-29 12:00:00", "2024-10-01 00:00:00"].map(
        (pickup_datetime, i) => ({
          trip_id: `t${i}`,
          pickup_datetime,
          dropoff_datetime: pickup_datetime,
          fare_amount: "1",
        }),
      ),
    );
    expect(days.map((d) => d.pickup_date)).toEqual(["2024-02-29", "2024-10-01", "2024-12-31", "2025-01-01"]);
  });
});

describe("computeDailyKpis: one trip per trip_id (the contract's duplicate rule)", () => {
  const trip = (trip_id: string, pickup_datetime: string, fare_amount: string): KpiTrip => ({
    trip_id,
    pickup_datetime,
    dropoff_datetime: pickup_datetime,
    fare_amount,
  });
  const zero = { total_tip: "0.00", total_distance: "0.00", average_duration_minutes: "0.00" };

  test("two completions of one trip count once, at the earliest pickup, whichever comes first", () => {
    const early = trip("t1", "2024-05-24 23:59:59", "10.00");
    const late = trip("t1", "2024-05-25 00:00:01", "99.00");
    const other = trip("t2", "2024-05-25 08:00:00", "5.00");
    const expected = [
      {
        pickup_date: "2024-05-24",
        total_fare: "10.00",
        trip_count: 1,
        average_fare: "10.00",
        max_fare: "10.00",
        min_fare: "10.00",
        ...zero,
        median_fare: "10.00",
      },
      {
        pickup_date: "2024-05-25",
        total_fare: "5.00",
        trip_count: 1,
        average_fare: "5.00",
        max_fare: "5.00",
        min_fare: "5.00",
        ...zero,
        median_fare: "5.00",
      },
    ];
    expect(computeDailyKpis([early, late, other])).toMatchObject(expected);
    expect(computeDailyKpis([late, other, early])).toMatchObject(expected);
  });

  test("the same pickup twice with other fares keeps the smaller fare, in either order", () => {
    const a = trip("t1", "2024-05-25 10:00:00", "12.50");
    const b = trip("t1", "2024-05-25 10:00:00", "12.4");
    const row = {
      pickup_date: "2024-05-25",
      total_fare: "12.40",
      trip_count: 1,
      average_fare: "12.40",
      max_fare: "12.40",
      min_fare: "12.40",
      ...zero,
      median_fare: "12.40",
    };
    expect(computeDailyKpis([a, b])).toMatchObject([row]);
    expect(computeDailyKpis([b, a])).toMatchObject([row]);
  });

  test("any order of any multiset of completions gives the same KPIs", () => {
    const completion = fc
      .record({
        trip_id: fc.constantFrom("a", "b", "c"),
        pickup_datetime: fc.constantFrom("2024-05-24 23:00:00", "2024-05-25 01:00:00", "2024-05-25 02:00:00"),
        fare_amount: fc.constantFrom("1", "2.5", "2.50", "10"),
      })
      .map((t) => ({ ...t, dropoff_datetime: t.pickup_datetime }));
    fc.assert(
      fc.property(fc.array(completion, { maxLength: 8 }), fc.nat(), (trips, seed) => {
        const shuffled = [...trips].sort(
          (x, y) => ((JSON.stringify(x).length * 31 + seed) % 7) - ((JSON.stringify(y).length * 17 + seed) % 7),
        );
        expect(computeDailyKpis(shuffled)).toEqual(computeDailyKpis([...trips].reverse()));
        expect(computeDailyKpis(trips).reduce((n, k) => n + Number(k.trip_count), 0)).toBe(
          new Set(trips.map((t) => t.trip_id)).size,
        );
      }),
    );
  });
});

describe("source columns and the live row", () => {
  const trip: KpiTrip = {
    trip_id: "t",
    pickup_datetime: "2024-05-25 10:00:00",
    dropoff_datetime: "2024-05-25 10:01:30",
    fare_amount: "3",
  };

  test("an absent or empty column counts as 0; a present one exactly; the duration in whole seconds", () => {
    expect(sourceValue(trip, "tip_amount").toString()).toBe("0");
    expect(sourceValue({ ...trip, tip_amount: "" } as KpiTrip, "tip_amount").toString()).toBe("0");
    expect(sourceValue({ ...trip, tip_amount: null } as unknown as KpiTrip, "tip_amount").toString()).toBe("0");
    expect(sourceValue({ ...trip, tip_amount: "1.25" } as KpiTrip, "tip_amount").toString()).toBe("1.25");
    expect(sourceValue(trip, "duration_seconds").toString()).toBe("90");
  });

  test("from live totals: a mean needs a positive count and a sum not below zero; unknown extremes and sums are null", () => {
    const sums = (fare: string, tip: string) =>
      new Map([
        ["fare_amount", Decimal.parseNumber(fare)],
        ["tip_amount", Decimal.parseNumber(tip)],
        ["trip_distance", Decimal.ZERO],
        ["duration_seconds", Decimal.parseNumber("150")],
      ]);
    const none = new Map<string, Decimal>();
    const row = (count: number, fare: string, tip = "0") =>
      kpiValues("2024-05-25", { count, sums: sums(fare, tip), max: none, min: none, values: new Map() }, LIVE_FIELDS);
    expect(row(2, "5.01", "-0.5")).toMatchObject({
      pickup_date: "2024-05-25",
      total_fare: "5.01",
      trip_count: 2,
      average_fare: "2.51",
      max_fare: null,
      min_fare: null,
      total_tip: "-0.50",
      total_distance: "0.00",
      average_duration_minutes: "1.25",
    });
    expect(row(0, "0").average_fare).toBeNull();
    expect(row(-1, "0").average_fare).toBeNull();
    expect(row(1, "-2").average_fare).toBeNull();
    expect(row(1, "0").average_fare).toBe("0.00");
    expect(
      kpiValues("2024-05-25", { count: 1, sums: none, max: none, min: none, values: new Map() }, LIVE_FIELDS).total_tip,
    ).toBeNull();
    expect(Object.keys(row(1, "1"))).not.toContain("median_fare");
  });

  test("a median of no values is null; a count-type sum is a whole number, half-up", () => {
    const none = new Map<string, Decimal>();
    const passengers = {
      ...KPI_FIELDS.find((field) => field.aggregation === "sum")!,
      name: "total_passengers",
      type: "count" as const,
      source: "passenger_count",
    };
    const totals = {
      count: 2,
      sums: new Map([["passenger_count", Decimal.parse("2.5")]]),
      max: none,
      min: none,
      values: new Map(),
    };
    expect(kpiValues("2024-05-25", totals, [...NIGHTLY_ONLY_FIELDS, passengers])).toEqual({
      pickup_date: "2024-05-25",
      median_fare: null,
      total_passengers: 3,
    });
  });
});
