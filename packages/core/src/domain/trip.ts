/**
 * When a trip is complete, and which events win when one trip reports conflicting ones.
 *
 * The rule is a function of the SET of a trip's valid events, nothing else:
 * - events are totally ordered per kind by `compareStarts`/`compareEnds`: instant first, then
 *   (same instant, different values) the values in a fixed field order, numbers by value,
 *   an absent field before a present one. Equal under the order = the same event (a duplicate);
 * - the least start wins, paired with the least end not before it (dropoff >= pickup); ends but
 *   none eligible = an anomaly; no start or no end = pending.
 *
 * `essentialEvents` is what lets the matcher forget: for any events Y still to come,
 * matchTrip(essential(X) ∪ Y) = matchTrip(X ∪ Y). With S the least start of X, E the least end
 * of X not before S: a later start never wins again (starts only get earlier), an end later
 * than E never wins (any earlier start that makes it eligible makes E eligible too, and E is
 * less), the non-least events of one instant never win. Only S, E and the least end of each
 * instant BEFORE S (eligible once an earlier start arrives) are needed.
 */

import { compareDateTimes } from "./datetime.js";
import { Decimal } from "./decimal.js";
import type { EndEvent, Rejection, StartEvent, TripEvent } from "./events.js";
import { END_EXTRAS, START_EXTRAS } from "./events.js";

type Extras = Partial<Record<keyof typeof START_EXTRAS | keyof typeof END_EXTRAS, string>>;

export type CompletedTrip = {
  trip_id: string;
  pickup_datetime: string;
  dropoff_datetime: string;
  estimated_fare_amount: string;
  fare_amount: string;
} & Extras;

export type MatchOutcome =
  | { kind: "completed"; trip: CompletedTrip; start: StartEvent; end: EndEvent }
  | { kind: "anomaly"; start: StartEvent; end: EndEvent; rejection: Rejection }
  | { kind: "pending" };

type ValueKind = "integer" | "decimal" | "datetime";
/** The values an event carries besides its trip and instant, in tie-break order. */
// Stryker disable next-line StringLiteral: only "datetime" is told apart; any other kind compares as a decimal.
const START_VALUES: [keyof StartEvent, ValueKind][] = [
  ["estimated_fare_amount", "decimal"],
  ...(Object.entries(START_EXTRAS) as [keyof StartEvent, ValueKind][]),
];
// Stryker disable next-line StringLiteral: as above.
const END_VALUES: [keyof EndEvent, ValueKind][] = [
  ["fare_amount", "decimal"],
  ...(Object.entries(END_EXTRAS) as [keyof EndEvent, ValueKind][]),
];

function compareValue(a: string | undefined, b: string | undefined, kind: ValueKind): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  if (kind === "datetime") return compareDateTimes(a, b);
  return Decimal.parse(a).compare(Decimal.parse(b));
}

function compareFields<T>(a: T, b: T, fields: readonly [keyof T, ValueKind][]): number {
  for (const [name, kind] of fields) {
    const order = compareValue(a[name] as string | undefined, b[name] as string | undefined, kind);
    if (order !== 0) return order;
  }
  return 0;
}

/** Earlier pickup first; at the same pickup the smaller estimated fare, then the extras in order. */
export function compareStarts(a: StartEvent, b: StartEvent): number {
  return compareFields(a, b, [["pickup_datetime", "datetime"], ...START_VALUES]);
}

/** Earlier dropoff first; at the same dropoff the smaller fare, then the extras in order. */
export function compareEnds(a: EndEvent, b: EndEvent): number {
  return compareFields(a, b, [["dropoff_datetime", "datetime"], ...END_VALUES]);
}

export function sameEvent(a: TripEvent, b: TripEvent): boolean {
  // Stryker disable next-line ConditionalExpression: a start never compares equal to an end (its pickup is compared with an absent one), so the type guard cannot change the answer.
  if (a.event_type === "start") return b.event_type === "start" && compareStarts(a, b) === 0;
  // Stryker disable next-line ConditionalExpression: as above, for an end.
  return b.event_type === "end" && compareEnds(a, b) === 0;
}

