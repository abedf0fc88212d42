/**
 * The rules shared with the Glue job (packages/core/golden/contract.json, also read by pytest):
 * the fare domain, the per-day GSI, the metrics layout, the KPI registry and the duplicate rule. Read here once
 * and checked, so a malformed edit fails at load rather than bending a rule quietly.
 */
import { z } from "zod/v4";
import raw from "../../golden/contract.json";

const contractSchema = z.object({
  fare_domain: z.object({
    pattern: z.string(),
    zero: z.literal(true),
    min_exponent: z.number().int(),
    max_exponent: z.number().int(),
    max_significant_digits: z.number().int().positive(),
    accepted: z.array(z.string()),
    rejected: z.array(z.string()),
  }),
  completed_by_day: z.object({
    index_name: z.string(),
    partition_key: z.string(),
    partition_key_template: z.string(),
    sort_key: z.string(),
    sort_key_template: z.string(),
    shards: z.number().int().min(1).max(100),
  }),
  metrics: z.object({ prefix: z.string(), day_path_template: z.string(), file_name: z.string() }),
  kpis: z.object({
    types: z.record(
      z.enum(["money", "count", "minutes", "distance"]),
      z.object({
        places: z.number().int().min(0).max(6),
        source_units: z.number().int().positive(),
        athena: z.string(),
        unit: z.string(),
      }),
    ),
    derived_sources: z.record(z.string(), z.string()),
    fields: z.array(
      z.object({
        name: z.string().regex(/^[a-z][a-z0-9_]*$/),
        type: z.enum(["money", "count", "minutes", "distance"]),
        aggregation: z.enum(["sum", "count", "max", "min", "mean", "median"]),
        source: z.string().regex(/^[a-z][a-z0-9_]*$/),
        live: z.boolean(),
        absent_before: z.boolean(),
        label: z.string().min(1),
        description: z.string().min(1),
      }),
    ),
  }),
  duplicates: z.object({ rule: z.literal("one_per_trip_id_earliest_pickup") }),
});

export const CONTRACT = contractSchema.parse(raw);
