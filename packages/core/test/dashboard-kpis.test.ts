import { describe, expect, test } from "vitest";
import {
  DASHBOARD_KPIS,
  type DashboardKpi,
  dailyCsv,
  kpiHeading,
  percentChange,
  rangeTotals,
} from "../src/dashboard/kpis.js";
import type { DailyKpi } from "../src/kpi/daily-kpis.js";

const field = (name: string, type: DashboardKpi["type"], aggregation: DashboardKpi["aggregation"]): DashboardKpi => ({
  name,
  type,
  aggregation,
  source: "fare_amount",
  live: true,
  absent_before: false,
  label: name,
  description: name,
});
const FARE_KPIS = DASHBOARD_KPIS.filter((kpi) =>
  ["total_fare", "trip_count", "average_fare", "max_fare", "min_fare"].includes(kpi.name),
);

const day = (
  pickup_date: string,
  total_fare: string,
  trip_count: number,
  max_fare: string,
  min_fare: string,
): DailyKpi => ({
  pickup_date,
  total_fare,
  trip_count,
  average_fare: "0.00",
  max_fare,
  min_fare,
});

describe("a range's totals are exact", () => {
  test("sums of the exact daily figures, the mean over the range's trips, the range's extremes", () => {
    // 0.1 + 0.2 is 0.30000000000000004 in binary floats; 3 trips of 0.10 + 0.20 + ... stay exact.
    const rows = [
      day("2024-05-23", "0.10", 1, "0.10", "0.10"),
      day("2024-05-24", "0.20", 2, "0.15", "0.05"),
      day("2024-05-25", "99999999999999999999.99", 3, "99999999999999999999.00", "0.99"),
    ];
    expect(rangeTotals(rows, FARE_KPIS)).toEqual({
      total_fare: "100000000000000000000.29",
      trip_count: 6,
      // 100000000000000000000.29 / 6 = 16666666666666666666.7150, half-up
      average_fare: "16666666666666666666.72",
      max_fare: "99999999999999999999.00",
      min_fare: "0.05",
    });
  });

  test("the mean is half-up once at the end, not a mean of rounded daily means", () => {
    // 1.00 over 3 trips and 0.01 over 1: the range's mean is 1.01 / 4 = 0.2525, so 0.25; averaging 0.33 and 0.01 would give 0.17.
    const rows = [
      { ...day("2024-05-24", "1.00", 3, "1", "0"), average_fare: "0.33" },
      { ...day("2024-05-25", "0.01", 1, "0.01", "0.01"), average_fare: "0.01" },
    ];
    expect(rangeTotals(rows, FARE_KPIS).average_fare).toBe("0.25");
    expect(rangeTotals([day("2024-05-25", "0.05", 2, "0.05", "0")], FARE_KPIS).average_fare).toBe("0.03");
  });

  test("a mean without a sum of its source weighs each day's mean by its trips", () => {
    const kpis: DashboardKpi[] = [field("average_fare", "money", "mean")];
    const rows = [
      { ...day("2024-05-24", "0", 1, "0", "0"), average_fare: "1.00" },
      { ...day("2024-05-25", "0", 3, "0", "0"), average_fare: "2.00" },
    ];
    expect(rangeTotals(rows, kpis)).toEqual({ average_fare: "1.75" });
  });

  test("no rows: no figures", () => {
    expect(rangeTotals([])).toEqual(Object.fromEntries(DASHBOARD_KPIS.map((kpi) => [kpi.name, null])));
  });

  test("a median does not add up over days; a figure some row lacks (written before the KPI existed) has no total", () => {
    const rows = [
      { ...day("2024-05-24", "1.00", 1, "1.00", "1.00"), total_tip: "0.50", median_fare: "1.00" },
      { ...day("2024-05-25", "2.00", 1, "2.00", "2.00"), total_tip: null, median_fare: "2.00" },
    ];
    const totals = rangeTotals(rows);
    expect(totals.median_fare).toBeNull();
    expect(totals.total_tip).toBeNull();
    expect(totals.total_fare).toBe("3.00");
    expect(rangeTotals([rows[0]!]).total_tip).toBe("0.50");
  });

  test("other decimal types keep their places: distance sums, minutes means over the trips", () => {
    const rows = [
      { ...day("2024-05-24", "1", 1, "1", "1"), total_distance: "1.25", average_duration_minutes: "10.00" },
      { ...day("2024-05-25", "1", 2, "1", "1"), total_distance: "2.50", average_duration_minutes: "12.50" },
    ];
    const totals = rangeTotals(rows);
    expect(totals.total_distance).toBe("3.75");
    // (10.00 * 1 + 12.50 * 2) / 3 = 11.666…
    expect(totals.average_duration_minutes).toBe("11.67");
  });
});

