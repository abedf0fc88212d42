/**
 * Daily KPIs over completed trips, grouped by the UTC pickup date: every field of the KPI registry
 * (kpi-registry.ts), exact until output. The one TypeScript aggregation: the nightly job folds
 * trips into DayTotals here, the live path builds DayTotals from its per-shard sums, and both turn
 * them into a row with kpiValues.
 */
import { dateOf, secondsBetween } from "../domain/datetime.js";
import { Decimal } from "../domain/decimal.js";
import { KPI_FIELDS, KPI_SOURCES, KPI_TYPES, type KpiField, type KpiRow, type KpiValue, ROW_KEY } from "./registry.js";

/** A completed trip as the KPI jobs read it: the columns the registry's sources name (absent: 0). */
export interface KpiTrip {
  trip_id: string;
  pickup_datetime: string;
  dropoff_datetime: string;
  fare_amount: string;
}

/** One row per pickup day: every registered field, decimals as text with their type's places. */
export type DailyKpi = KpiRow;

/** A source column's exact value on a trip; an absent or empty column counts as 0. */
export function sourceValue(trip: KpiTrip, source: string): Decimal {
  if (source === "duration_seconds")
    return Decimal.parse(String(secondsBetween(trip.pickup_datetime, trip.dropoff_datetime)));
  const value = (trip as unknown as Record<string, unknown>)[source];
  return value === undefined || value === null || value === "" ? Decimal.ZERO : Decimal.parseNumber(String(value));
}

/** What a day's fields are computed from, per source column. */
export interface DayTotals {
  count: number;
  sums: ReadonlyMap<string, Decimal>;
  /** Absent: not known (live extremes settling, or a source the path does not track). */
  max: ReadonlyMap<string, Decimal>;
  min: ReadonlyMap<string, Decimal>;
  /** Every value, for medians (nightly only). */
  values: ReadonlyMap<string, readonly Decimal[]>;
}

/** `value` in the field's output unit, half-up to its places. */
function output(field: KpiField, value: Decimal, divisor = 1): KpiValue {
  const { places, source_units } = KPI_TYPES[field.type];
  const text = value.dividedByToFixed(divisor * source_units, places);
  return field.type === "count" ? Number(text) : text;
}

function fieldValue(field: KpiField, totals: DayTotals): KpiValue {
  const sum = totals.sums.get(field.source);
  switch (field.aggregation) {
    case "count":
      return totals.count;
    case "sum":
      return sum === undefined ? null : output(field, sum);
    case "mean":
      // A live day may briefly count no trip, or a sum below zero (a removal before its insert): no mean then.
      return sum === undefined || totals.count <= 0 || sum.sign < 0 ? null : output(field, sum, totals.count);
    case "max":
    case "min": {
      const extreme = totals[field.aggregation].get(field.source);
      return extreme === undefined ? null : output(field, extreme);
    }
    case "median": {
      const sorted = [...(totals.values.get(field.source) ?? [])].sort((a, b) => a.compare(b));
      if (sorted.length === 0) return null;
      const middle = sorted.length >> 1;
      return sorted.length % 2 === 1
        ? output(field, sorted[middle]!)
        : output(field, sorted[middle - 1]!.plus(sorted[middle]!), 2);
    }
  }
}

/** The row of a day: each of `fields` from the day's totals (null where they cannot give it). */
export function kpiValues(date: string, totals: DayTotals, fields: readonly KpiField[] = KPI_FIELDS): KpiRow {
  const row: KpiRow = { [ROW_KEY]: date };
  for (const field of fields) row[field.name] = fieldValue(field, totals);
  return row;
}

/** Sources some field takes the median of: only their values are kept whole. */
// Stryker disable next-line MethodExpression,ConditionalExpression,EqualityOperator: keeping other sources' values too costs memory, not a different row.
const MEDIAN_SOURCES = new Set(KPI_FIELDS.filter((field) => field.aggregation === "median").map((f) => f.source));

interface MutableTotals extends DayTotals {
  sums: Map<string, Decimal>;
  max: Map<string, Decimal>;
  min: Map<string, Decimal>;
  values: Map<string, Decimal[]>;
}

/**
 * Trips folded into their pickup day's totals one at a time, holding per day only what the
 * fields need (every value only of median sources): a day of a million trips in bounded memory.
 * The caller gives each trip once (see DailyKpiAccumulator for inputs that may repeat one).
 */
export class DailyTotals {
  private readonly days = new Map<string, MutableTotals>();

  add(trip: KpiTrip): void {
    const day = dateOf(trip.pickup_datetime);
    let totals = this.days.get(day);
    if (!totals) {
      totals = { count: 0, sums: new Map(), max: new Map(), min: new Map(), values: new Map() };
      this.days.set(day, totals);
    }
    totals.count += 1;
    for (const source of KPI_SOURCES) {
      const value = sourceValue(trip, source);
      totals.sums.set(source, (totals.sums.get(source) ?? Decimal.ZERO).plus(value));
      const max = totals.max.get(source);
      // Stryker disable next-line EqualityOperator: replacing the max by an equal value leaves the output unchanged.
      if (max === undefined || value.compare(max) > 0) totals.max.set(source, value);
      const min = totals.min.get(source);
      // Stryker disable next-line EqualityOperator: replacing the min by an equal value leaves the output unchanged.
      if (min === undefined || value.compare(min) < 0) totals.min.set(source, value);
      // Stryker disable next-line ConditionalExpression: keeping other sources' values too costs memory, not a different row.
      if (!MEDIAN_SOURCES.has(source)) continue;
      const all = totals.values.get(source);
      if (all) all.push(value);
      else totals.values.set(source, [value]);
    }
  }

  /** The days seen, in calendar order. */
  dates(): string[] {
    // YYYY-MM-DD is fixed-width, so plain text order is calendar order.
    return [...this.days.keys()].sort();
  }

  results(): DailyKpi[] {
    return this.dates().map((date) => kpiValues(date, this.days.get(date)!));
  }
}

/**
 * Trips in, KPIs out. One trip per trip_id, the one with the earliest pickup (the contract's
 * duplicate rule, shared with the Glue job): several COMPLETED items of a trip exist briefly
 * while it is re-matched (and for good if a delete is lost), and at-least-once inputs repeat
 * rows. Equal pickups are the same table item; a repeated row with another fare keeps the
 * smaller one, so the result never depends on input order. Holds every trip until results().
 */
export class DailyKpiAccumulator {
  private readonly trips = new Map<string, { trip: KpiTrip; fare: Decimal }>();

  add(trip: KpiTrip): void {
    const fare = Decimal.parse(trip.fare_amount);
    const kept = this.trips.get(trip.trip_id);
    if (
      kept &&
      (kept.trip.pickup_datetime < trip.pickup_datetime ||
        // Stryker disable next-line EqualityOperator: an equal pickup and fare is the same item read twice, with the same columns either way.
        (kept.trip.pickup_datetime === trip.pickup_datetime && kept.fare.compare(fare) <= 0))
    )
      return;
    this.trips.set(trip.trip_id, { trip, fare });
  }

  results(): DailyKpi[] {
    const totals = new DailyTotals();
    for (const { trip } of this.trips.values()) totals.add(trip);
    return totals.results();
  }
}

export function computeDailyKpis(trips: Iterable<KpiTrip>): DailyKpi[] {
  const accumulator = new DailyKpiAccumulator();
  for (const trip of trips) accumulator.add(trip);
  return accumulator.results();
}
