/**
 * The KPI registry (golden/contract.json `kpis`, shared with the Glue job): every field of a day's
 * KPI row, its type, how it aggregates the day's counted trips and whether the live path keeps it.
 * Row schemas, metrics lines, CLI and page columns, the live aggregates and the Athena catalog all
 * derive from this list. Imports nothing but zod and the contract: the page bundles it.
 */
import { z } from "zod/v4";
import { CONTRACT } from "../domain/contract.js";
import { isCalendarDay } from "../domain/datetime.js";

export type KpiField = (typeof CONTRACT.kpis.fields)[number];
export type KpiType = KpiField["type"];
export type KpiAggregation = KpiField["aggregation"];

/** The key of every KPI row; the registry's fields follow it, in order. */
export const ROW_KEY = "pickup_date";

/** A KPI value: decimal text with its type's places, a whole number for counts, null where not known. */
export type KpiValue = string | number | null;
export type KpiRow = { [ROW_KEY]: string } & { [field: string]: KpiValue };

/** How a source column's values become a field's output: its places, and its source units per output unit. */
export const KPI_TYPES = CONTRACT.kpis.types;

/** Sources computed from a trip rather than read from a column (both engines implement each one). */
export const DERIVED_SOURCES = Object.keys(CONTRACT.kpis.derived_sources);

/** Aggregations computed from the exact sum of the source column (and the trip count). */
const SUMMED: readonly KpiAggregation[] = ["sum", "mean"];
/** The live extremes (one EXTREMES item a day) follow the fare only. */
export const LIVE_EXTREME_SOURCE = "fare_amount";

export const KPI_FIELDS: readonly KpiField[] = checkRegistry(CONTRACT.kpis.fields);

/** The field counting the day's trips (the registry has exactly one). */
export const COUNT_FIELD = KPI_FIELDS.find((field) => field.aggregation === "count")!.name;

/** A row's trip count (0 where a live row has none). */
export function tripCount(row: { readonly [field: string]: unknown }): number {
  return Number(row[COUNT_FIELD] ?? 0);
}

/** The fields the live aggregates keep, in registry order. */
export const LIVE_FIELDS: readonly KpiField[] = KPI_FIELDS.filter((field) => field.live);

/** The fields only the nightly job computes (the live row has no such key). */
export const NIGHTLY_ONLY_FIELDS: readonly KpiField[] = KPI_FIELDS.filter((field) => !field.live);

export const isSummed = (field: KpiField): boolean => SUMMED.includes(field.aggregation);

/** Each source column whose exact sum a set of fields needs, once. */
export function summedSources(fields: readonly KpiField[]): string[] {
  return [...new Set(fields.filter(isSummed).map((field) => field.source))];
}

/** The source columns whose exact per-shard sums the live parts keep. */
export const LIVE_SUM_SOURCES: readonly string[] = summedSources(LIVE_FIELDS);

/** Every source column whose values a field aggregates (a count counts trips, it reads no value), derived sources included. */
export const KPI_SOURCES: readonly string[] = [
  ...new Set(KPI_FIELDS.filter((field) => field.aggregation !== "count").map((field) => field.source)),
];

function checkRegistry(fields: readonly KpiField[]): readonly KpiField[] {
  const names = new Set<string>();
  for (const field of fields) {
    if (field.name === ROW_KEY || names.has(field.name))
      throw new Error(`KPI registry: field ${field.name} is named twice`);
    names.add(field.name);
    if (field.aggregation === "count" && field.type !== "count")
      throw new Error(`KPI registry: ${field.name} of type ${field.type} cannot aggregate by ${field.aggregation}`);
    if (field.live && field.aggregation === "median")
      throw new Error(`KPI registry: ${field.name}: a median cannot be kept live (no exact decomposition)`);
    if (
      field.live &&
      (field.aggregation === "max" || field.aggregation === "min") &&
      field.source !== LIVE_EXTREME_SOURCE
    )
      throw new Error(`KPI registry: ${field.name}: live extremes follow ${LIVE_EXTREME_SOURCE} only`);
  }
  if (fields.filter((field) => field.aggregation === "count").length !== 1)
    throw new Error("KPI registry: exactly one field counts the trips");
  return fields;
}

