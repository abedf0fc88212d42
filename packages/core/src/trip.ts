/** When a trip is complete, and which events win when one trip reports conflicting ones. */
import type { EndEvent, Rejection, StartEvent } from "./events.js";
import { START_EXTRAS, END_EXTRAS } from "./events.js";

type Extras = Partial<Record<keyof typeof START_EXTRAS | keyof typeof END_EXTRAS, string>>;

export type CompletedTrip = {
  trip_id: string;
  pickup_datetime: string;
  dropoff_datetime: string;
  estimated_fare_amount: string;
  fare_amount: string;
} & Extras;

export type MatchOutcome =
  | { kind: "completed"; trip: CompletedTrip }
  | { kind: "anomaly"; start: StartEvent; end: EndEvent; rejection: Rejection }
  | { kind: "pending" };

/**
 * Conflict rule (same trip, same kind, different values): the earliest start wins, paired with
 * the earliest end not before it. It depends only on the set of events, never on arrival order.
 * When every end precedes the chosen start the pair is an anomaly, not a completed trip.
 */
export function matchTrip(starts: readonly StartEvent[], ends: readonly EndEvent[]): MatchOutcome {
  const start = minBy(starts, (s) => s.pickup_datetime);
  if (!start || ends.length === 0) return { kind: "pending" };
  const end = minBy(
    ends.filter((e) => e.dropoff_datetime >= start.pickup_datetime),
    (e) => e.dropoff_datetime,
  );
  if (!end) {
    const latest = ends.reduce((a, b) => (b.dropoff_datetime > a.dropoff_datetime ? b : a));
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
  const { event_type: _s, ...startFields } = start;
  const { event_type: _e, ...endFields } = end;
  return { kind: "completed", trip: { ...startFields, ...endFields } };
}

function minBy<T>(items: readonly T[], key: (item: T) => string): T | undefined {
  let best: T | undefined;
  for (const item of items) if (best === undefined || key(item) < key(best)) best = item;
  return best;
}
