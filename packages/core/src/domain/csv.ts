/**
 * Streaming CSV reading for trip exports: bounded memory, header read by name in any column
 * order, UTF-8 BOM and CRLF accepted, quoted fields (RFC 4180), every field trimmed.
 *
 * Input that cannot be read row by row never stops the run nor swallows the file: a record
 * longer than the maximum record size, or a quote left open at the end of the file, becomes a
 * `malformed` row holding its first line, and reading resumes at the line after it. So an
 * unclosed quote costs one row, and memory stays within one record plus one read chunk.
 */

import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";

/**
 * Twice Kinesis's 1 MiB record: a row up to this is read and judged (ingest trails one whose
 * event is too large as record_too_large); no row beyond it can be a trip event, and real trip
 * rows are ~200 characters. Bounds what one record may hold in memory.
 */
export const MAX_RECORD_CHARS = 2 * 1024 * 1024;

export interface CsvRow {
  /** 1-based data row (the header is row 0). */
  row: number;
  /** 1-based line in the file where the row ends (differs from row when quoted fields span lines). */
  line: number;
  /** Cells by header name; cells beyond the header are dropped, missing cells are absent. */
  record: Record<string, string>;
  /** The row as it stood in the file (for an unreadable record, its first line), for the failed trail. */
  raw: string;
  /** Set when the row cannot be used as a record: why (the failed trail's malformed_row). */
  malformed?: string;
}

export interface CsvReadOptions {
  /** Characters a record may span before it is cut off as malformed; default MAX_RECORD_CHARS. */
  maxRecordChars?: number;
  /** Filled while reading: the most text held at once (tests check the memory bound with it). */
  stats?: { peakBufferedChars: number };
}

export class MissingColumnsError extends Error {
  constructor(
    readonly file: string,
    readonly columns: readonly string[],
  ) {
    super(`${file}: missing required column${columns.length > 1 ? "s" : ""} ${columns.join(", ")}`);
    this.name = "MissingColumnsError";
  }
}

/** A header naming a column twice would make one of the two silently win: refused, naming it. */
export class DuplicateColumnError extends Error {
  constructor(
    readonly file: string,
    readonly column: string,
  ) {
    super(`${file}: column ${column} appears more than once in the header`);
    this.name = "DuplicateColumnError";
  }
}

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

type Parsed =
  /** `end`: where the next record starts; `textEnd`: where this one's text ends (before its line break). */
  | { kind: "record"; cells: string[]; end: number; textEnd: number; lineBreaks: number; problem?: string }
  | { kind: "more" }
  /** Longer than the maximum, or a quote still open at the end of the input. */
  | { kind: "unreadable"; problem: string };

/** Parses one record starting at `start`; "more" when the text ends before the record does and more may come. */
function parseRecord(text: string, start: number, final: boolean, max: number): Parsed {
  const cells: string[] = [];
  let cell = "";
  let segment = start;
  let quoted = false;
  let wasQuoted = false;
  let lineBreaks = 0;
  let problem: string | undefined;
  for (let i = start; ; ) {
    if (i - start > max)
      return { kind: "unreadable", problem: `record longer than ${max} characters (an unclosed quote?)` };
    if (i >= text.length) {
      if (!final) return { kind: "more" };
      if (quoted) return { kind: "unreadable", problem: "quote not closed before the end of the file" };
      cells.push(wasQuoted ? cell : (cell + text.slice(segment, i)).trim());
      return { kind: "record", cells, end: i, textEnd: i, lineBreaks, problem };
    }
    const c = text.charCodeAt(i);
    if (quoted) {
      if (c === QUOTE) {
        if (i + 1 >= text.length && !final) return { kind: "more" };
        cell += text.slice(segment, i);
        if (text.charCodeAt(i + 1) === QUOTE) {
          cell += '"';
          i += 2;
        } else {
          quoted = false;
          i += 1;
        }
        segment = i;
        continue;
      }
      if (c === LF) lineBreaks += 1;
      i += 1;
      continue;
    }
    if (c === COMMA || c === LF || c === CR) {
      cells.push(wasQuoted ? cell : (cell + text.slice(segment, i)).trim());
      if (c === COMMA) {
        cell = "";
        wasQuoted = false;
        segment = i += 1;
        continue;
      }
      if (c === CR && i + 1 >= text.length && !final) return { kind: "more" };
      const end = c === CR && text.charCodeAt(i + 1) === LF ? i + 2 : i + 1;
      return { kind: "record", cells, end, textEnd: i, lineBreaks, problem };
    }
    if (wasQuoted) {
      // After a closing quote only blanks may come before the next comma or line break.
      if (c !== 32 && c !== 9) problem ??= "characters after a closing quote";
      i += 1;
      segment = i;
      continue;
    }
    if (c === QUOTE && (cell + text.slice(segment, i)).trim() === "") {
      quoted = true;
      wasQuoted = true;
      cell = "";
      segment = i += 1;
      continue;
    }
    i += 1;
  }
}

