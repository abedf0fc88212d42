/**
 * dynalite runs its PEG parsers on every expression of every request: 9.5% of the emulator
 * thread in a 20k-trip run, most of it on the few expressions the pipeline sends again and
 * again with other values (the COMPLETED create's condition, a trip's key condition). Each
 * parser here parses a given expression once per set of names and value types, with stand-in
 * values, and later requests get a copy of that tree with their own values in place.
 *
 * What a parse reads of a value is its type, except in BETWEEN (the bounds are compared) and
 * attribute_type (the type name is checked): expressions using them are always parsed whole.
 * The parse's one side effect, striking used names and values off the request's unused lists
 * (dynalite rejects unused ones), is replayed from what the first parse struck. Failed parses
 * are not kept: the request's own parse gives its exact error.
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

type AttributeValue = Record<string, unknown>;
interface ParseContext {
  attrNames?: Record<string, string>;
  attrVals?: Record<string, AttributeValue>;
  unusedAttrNames?: Record<string, boolean>;
  unusedAttrVals?: Record<string, boolean>;
  [other: string]: unknown;
}
interface Parser {
  parse(expression: string, options: { context: ParseContext }): unknown;
}
interface Template {
  tree: object;
  standIns: Map<AttributeValue, string>;
  names: string[];
  values: string[];
}

/** dynalite's three expression parsers: the modules its validations hold, so a wrapped parse serves them all. */
const PARSERS = ["conditionParser", "updateParser", "projectionParser"] as const;
/** Distinct expressions kept per parser; the pipeline sends a few dozen. */
const KEPT = 512;
const VALUE_DEPENDENT = /\bbetween\b|\battribute_type\b/i;
const TYPES = ["S", "N", "B", "NULL", "BOOL", "SS", "NS", "BS", "L", "M"];

let installed = false;

/** Wraps dynalite's expression parsers once per process (idempotent). */
export function memoizeExpressionParsers(): void {
  if (installed) return;
  installed = true;
  for (const name of PARSERS) {
    const parser = require(`dynalite/db/${name}`) as Parser;
    parser.parse = memoized(parser.parse.bind(parser));
  }
}

export function memoized(parse: Parser["parse"]): Parser["parse"] {
  const templates = new Map<string, Template>();
  return (expression, options) => {
    const { context } = options;
    if (VALUE_DEPENDENT.test(expression)) return parse(expression, options);
    const key = keyOf(expression, context);
    let template = templates.get(key);
    if (!template) {
      template = parseTemplate(parse, expression, context);
      if (!template) return parse(expression, options);
      if (templates.size >= KEPT) templates.delete(templates.keys().next().value!);
      templates.set(key, template);
    }
    for (const name of template.names) delete context.unusedAttrNames?.[name];
    for (const value of template.values) delete context.unusedAttrVals?.[value];
    return instantiate(template.tree, template.standIns, context.attrVals ?? {});
  };
}

/** What a parse reads: the expression, the names, each value's name and type (dynalite's parsers never read isKeyCondition). */
function keyOf(expression: string, context: ParseContext): string {
  const values = Object.entries(context.attrVals ?? {}).map(([name, value]) => `${name}:${typeOf(value)}`);
  return JSON.stringify([expression, context.attrNames ?? null, values]);
}

function typeOf(value: AttributeValue): string {
  if (!value || typeof value !== "object" || Array.isArray(value)) return "";
  return TYPES.find((type) => value[type] != null) ?? "";
}

/** The parse with stand-ins for the values (new objects of the same content) and full unused lists, or nothing if it failed. */
function parseTemplate(parse: Parser["parse"], expression: string, context: ParseContext): Template | undefined {
  const standIns = new Map<AttributeValue, string>();
  const attrVals: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(context.attrVals ?? {})) {
    attrVals[name] = { ...value };
    standIns.set(attrVals[name], name);
  }
  const unusedAttrNames = Object.fromEntries(Object.keys(context.attrNames ?? {}).map((name) => [name, true]));
  const unusedAttrVals = Object.fromEntries(Object.keys(attrVals).map((name) => [name, true]));
  let tree: unknown;
  try {
    tree = parse(expression, {
      context: { ...context, attrVals, unusedAttrNames, unusedAttrVals },
    });
  } catch {
    return undefined;
  }
  if (typeof tree !== "object" || tree === null) return undefined;
  return {
    tree,
    standIns,
    names: Object.keys(context.attrNames ?? {}).filter((name) => !(name in unusedAttrNames)),
    values: Object.keys(attrVals).filter((name) => !(name in unusedAttrVals)),
  };
}

/** A copy of the tree (prototypes kept: dynalite uses null-prototype maps) with each stand-in replaced by the request's value. */
function instantiate(
  node: unknown,
  standIns: Map<AttributeValue, string>,
  values: Record<string, AttributeValue>,
): unknown {
  if (typeof node !== "object" || node === null) return node;
  const standIn = standIns.get(node as AttributeValue);
  if (standIn !== undefined) return values[standIn];
  if (Array.isArray(node)) return node.map((child) => instantiate(child, standIns, values));
  const copy = Object.create(Object.getPrototypeOf(node)) as Record<string, unknown>;
  for (const [field, child] of Object.entries(node)) copy[field] = instantiate(child, standIns, values);
  return copy;
}
