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
 * Trips in, KPIs out. One trip per trip_id, the one with the earliest pickup (the contract's
 * duplicate rule, shared with the Glue job): several COMPLETED items of a trip exist briefly
 * while it is re-matched (and for good if a delete is lost), and at-least-once inputs repeat
 * rows. Equal pickups are the same table item; a repeated row with another fare keeps the
 * smaller one, so the result never depends on input order.
 */
export class DailyKpiAccumulator {
  private readonly trips = new Map<string, { pickup: string; fare: Decimal }>();

  add(trip: KpiTrip): void {
    const fare = Decimal.parse(trip.fare_amount);
    const kept = this.trips.get(trip.trip_id);
    if (kept && (kept.pickup < trip.pickup_datetime || (kept.pickup === trip.pickup_datetime && kept.fare.compare(fare) <= 0))) return;
    this.trips.set(trip.trip_id, { pickup: trip.pickup_datetime, fare });
  }

  results(): DailyKpi[] {
    const days = new Map<string, DayTotals>();
    for (const { pickup, fare } of this.trips.values()) {
      const day = dateOf(pickup);
      const totals = days.get(day);
      if (!totals) {
        days.set(day, { total: fare, count: 1, max: fare, min: fare });
        continue;
      }
      totals.total = totals.total.plus(fare);
      totals.count += 1;
      // Stryker disable next-line EqualityOperator: replacing the max by an equal fare leaves max_fare (2 dp text) unchanged.
      if (fare.compare(totals.max) > 0) totals.max = fare;
      // Stryker disable next-line EqualityOperator: replacing the min by an equal fare leaves min_fare unchanged.
      if (fare.compare(totals.min) < 0) totals.min = fare;
    }
    // YYYY-MM-DD is fixed-width, so plain text order is calendar order.
    return [...days.keys()].sort().map((pickup_date) => {
      const t = days.get(pickup_date)!;
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