/** Where the line starting at `start` ends, and where the next one starts; undefined when the text holds no line break. */
function lineEnd(text: string, start: number): { textEnd: number; next: number } | undefined {
  for (let i = start; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === LF) return { textEnd: i, next: i + 1 };
    if (c === CR) return { textEnd: i, next: text.charCodeAt(i + 1) === LF ? i + 2 : i + 1 };
  }
  return undefined;
}

interface RawRecord {
  cells: string[];
  raw: string;
  /** 1-based line where it ends. */
  line: number;
  problem?: string;
}

/** The file's records, bounded in memory: `pending` never holds more than a record's limit plus one chunk. */
async function* readRecords(input: Readable, max: number, stats?: CsvReadOptions["stats"]): AsyncGenerator<RawRecord> {
  const decoder = new StringDecoder("utf8");
  let pending = "";
  let line = 0;
  let first = true;
  /** Dropping an over-long line that has no line break yet: skip text until one comes. */
  let skippingLine = false;

  function* drain(final: boolean): Generator<RawRecord> {
    let pos = 0;
    for (;;) {
      if (skippingLine) {
        const end = lineEnd(pending, pos);
        if (!end) {
          pos = pending.length;
          break;
        }
        skippingLine = false; // its line was counted when it was reported
        pos = end.next;
        continue;
      }
      if (pos >= pending.length) break;
      const parsed = parseRecord(pending, pos, final, max);
      if (parsed.kind === "more") break;
      if (parsed.kind === "record") {
        line += 1 + parsed.lineBreaks;
        yield {
          cells: parsed.cells,
          raw: pending.slice(pos, parsed.textEnd),
          line,
          ...(parsed.problem && { problem: parsed.problem }),
        };
        pos = parsed.end;
        continue;
      }
      // Unreadable: the record is its first line; reading resumes at the next one.
      line += 1;
      const end = lineEnd(pending, pos);
      yield {
        cells: [],
        raw: pending.slice(pos, Math.min(end?.textEnd ?? pending.length, pos + max)),
        line,
        problem: parsed.problem,
      };
      if (end) pos = end.next;
      else {
        skippingLine = !final;
        pos = pending.length;
      }
    }
    pending = pending.slice(pos);
  }

  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    pending += typeof chunk === "string" ? chunk : decoder.write(chunk);
    if (first && pending.length > 0) {
      if (pending.charCodeAt(0) === 0xfeff) pending = pending.slice(1);
      first = false;
    }
    if (stats) stats.peakBufferedChars = Math.max(stats.peakBufferedChars, pending.length);
    yield* drain(false);
  }
  pending += decoder.end();
  yield* drain(true);
}

export async function* readCsvRows(
  input: Readable,
  required: readonly string[],
  file = "input",
  options: CsvReadOptions = {},
): AsyncGenerator<CsvRow> {
  const max = options.maxRecordChars ?? MAX_RECORD_CHARS;
  let header: string[] | undefined;
  let row = 0;
  try {
    for await (const record of readRecords(input, max, options.stats)) {
      if (record.raw.trim() === "" && record.cells.length <= 1) continue; // a blank line
      if (!header) {
        if (record.problem) throw new Error(`${file}: the header is not readable CSV: ${record.problem}`);
        header = record.cells;
        const duplicate = header.find((name, i) => header!.indexOf(name) !== i);
        if (duplicate !== undefined) throw new DuplicateColumnError(file, duplicate);
        const missing = required.filter((column) => !header!.includes(column));
        if (missing.length > 0) throw new MissingColumnsError(file, missing);
        continue;
      }
      row += 1;
      const cells: Record<string, string> = {};
      header.forEach((name, i) => {
        const cell = record.cells[i];
        if (cell !== undefined) cells[name] = cell;
      });
      const malformed =
        record.problem ??
        (record.cells.length !== header.length
          ? `row has ${record.cells.length} cells, the header has ${header.length}`
          : undefined);
      yield {
        row,
        line: record.line,
        record: record.problem ? {} : cells,
        raw: record.raw,
        ...(malformed && { malformed }),
      };
    }
  } finally {
    input.destroy();
  }
  if (!header) throw new MissingColumnsError(file, required);
}
