/** Daily fare KPIs over completed trips, grouped by the UTC pickup date. Exact until output. */
import { dateOf } from "./datetime.js";
import { Decimal } from "./decimal.js";

export interface KpiTrip {
  trip_id: string;
  pickup_datetime: string;
  fare_amount: string;
}

/** Money as text with exactly 2 decimals, rounded half-up. */
export interface DailyKpi {
  pickup_date: string;
  total_fare: string;
  trip_count: number;
  average_fare: string;
  max_fare: string;
  min_fare: string;
}

interface DayTotals {
  total: Decimal;
  count: number;
  max: Decimal;
  min: Decimal;
}

/**
 * Streams trips in and KPIs out. A trip is counted once per trip_id, so at-least-once inputs
 * (duplicated rows, replays) cannot inflate a day.
 */
export class DailyKpiAccumulator {
  private readonly seen = new Set<string>();
  private readonly days = new Map<string, DayTotals>();

  add(trip: KpiTrip): void {
    if (this.seen.has(trip.trip_id)) return;
    this.seen.add(trip.trip_id);
    const fare = Decimal.parse(trip.fare_amount);
    const day = dateOf(trip.pickup_datetime);
    const totals = this.days.get(day);
    if (!totals) {
      this.days.set(day, { total: fare, count: 1, max: fare, min: fare });
      return;
    }
    totals.total = totals.total.plus(fare);
    totals.count += 1;
    // Stryker disable next-line EqualityOperator: replacing the max by an equal fare leaves max_fare (2 dp text) unchanged.
    if (fare.compare(totals.max) > 0) totals.max = fare;
    // Stryker disable next-line EqualityOperator: replacing the min by an equal fare leaves min_fare unchanged.
    if (fare.compare(totals.min) < 0) totals.min = fare;
  }

  results(): DailyKpi[] {
    // YYYY-MM-DD is fixed-width, so plain text order is calendar order.
    return [...this.days.keys()].sort().map((pickup_date) => {
      const t = this.days.get(pickup_date)!;
      return {
        pickup_date,
        total_fare: t.total.toFixed(2),
        trip_count: t.count,
        average_fare: t.total.dividedByToFixed(t.count, 2),
        max_fare: t.max.toFixed(2),
        min_fare: t.min.toFixed(2),
      };
    });
  }
}

export function computeDailyKpis(trips: Iterable<KpiTrip>): DailyKpi[] {
  const accumulator = new DailyKpiAccumulator();
  for (const trip of trips) accumulator.add(trip);
  return accumulator.results();
}