/** The event's values as canonical text (numbers normalised): equal exactly for duplicates. */
export function canonicalValues(event: TripEvent): string {
  const fields: [string, ValueKind][] = event.event_type === "start" ? START_VALUES : END_VALUES;
  const values = event as Record<string, string | undefined>;
  return JSON.stringify(
    fields.map(([name, kind]) => {
      const value = values[name];
      return value === undefined || kind === "datetime" ? (value ?? null) : Decimal.parse(value).toString();
    }),
  );
}

export function matchTrip(starts: readonly StartEvent[], ends: readonly EndEvent[]): MatchOutcome {
  const start = least(starts, compareStarts);
  if (!start || ends.length === 0) return { kind: "pending" };
  const end = least(
    ends.filter((e) => e.dropoff_datetime >= start.pickup_datetime),
    compareEnds,
  );
  if (!end) {
    // The least end of the latest instant: what the essential events keep, so reports agree.
    // Stryker disable next-line EqualityOperator: equal dropoffs are handled before the >, so >= cannot differ.
    const latest = least(ends, (a, b) =>
      a.dropoff_datetime === b.dropoff_datetime ? compareEnds(a, b) : a.dropoff_datetime > b.dropoff_datetime ? -1 : 1,
    )!;
    return {
      kind: "anomaly",
      start,
      end: latest,
      rejection: {
        code: "dropoff_before_pickup",
        field: "dropoff_datetime",
        message: `dropoff ${latest.dropoff_datetime} is before pickup ${start.pickup_datetime}`,
      },
    };
  }
  return { kind: "completed", trip: completedTrip(start, end), start, end };
}

export function completedTrip(start: StartEvent, end: EndEvent): CompletedTrip {
  const { event_type: _s, ...startFields } = start;
  const { event_type: _e, ...endFields } = end;
  return { ...startFields, ...endFields };
}

/** The start and end a completed trip was made of (how the matcher reads its choice back). */
export function eventsOf(trip: CompletedTrip): { start: StartEvent; end: EndEvent } {
  const values = trip as Record<string, string | undefined>;
  const pickValues = (names: readonly string[]) =>
    Object.fromEntries(names.flatMap((name) => (values[name] === undefined ? [] : [[name, values[name]]])));
  return {
    start: {
      event_type: "start",
      trip_id: trip.trip_id,
      pickup_datetime: trip.pickup_datetime,
      ...pickValues(START_VALUES.map(([name]) => name)),
    } as StartEvent,
    end: {
      event_type: "end",
      trip_id: trip.trip_id,
      dropoff_datetime: trip.dropoff_datetime,
      ...pickValues(END_VALUES.map(([name]) => name)),
    } as EndEvent,
  };
}

/** The events the rule may still need, whatever arrives later (see the top of this file). */
export function essentialEvents(
  starts: readonly StartEvent[],
  ends: readonly EndEvent[],
): { starts: StartEvent[]; ends: EndEvent[] } {
  const start = least(starts, compareStarts);
  const byInstant = new Map<string, EndEvent>();
  for (const end of ends) {
    const known = byInstant.get(end.dropoff_datetime);
    // Stryker disable next-line EqualityOperator: ends equal under the order are the same event, deduplicated before (matcher's unique).
    if (!known || compareEnds(end, known) < 0) byInstant.set(end.dropoff_datetime, end);
  }
  const leastEnds = [...byInstant.values()];
  if (!start) return { starts: [], ends: leastEnds };
  const eligible = least(
    leastEnds.filter((e) => e.dropoff_datetime >= start.pickup_datetime),
    compareEnds,
  );
  return {
    starts: [start],
    ends: [...leastEnds.filter((e) => e.dropoff_datetime < start.pickup_datetime), ...(eligible ? [eligible] : [])],
  };
}

function least<T>(items: readonly T[], compare: (a: T, b: T) => number): T | undefined {
  let best: T | undefined;
  // Stryker disable next-line EqualityOperator: items equal under the order are the same event: either one is the answer.
  for (const item of items) if (best === undefined || compare(item, best) < 0) best = item;
  return best;
}
