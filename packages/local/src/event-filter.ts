/**
 * Lambda event filtering (the EventBridge pattern syntax) for the local event-source runtime.
 * A record is delivered when it matches at least one pattern; within a pattern every field must
 * match, a field's list of rules matches when any rule does, and a record field holding a list
 * matches when any element does. Rules: exact values, prefix, suffix, equals-ignore-case,
 * anything-but, exists, numeric. Anything else throws: a pattern this runtime cannot judge must
 * not silently pass or drop records.
 *
 * Data that is not JSON (NOT_JSON in the filterable record) matches no pattern that looks into
 * it, not even `exists: false`: Lambda drops such a record for any filter on `data`.
 */
export const NOT_JSON: unique symbol = Symbol("data that is not JSON");

export type FilterPattern = { readonly [field: string]: FilterPattern | readonly FilterRule[] };
export type FilterRule = string | number | boolean | null | { readonly [operator: string]: unknown };

export function matchesAny(patterns: readonly FilterPattern[], record: unknown): boolean {
  return patterns.length === 0 || patterns.some((pattern) => matchesPattern(pattern, record));
}

export function matchesPattern(pattern: FilterPattern, value: unknown): boolean {
  return Object.entries(pattern).every(([field, rules]) => {
    const child = isObject(value) ? value[field] : undefined;
    if (child === NOT_JSON) return false;
    if (!Array.isArray(rules)) return matchesPattern(rules as FilterPattern, child);
    return (rules as readonly FilterRule[]).some((rule) => matchesRule(rule, child));
  });
}

function matchesRule(rule: FilterRule, value: unknown): boolean {
  if (Array.isArray(value)) return value.some((element) => matchesRule(rule, element));
  if (rule === null || typeof rule !== "object") return value === rule;
  const entries = Object.entries(rule);
  if (entries.length !== 1) throw new Error(`unsupported filter rule ${JSON.stringify(rule)}`);
  const [operator, operand] = entries[0]!;
  switch (operator) {
    case "prefix":
      return typeof value === "string" && value.startsWith(String(operand));
    case "suffix":
      return typeof value === "string" && value.endsWith(String(operand));
    case "equals-ignore-case":
      return typeof value === "string" && value.toLowerCase() === String(operand).toLowerCase();
    case "exists":
      return (value !== undefined) === operand;
    case "anything-but":
      return (
        value !== undefined &&
        !(Array.isArray(operand) ? operand : [operand]).some((excluded) => matchesRule(excluded as FilterRule, value))
      );
    case "numeric":
      return typeof value === "number" && numericMatches(operand as readonly (string | number)[], value);
    default:
      throw new Error(`unsupported filter operator ${JSON.stringify(operator)}`);
  }
}

function numericMatches(conditions: readonly (string | number)[], value: number): boolean {
  for (let i = 0; i + 1 < conditions.length; i += 2) {
    const bound = Number(conditions[i + 1]);
    const ok = {
      "=": value === bound,
      "<": value < bound,
      "<=": value <= bound,
      ">": value > bound,
      ">=": value >= bound,
    }[String(conditions[i])];
    if (ok === undefined) throw new Error(`unsupported numeric comparison ${JSON.stringify(conditions[i])}`);
    if (!ok) return false;
  }
  return true;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
