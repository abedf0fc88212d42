/**
 * What every command's `--json` prints: one document whose keys are snake_case, as the KPI rows
 * are. Reports are built with the code's own names and converted here, once, at the boundary;
 * SnakeCased<T> is the type a reader of that document gets.
 */

type IsUpper<C extends string> = C extends Lowercase<C> ? false : true;
type IsLower<C extends string> = C extends Uppercase<C> ? false : true;

/** `liveKpiWrites` -> `live_kpi_writes`; an upper-case letter after a lower-case one starts a word (`--END_DATE` stays). */
export type SnakeKey<S extends string, Previous extends string = ""> = S extends `${infer Head}${infer Tail}`
  ? `${IsUpper<Head> extends true ? (IsLower<Previous> extends true ? `_${Lowercase<Head>}` : Head) : Head}${SnakeKey<Tail, Head>}`
  : S;

export type SnakeCased<T> = T extends readonly (infer Item)[]
  ? SnakeCased<Item>[]
  : T extends object
    ? { [K in keyof T as K extends string ? SnakeKey<K> : K]: SnakeCased<T[K]> }
    : T;

/** Also `CreateTable` -> `create_table`: AWS operation names are keys of the call counts. */
export function snakeKey<S extends string>(key: S): SnakeKey<S> {
  return key
    .replace(/^[A-Z](?=[a-z])/, (letter) => letter.toLowerCase())
    .replace(/(?<=[a-z])([A-Z])/g, (_, letter: string) => `_${letter.toLowerCase()}`) as SnakeKey<S>;
}

export function snakeCased<T>(value: T): SnakeCased<T> {
  if (Array.isArray(value)) return value.map(snakeCased) as SnakeCased<T>;
  if (value === null || typeof value !== "object") return value as SnakeCased<T>;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [snakeKey(key), snakeCased(item)]),
  ) as SnakeCased<T>;
}

/** The `--json` document: one line. */
export function jsonDocument(value: unknown): string {
  return `${JSON.stringify(snakeCased(value))}\n`;
}
