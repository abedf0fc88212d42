/**
 * Trip events and their validation. The same rules apply to a CSV row (ingest) and to a JSON
 * event on the wire (the stream consumers), so a record is judged identically at every boundary.
 * On the wire an event is one JSON object: `event_type` plus the snake_case fields, fares and
 * numeric extras as decimal strings (JSON numbers would lose exactness).
 */
// zod 4 (shipped inside zod 3.25 as "zod/v4"): the same schemas validate ~10x faster with far less garbage.
import { z } from "zod/v4";
import { unstorableNumber } from "../store/dynamo-number.js";
import { checkTripDateTime } from "./datetime.js";
import { DECIMAL_PATTERN } from "./decimal.js";

/**
 * With at most 128 UTF-16 units a trip_id takes at most 384 UTF-8 bytes, so every key holding it
 * stays within DynamoDB's limits (partition key 2,048 bytes; sort keys, GSI included, 1,024) and
 * Kinesis's 256-character partition key; test/dynamo-limits.test.ts checks the largest items.
 */
export const MAX_TRIP_ID_LENGTH = 128;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const REASON_CODES = [
  "malformed_row",
  "invalid_json",
  "invalid_event_type",
  "missing_field",
  "invalid_trip_id",
  "invalid_datetime_format",
  "invalid_calendar_datetime",
  "invalid_fare",
  "invalid_extra",
  "dropoff_before_pickup",
  "delivery_failed",
  // Over Kinesis's 1 MiB per record: unlike delivery_failed, sending it again cannot succeed.
  "record_too_large",
  // DynamoDB refused a record that validation passed (a limit validation did not foresee): trailed, never retried.
  "store_rejected",
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export interface Rejection {
  code: ReasonCode;
  field?: string;
  message: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; rejection: Rejection };

export type EventType = "start" | "end";

/** Optional columns the real exports carry, with their types; anything else is ignored. */
const EXTRA_KINDS = {
  integer: /^\d+$/,
  decimal: DECIMAL_PATTERN,
  datetime: null,
} as const;
type ExtraKind = keyof typeof EXTRA_KINDS;

export const START_EXTRAS = {
  pickup_location_id: "integer",
  dropoff_location_id: "integer",
  vendor_id: "integer",
  estimated_dropoff_datetime: "datetime",
} as const satisfies Record<string, ExtraKind>;

export const END_EXTRAS = {
  rate_code: "decimal",
  passenger_count: "decimal",
  trip_distance: "decimal",
  tip_amount: "decimal",
  payment_type: "decimal",
  trip_type: "decimal",
} as const satisfies Record<string, ExtraKind>;

export const REQUIRED_FIELDS = {
  start: ["trip_id", "pickup_datetime", "estimated_fare_amount"],
  end: ["trip_id", "dropoff_datetime", "fare_amount"],
} as const satisfies Record<EventType, readonly string[]>;

function reject(ctx: z.RefinementCtx, code: ReasonCode, message: string): void {
  ctx.addIssue({ code: "custom", message, params: { code } });
}

const tripId = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    if (value.length === 0) reject(ctx, "invalid_trip_id", "trip_id is empty");
    else if (value.length > MAX_TRIP_ID_LENGTH)
      reject(ctx, "invalid_trip_id", `trip_id has ${value.length} characters, at most ${MAX_TRIP_ID_LENGTH} allowed`);
    // DynamoDB and Kinesis take UTF-8: a lone surrogate (possible in JSON text) cannot be stored as sent.
    else if (LONE_SURROGATE.test(value))
      reject(ctx, "invalid_trip_id", "trip_id is not well-formed Unicode (a lone surrogate)");
  });

const dateTime = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    const check = checkTripDateTime(value);
    if (check.ok) return;
    reject(
      ctx,
      check.code,
      check.code === "invalid_datetime_format"
        ? `${JSON.stringify(value)} is not YYYY-MM-DD HH:MM:SS`
        : `${JSON.stringify(value)} is not a real calendar instant`,
    );
  });

const fare = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    if (!DECIMAL_PATTERN.test(value))
      return reject(ctx, "invalid_fare", `${JSON.stringify(value)} is not a non-negative decimal like 12 or 12.50`);
    const problem = unstorableNumber(value);
    if (problem) reject(ctx, "invalid_fare", `${JSON.stringify(value)} ${problem}: DynamoDB cannot store it exactly`);
  });