describe("the change against the previous day", () => {
  test.each([
    ["110.00", "100.00", "+10.0%"],
    ["90", "100", "-10.0%"],
    ["100.04", "100.00", "0.0%"],
    ["100.05", "100.00", "+0.1%"],
    [3, 2, "+50.0%"],
    ["0.00", "5.00", "-100.0%"],
    ["-80.00", "10.00", "-900.0%"],
    ["10.00", "-10.00", "-200.0%"],
    ["1", "3", "-66.7%"],
  ] as const)("%s against %s is %s", (current, previous, shown) => {
    expect(percentChange(current, previous)).toBe(shown);
  });

  test("nothing to compare with: null", () => {
    expect(percentChange("5.00", null)).toBeNull();
    expect(percentChange(null, "5.00")).toBeNull();
    expect(percentChange("5.00", "0.00")).toBeNull();
  });
});

describe("labels and the CSV export", () => {
  test("money labels carry the stage's currency, other units their own, counts none", () => {
    expect(FARE_KPIS.map((kpi) => kpiHeading(kpi, "EUR"))).toEqual([
      "Total fare (EUR)",
      "Trips",
      "Average fare (EUR)",
      "Max fare (EUR)",
      "Min fare (EUR)",
    ]);
    expect(kpiHeading(field("total_distance", "distance", "sum"), "EUR")).toBe("total_distance (mi)");
    expect(kpiHeading(field("average_duration_minutes", "minutes", "mean"), "EUR")).toBe(
      "average_duration_minutes (min)",
    );
  });

  test("every registered KPI is shown, the new ones included", () => {
    expect(DASHBOARD_KPIS.map((kpi) => kpi.name)).toEqual(
      expect.arrayContaining(["total_tip", "total_distance", "average_duration_minutes", "median_fare"]),
    );
    expect(DASHBOARD_KPIS.filter((kpi) => !kpi.live).map((kpi) => kpi.name)).toEqual(["median_fare"]);
  });

  test("a header, one line per row, money with two decimals and no grouping, CRLF lines", () => {
    const rows = [
      {
        pickup_date: "2024-05-25",
        total_fare: "274393.88",
        trip_count: 4999,
        average_fare: "54.89",
        max_fare: "406.94",
        min_fare: "3.00",
        computed_at: "2024-05-26 01:04:05",
      },
    ];
    expect(dailyCsv(rows, "USD", FARE_KPIS)).toBe(
      "Pickup day (UTC),Total fare (USD),Trips,Average fare (USD),Max fare (USD),Min fare (USD),Computed at (UTC)\r\n" +
        "2024-05-25,274393.88,4999,54.89,406.94,3.00,2024-05-26 01:04:05\r\n",
    );
    expect(dailyCsv([], "USD").split("\r\n")).toHaveLength(2);
    // A KPI the row lacks is an empty cell, not "null".
    expect(dailyCsv(rows, "USD", [field("total_tip", "money", "sum")])).toBe(
      "Pickup day (UTC),total_tip (USD),Computed at (UTC)\r\n2024-05-25,,2024-05-26 01:04:05\r\n",
    );
  });

  test("a cell holding a comma or a quote is quoted", () => {
    const kpis: DashboardKpi[] = [{ ...field("total_fare", "count", "sum"), label: 'Fare, "gross"' }];
    expect(dailyCsv([], "USD", kpis)).toBe('Pickup day (UTC),"Fare, ""gross""",Computed at (UTC)\r\n');
  });
});
