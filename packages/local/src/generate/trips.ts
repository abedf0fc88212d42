/**
 * The trip model behind `pnpm gen-data`: realistic trips (pickups across the day, 3-90 minute
 * rides, fares that follow distance and duration, some crossing midnight) plus what real exports
 * also contain: invalid rows of every reason a CSV row can have, exact duplicate rows, orphans
 * (a start without an end and the reverse) and anomalies (dropoff before pickup).
 *
 * One seeded PRNG drives everything in trip order, so the same options always give the same
 * trips, and a trip is produced without looking at any other (constant memory for millions).
 */
import { checkTripDateTime, formatDateTime } from "@trip-pipeline/core/domain/datetime";
import type { ReasonCode } from "@trip-pipeline/core/domain/events";
import { hexIdOf, intBetween, mulberry32, normal, type Random, weighted } from "./prng.js";

/** Exactly the real exports' columns, in their order (trip_end has trip_id last). */
export const START_COLUMNS = [
  "trip_id",
  "pickup_location_id",
  "dropoff_location_id",
  "vendor_id",
  "pickup_datetime",
  "estimated_dropoff_datetime",
  "estimated_fare_amount",
] as const;
export const END_COLUMNS = [
  "dropoff_datetime",
  "rate_code",
  "passenger_count",
  "trip_distance",
  "fare_amount",
  "tip_amount",
  "payment_type",
  "trip_type",
  "trip_id",
] as const;

export interface GenerateOptions {
  trips: number;
  days: number;
  seed: number;
  /** First pickup day, `YYYY-MM-DD` (UTC). */
  startDate: string;
}

/** How often each irregularity occurs, per trip (or per row for invalid rows). */
const RATES = {
  orphanStart: 0.01,
  orphanEnd: 0.01,
  anomaly: 0.005,
  duplicateStart: 0.01,
  duplicateEnd: 0.01,
  invalidStart: 0.01,
  invalidEnd: 0.01,
};

export interface GeneratedRow {
  cells: string[];
  /** Set on a row ingest must reject, with the reason it must give. */
  reason?: ReasonCode;
}

