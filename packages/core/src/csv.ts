/**
 * Streaming CSV reading for trip exports: constant memory, header read by name in any column
 * order, UTF-8 BOM and CRLF accepted, quoted fields, every field trimmed.
 */
import type { Readable } from "node:stream";
import { parse } from "csv-parse";

export interface CsvRow {
  /** 1-based data row (the header is row 0). */
  row: number;
  /** 1-based line in the file where the row ends (differs from row when quoted fields span lines). */
  line: number;
  /** Cells by header name; cells beyond the header are dropped, missing cells are absent. */
  record: Record<string, string>;
  /** The row as it stood in the file, for the failed trail. */
  raw: string;
  /** Set when the row has a different number of cells than the header. */
  malformed?: string;
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

export async function* readCsvRows(input: Readable, required: readonly string[], file = "input"): AsyncGenerator<CsvRow> {
  const parser = parse({ bom: true, trim: true, relax_column_count: true, skip_empty_lines: true, raw: true, info: true });
  // pipe() does not forward source errors: without this a failing read would hang the reader.
  input.on("error", (error) => parser.destroy(error));
  input.pipe(parser);
  let header: string[] | undefined;
  let row = 0;
  for await (const { record, raw, info } of parser as AsyncIterable<{ record: string[]; raw: string; info: { lines: number } }>) {
    if (!header) {
      header = record;
      const missing = required.filter((column) => !header!.includes(column));
      if (missing.length > 0) {
        input.destroy();
        throw new MissingColumnsError(file, missing);
      }
      continue;
    }
    row += 1;
    const cells: Record<string, string> = {};
    header.forEach((name, i) => {
      const cell = record[i];
      if (cell !== undefined) cells[name] = cell;
    });
    yield {
      row,
      line: info.lines,
      record: cells,
      // With CRLF endings the parser leaves the "\r" in raw: it is not part of the row.
      raw: raw.replace(/\r?\n?$/, ""),
      ...(record.length !== header.length && {
        malformed: `row has ${record.length} cells, the header has ${header.length}`,
      }),
    };
  }
  if (!header) throw new MissingColumnsError(file, required);
}