/**
 * Decimal text with at most `places` decimals, padded to exactly `places`: the jobs write exactly
 * that many, and rows written by an older Glue job may have fewer. The one schema of money and
 * every other decimal KPI.
 */
export function decimalText(places: number, { signed = false } = {}) {
  const pattern = new RegExp(`^${signed ? "-?" : ""}\\d+${places > 0 ? `(\\.\\d{1,${places}})?` : ""}$`);
  return z
    .string()
    .regex(pattern, {
      message: `must be a${signed ? "" : " non-negative"} number with at most ${places} decimals`,
      abort: true,
    })
    .transform((text) => {
      if (places === 0) return text;
      const [whole, fraction = ""] = text.split(".");
      return `${whole}.${fraction.padEnd(places, "0")}`;
    });
}

export const money = decimalText(KPI_TYPES.money.places);

/** A whole number, as a JSON number or as its text (the metrics reader keeps numbers as text). */
export function wholeNumber({ signed = false, positive = false } = {}) {
  const kind = positive ? "positive" : signed ? "" : "non-negative";
  const pattern = positive ? /^[1-9]\d*$/ : signed ? /^-?\d+$/ : /^\d+$/;
  return z
    .union([z.number().int(), z.string()])
    .transform(String)
    .pipe(z.string().regex(pattern, { message: `must be a ${kind ? `${kind} ` : ""}whole number`, abort: true }))
    .transform(Number)
    .refine(Number.isSafeInteger, "is too large");
}

/** A field's value schema; `signed` for live running sums, which a removal applied before its insert briefly takes below zero. */
export function kpiValue(field: KpiField, { signed = false } = {}) {
  return field.type === "count" ? wholeNumber({ signed }) : decimalText(KPI_TYPES[field.type].places, { signed });
}

export const isoDate = z.string().refine(isCalendarDay, { message: "expected a calendar date YYYY-MM-DD" });

/**
 * A nightly row: every registered field. A field the registry marks `absent_before` may be missing
 * from rows written before it existed: it reads as null.
 */
export function nightlyRowSchema() {
  const shape: Record<string, z.ZodType<KpiValue>> = {};
  for (const field of KPI_FIELDS) {
    // A nightly row exists only for a day with trips.
    const value = field.aggregation === "count" ? wholeNumber({ positive: true }) : kpiValue(field);
    shape[field.name] = field.absent_before ? value.nullish().transform((found) => found ?? null) : value;
  }
  return z.object({ [ROW_KEY]: isoDate, ...shape }) as unknown as z.ZodType<KpiRow>;
}

/**
 * The live figures of a row: the live fields only. Sums and counts are signed while settling; a
 * mean is null while no trip is counted; max and min are null while they disagree with the sums;
 * a sum is null where a part written before its field existed never kept it.
 */
export function liveFieldsShape(): Record<string, z.ZodType<KpiValue>> {
  const shape: Record<string, z.ZodType<KpiValue>> = {};
  for (const field of LIVE_FIELDS) {
    // Sums are null where a part written before the field existed never kept them.
    if (field.aggregation === "count") shape[field.name] = kpiValue(field, { signed: true });
    else if (field.aggregation === "sum") shape[field.name] = kpiValue(field, { signed: true }).nullable();
    else shape[field.name] = kpiValue(field).nullable();
  }
  return shape;
}

/** Column headers for tables: the row key, then each field's name. */
export const KPI_COLUMNS: readonly string[] = [ROW_KEY, ...KPI_FIELDS.map((field) => field.name)];

/** What a page or CLI needs to show a field: its name, label, description, unit and whether it is live. */
export const KPI_DISPLAY = KPI_FIELDS.map(({ name, label, description, type, live }) => ({
  name,
  label,
  description,
  type,
  unit: KPI_TYPES[type].unit,
  live,
}));