export interface GeneratedTrip {
  index: number;
  trip_id: string;
  /** This trip's rows in trip_start.csv / trip_end.csv: none (orphan), one, or one plus exact copies. */
  start: GeneratedRow[];
  end: GeneratedRow[];
  /** The trip's facts, independent of its rows' validity. */
  pickup_datetime: string;
  dropoff_datetime: string;
  fare_amount: string;
  /** Every column of the trip's start and end rows (tips, distance, ...), before any row is made invalid. */
  columns: Cells;
  /** How many trips later the duplicate copies appear in the files. */
  duplicateLag: number;
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** Pickups per hour of day (UTC), shaped like city taxi traffic: a night low and an evening peak. */
const HOUR_WEIGHTS = [
  2, 1.3, 0.9, 0.6, 0.5, 0.7, 1.8, 3.2, 4, 4, 4, 4.2, 4.4, 4.5, 5, 5.2, 5.3, 6, 6.2, 5.5, 4.8, 4.5, 4, 3,
].map((weight, hour) => [hour, weight] as const);
const HOT_LOCATIONS = [74, 75, 166, 41, 95, 132, 138, 236, 237, 161];
const RATE_CODES = [
  ["1.0", 85],
  ["2.0", 6],
  ["5.0", 5],
  ["3.0", 1],
  ["4.0", 0.5],
  ["99.0", 0.1],
] as const;
const PASSENGERS = [
  ["1.0", 75],
  ["2.0", 10],
  ["3.0", 3],
  ["4.0", 1],
  ["5.0", 3],
  ["6.0", 2],
  ["0.0", 2],
] as const;
const PAYMENT_TYPES = [
  ["1.0", 62],
  ["2.0", 30],
  ["3.0", 3],
  ["4.0", 1],
] as const;
const TRIP_TYPES = [
  ["1.0", 96],
  ["2.0", 4],
] as const;

type Cells = Record<string, string>;
/** A change that makes a row invalid for exactly one reason. */
type Mutation = { reason: ReasonCode; apply(cells: Cells): void; shape?: "drop_last_cell" | "extra_cell" };

const malformed = (shape: "drop_last_cell" | "extra_cell"): Mutation => ({
  reason: "malformed_row",
  shape,
  apply: () => {},
});
const setCell = (reason: ReasonCode, column: string, value: (cells: Cells) => string): Mutation => ({
  reason,
  apply: (cells) => {
    cells[column] = value(cells);
  },
});

function datetimeMutations(column: string): Mutation[] {
  return [
    setCell("invalid_datetime_format", column, (c) => c[column]!.replace(" ", "T")),
    setCell("invalid_datetime_format", column, (c) => c[column]!.slice(0, 16)),
    setCell("invalid_calendar_datetime", column, (c) => `2023-02-29${c[column]!.slice(10)}`),
    setCell("invalid_calendar_datetime", column, (c) => `${c[column]!.slice(0, 5)}04-31${c[column]!.slice(10)}`),
    setCell("invalid_calendar_datetime", column, (c) => `${c[column]!.slice(0, 11)}24${c[column]!.slice(13)}`),
  ];
}

function fareMutations(column: string): Mutation[] {
  return [
    setCell("invalid_fare", column, (c) => `-${c[column]}`),
    // A decimal comma: the writer quotes it, so it also exercises quoted commas.
    setCell("invalid_fare", column, (c) => Number(c[column]).toFixed(2).replace(".", ",")),
    setCell("invalid_fare", column, () => "n/a"),
    // More significant digits than DynamoDB keeps exactly.
    setCell("invalid_fare", column, (c) => `${c[column]}${"3".repeat(39)}`),
    setCell("invalid_fare", column, () => ""),
  ];
}

const TRIP_ID_MUTATIONS = [
  setCell("invalid_trip_id", "trip_id", () => ""),
  setCell("invalid_trip_id", "trip_id", (c) => c.trip_id!.repeat(13)),
];

/** Every way a CSV row can be rejected (missing_field cannot happen: a present header gives every row every column). */
function invalidRows(datetime: string, fare: string, extras: Mutation[]): Mutation[] {
  return [
    malformed("drop_last_cell"),
    ...TRIP_ID_MUTATIONS,
    ...datetimeMutations(datetime),
    ...fareMutations(fare),
    ...extras,
    malformed("extra_cell"),
  ];
}

const INVALID: Record<"start" | "end", Mutation[]> = {
  start: invalidRows("pickup_datetime", "estimated_fare_amount", [
    setCell("invalid_extra", "vendor_id", () => "V2"),
    setCell("invalid_extra", "pickup_location_id", (c) => `${c.pickup_location_id}.5`),
  ]),
  end: invalidRows("dropoff_datetime", "fare_amount", [
    setCell("invalid_extra", "rate_code", () => "standard"),
    setCell("invalid_extra", "tip_amount", () => "-1.5"),
  ]),
};

export function parseStartDate(text: string): number {
  if (!checkTripDateTime(`${text} 00:00:00`).ok)
    throw new RangeError(`start date ${JSON.stringify(text)} is not a real YYYY-MM-DD date`);
  return Date.parse(`${text}T00:00:00Z`);
}

function checkOptions({ trips, days, seed }: GenerateOptions): void {
  if (!Number.isInteger(trips) || trips < 0 || trips >= 2 ** 40)
    throw new RangeError(`trips must be a whole number from 0, got ${trips}`);
  if (!Number.isInteger(days) || days < 1) throw new RangeError(`days must be a whole number from 1, got ${days}`);
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be a whole number, got ${seed}`);
}

/** A float's shortest text with at most 15 decimals, as the real exports write amounts. */
function floatText(value: number): string {
  return String(Number(value.toFixed(15)));
}

/** A fare as the exports write it: mostly a float's full text, sometimes cents or whole. */
function fareText(random: Random, value: number): string {
  const style = random();
  if (style < 0.05) return String(Math.round(value));
  if (style < 0.2) return value.toFixed(2);
  return floatText(value);
}

function location(random: Random): string {
  return String(
    random() < 0.4 ? HOT_LOCATIONS[intBetween(random, 0, HOT_LOCATIONS.length - 1)]! : intBetween(random, 1, 265),
  );
}

export function* generateTrips(options: GenerateOptions): Generator<GeneratedTrip> {
  checkOptions(options);
  const random = mulberry32(options.seed);
  const firstDay = parseStartDate(options.startDate);
  const invalidCount = { start: 0, end: 0 };

  // Cycling through the mutations (rather than drawing them) puts every reason in even a small sample.
  const row = (kind: "start" | "end", columns: readonly string[], cells: Cells, invalid: boolean): GeneratedRow => {
    if (!invalid) return { cells: columns.map((column) => cells[column]!) };
    const list = INVALID[kind];
    const mutation = list[invalidCount[kind]++ % list.length]!;
    const copy = { ...cells };
    mutation.apply(copy);
    const out = columns.map((column) => copy[column]!);
    if (mutation.shape === "drop_last_cell") out.pop();
    if (mutation.shape === "extra_cell") out.push("extra");
    return { cells: out, reason: mutation.reason };
  };

  for (let index = 0; index < options.trips; index += 1) {
    const trip_id = hexIdOf(options.seed, index);
    const pickupMs =
      firstDay +
      intBetween(random, 0, options.days - 1) * DAY +
      weighted(random, HOUR_WEIGHTS) * 60 * MINUTE +
      intBetween(random, 0, 59) * MINUTE;
    // Log-normal ride length (median ~18 min), clamped to 3-90 minutes.
    const minutes = Math.min(90, Math.max(3, Math.round(Math.exp(Math.log(18) + 0.6 * normal(random)))));
    const estimatedMinutes = Math.max(2, Math.round(minutes * (0.8 + 0.4 * random())));
    const mph = Math.min(40, Math.max(3, 12 + 4 * normal(random)));
    const distance = random() < 0.04 ? 0 : Math.round((minutes / 60) * mph * 10) / 10;
    const estimatedFare = Math.max(2.5, (2.5 + 2.2 * distance + 0.45 * estimatedMinutes) * (1 + 0.1 * normal(random)));
    const estimated_fare_amount = fareText(random, estimatedFare);
    // Half the trips are charged the estimate exactly, as in the real exports.
    const fare_amount =
      random() < 0.5
        ? estimated_fare_amount
        : fareText(random, Math.max(2.5, estimatedFare * (minutes / estimatedMinutes) * (1 + 0.05 * normal(random))));
    const anomaly = random() < RATES.anomaly;
    const dropoffMs = anomaly ? pickupMs - intBetween(random, 5, 120) * MINUTE : pickupMs + minutes * MINUTE;
    const pickup_datetime = formatDateTime(new Date(pickupMs));
    const dropoff_datetime = formatDateTime(new Date(dropoffMs));
    const known = random() >= 0.1;

    const startCells: Cells = {
      trip_id,
      pickup_location_id: location(random),
      dropoff_location_id: location(random),
      vendor_id: random() < 0.86 ? "2" : "1",
      pickup_datetime,
      estimated_dropoff_datetime: formatDateTime(new Date(pickupMs + estimatedMinutes * MINUTE)),
      estimated_fare_amount,
    };
    const endCells: Cells = {
      dropoff_datetime,
      // About one row in ten lacks the categorical columns, as in the real exports.
      rate_code: known ? weighted(random, RATE_CODES) : "",
      passenger_count: known ? weighted(random, PASSENGERS) : "",
      trip_distance: distance.toFixed(1),
      fare_amount,
      tip_amount: random() < 0.7 ? "0.0" : floatText(0.5 + 4.5 * random()),
      payment_type: known ? weighted(random, PAYMENT_TYPES) : "",
      trip_type: known ? weighted(random, TRIP_TYPES) : "",
      trip_id,
    };

    // An end orphan has no start row, a start orphan no end row.
    const shape = random();
    const endOrphan = shape < RATES.orphanEnd;
    const startOrphan = !endOrphan && shape < RATES.orphanEnd + RATES.orphanStart;
    const start = endOrphan ? [] : [row("start", START_COLUMNS, startCells, random() < RATES.invalidStart)];
    const end = startOrphan ? [] : [row("end", END_COLUMNS, endCells, random() < RATES.invalidEnd)];
    if (start[0] && !start[0].reason && random() < RATES.duplicateStart) start.push(start[0]);
    if (end[0] && !end[0].reason && random() < RATES.duplicateEnd) end.push(end[0]);
    yield {
      index,
      trip_id,
      start,
      end,
      pickup_datetime,
      dropoff_datetime,
      fare_amount,
      columns: { ...startCells, ...endCells },
      duplicateLag: intBetween(random, 0, 5),
    };
  }
}