function extra(kind: ExtraKind) {
  const pattern = EXTRA_KINDS[kind];
  // An empty cell means "absent", never zero.
  return z.preprocess(
    (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
    (kind === "datetime" ? dateTime : z.string().trim())
      .superRefine((value, ctx) => {
        if (!pattern) return;
        if (!pattern.test(value))
          return reject(ctx, "invalid_extra", `${JSON.stringify(value)} is not a valid ${kind}`);
        const problem = unstorableNumber(value);
        if (problem)
          reject(ctx, "invalid_extra", `${JSON.stringify(value)} ${problem}: DynamoDB cannot store it exactly`);
      })
      .optional(),
  );
}

function extrasShape<T extends Record<string, ExtraKind>>(extras: T) {
  return Object.fromEntries(Object.entries(extras).map(([name, kind]) => [name, extra(kind)])) as {
    [K in keyof T]: ReturnType<typeof extra>;
  };
}

export const startEventSchema = z.object({
  event_type: z.literal("start"),
  trip_id: tripId,
  pickup_datetime: dateTime,
  estimated_fare_amount: fare,
  ...extrasShape(START_EXTRAS),
});

export const endEventSchema = z.object({
  event_type: z.literal("end"),
  trip_id: tripId,
  dropoff_datetime: dateTime,
  fare_amount: fare,
  ...extrasShape(END_EXTRAS),
});

type Extras<T extends Record<string, ExtraKind>> = { [K in keyof T]?: string };
export type StartEvent = {
  event_type: "start";
  trip_id: string;
  pickup_datetime: string;
  estimated_fare_amount: string;
} & Extras<typeof START_EXTRAS>;
export type EndEvent = {
  event_type: "end";
  trip_id: string;
  dropoff_datetime: string;
  fare_amount: string;
} & Extras<typeof END_EXTRAS>;
export type TripEvent = StartEvent | EndEvent;

const schemas = { start: startEventSchema, end: endEventSchema } as const;

/** The first failing field (in schema order) decides the reason, so each rejection has one code. */
function toRejection(error: z.ZodError, input: Record<string, unknown>): Rejection {
  const issue = error.issues[0]!;
  // Stryker disable next-line StringLiteral: the schemas are flat objects, so a path is one key and the separator never shows.
  const field = issue.path.map(String).join(".") || undefined;
  // Stryker disable next-line ConditionalExpression: only custom issues carry params.code, so the kind check cannot change the code.
  const code = (issue.code === "custom" && (issue.params?.code as ReasonCode | undefined)) || undefined;
  if (code) return { code, field, message: issue.message };
  // Stryker disable next-line ConditionalExpression: a path is never empty (flat schemas, object input), so field is always set.
  if (field !== undefined && input[field] === undefined)
    return { code: "missing_field", field, message: `${field} is missing` };
  const fieldCode: ReasonCode =
    // Stryker disable next-line OptionalChaining: field is always set (see the missing_field check).
    field === "trip_id"
      ? "invalid_trip_id"
      : field?.endsWith("datetime")
        ? "invalid_datetime_format"
        : field?.includes("fare")
          ? "invalid_fare"
          : "invalid_extra";
  return { code: fieldCode, field, message: `${field}: ${issue.message}` };
}

/** Validates one event of a known type: a CSV row (strings by column name) or a decoded wire object. */
export function validateEvent<T extends EventType>(
  type: T,
  input: Record<string, unknown>,
): Validated<T extends "start" ? StartEvent : EndEvent> {
  const result = schemas[type].safeParse({ ...input, event_type: type });
  if (!result.success) return { ok: false, rejection: toRejection(result.error, input) };
  return { ok: true, value: withoutAbsent(result.data) as T extends "start" ? StartEvent : EndEvent };
}

/** Decodes wire data into a JSON object, or says why it is not one. */
export function decodeWireObject(
  data: string,
): { ok: true; value: Record<string, unknown> } | { ok: false; rejection: Rejection } {
  let input: unknown;
  try {
    input = JSON.parse(data);
  } catch {
    return { ok: false, rejection: { code: "invalid_json", message: "record data is not JSON" } };
  }
  if (typeof input !== "object" || input === null || Array.isArray(input))
    return { ok: false, rejection: { code: "invalid_json", message: "record data is not a JSON object" } };
  return { ok: true, value: input as Record<string, unknown> };
}

/** Validates a decoded wire object whose type is read from its own `event_type`. */
export function validateWireObject(input: Record<string, unknown>): Validated<TripEvent> {
  const type = input.event_type;
  if (type !== "start" && type !== "end")
    return {
      ok: false,
      rejection: {
        code: "invalid_event_type",
        field: "event_type",
        message: `event_type ${JSON.stringify(type)} is not "start" or "end"`,
      },
    };
  return validateEvent(type, input);
}

/** Validates a wire event whose type is read from its own `event_type`. */
export function parseWireEvent(data: string): Validated<TripEvent> {
  const decoded = decodeWireObject(data);
  return decoded.ok ? validateWireObject(decoded.value) : decoded;
}

export function encodeWireEvent(event: TripEvent): string {
  return JSON.stringify(event);
}

function withoutAbsent<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
