import { Readable } from "node:stream";
import { describe, expect, test } from "vitest";
import {
  type CsvReadOptions,
  type CsvRow,
  DuplicateColumnError,
  MissingColumnsError,
  readCsvRows,
} from "../src/domain/csv.js";

async function rows(
  text: string | Buffer | (string | Buffer)[],
  required: string[] = ["trip_id"],
  options: CsvReadOptions = {},
): Promise<CsvRow[]> {
  const out: CsvRow[] = [];
  for await (const row of readCsvRows(
    Readable.from(Array.isArray(text) ? text : [text]),
    required,
    "test.csv",
    options,
  ))
    out.push(row);
  return out;
}

describe("readCsvRows", () => {
  test("reads the header by name in any order, trimming every field", async () => {
    const result = await rows("fare_amount, trip_id \n 12.5 ,  abc  \n");
    expect(result).toEqual([
      { row: 1, line: 2, record: { fare_amount: "12.5", trip_id: "abc" }, raw: " 12.5 ,  abc  " },
    ]);
  });

  test("accepts a UTF-8 BOM and CRLF line endings", async () => {
    const result = await rows(Buffer.from("\uFEFFtrip_id,fare_amount\r\na,1\r\nb,2\r\n"));
    expect(result.map((r) => r.record)).toEqual([
      { trip_id: "a", fare_amount: "1" },
      { trip_id: "b", fare_amount: "2" },
    ]);
  });

  test("handles quoted fields with commas, quotes and newlines", async () => {
    const result = await rows('trip_id,note\n"a,1","say ""hi"""\n"b","two\nlines"\nc,x\n');
    expect(result.map((r) => r.record)).toEqual([
      { trip_id: "a,1", note: 'say "hi"' },
      { trip_id: "b", note: "two\nlines" },
      { trip_id: "c", note: "x" },
    ]);
    expect(result.map((r) => [r.row, r.line])).toEqual([
      [1, 2],
      [2, 4],
      [3, 5],
    ]);
  });

  test("keeps the real data's trailing trip_id and empty cells as empty strings", async () => {
    const result = await rows(
      "dropoff_datetime,rate_code,passenger_count,fare_amount,trip_id\n2024-05-25 14:05:00,5.0,,40.09620692463166,c66ce556bc\n",
    );
    expect(result[0]!.record).toEqual({
      dropoff_datetime: "2024-05-25 14:05:00",
      rate_code: "5.0",
      passenger_count: "",
      fare_amount: "40.09620692463166",
      trip_id: "c66ce556bc",
    });
  });

  test("flags rows whose cell count differs from the header without stopping", async () => {
    const result = await rows("trip_id,fare\na,1,extra\nb\nc,3\n");
    expect(result.map((r) => [r.record, r.malformed])).toEqual([
      [{ trip_id: "a", fare: "1" }, "row has 3 cells, the header has 2"],
      [{ trip_id: "b" }, "row has 1 cells, the header has 2"],
      [{ trip_id: "c", fare: "3" }, undefined],
    ]);
  });

  test("skips blank lines", async () => {
    expect((await rows("trip_id\n\na\n\n\nb\n")).map((r) => r.record.trip_id)).toEqual(["a", "b"]);
  });

  test("a header-only file has no rows", async () => {
    expect(await rows("trip_id,fare\n")).toEqual([]);
  });

  test("an empty file is an error naming the required columns", async () => {
    await expect(rows("", ["trip_id", "fare_amount"])).rejects.toThrow(/missing required columns trip_id, fare_amount/);
  });

  test("a missing required column is an error naming it", async () => {
    const error = await rows("trip_id,pickup\na,b\n", ["trip_id", "pickup", "estimated_fare_amount"]).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MissingColumnsError);
    expect((error as MissingColumnsError).columns).toEqual(["estimated_fare_amount"]);
    expect((error as Error).message).toBe("test.csv: missing required column estimated_fare_amount");
  });

  test("streams: rows are yielded before the input ends", async () => {
    async function* source() {
      yield "trip_id\na\nb\n";
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw new Error("input broke after the first chunk");
    }
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const row of readCsvRows(Readable.from(source()), ["trip_id"])) seen.push(row.record.trip_id!);
      })(),
    ).rejects.toThrow(/input broke/);
    expect(seen).toEqual(["a", "b"]);
  });
});

describe("input that cannot be read row by row", () => {
  test("a quote left open until the end of the file costs one row: it is malformed (its first line), the rows after it are read", async () => {
    const result = await rows('trip_id,fare\na,1\n"b,2\nc,3\nd,4\n');
    expect(result.map((r) => [r.row, r.line, r.raw, r.malformed, r.record])).toEqual([
      [1, 2, "a,1", undefined, { trip_id: "a", fare: "1" }],
      [2, 3, '"b,2', "quote not closed before the end of the file", {}],
      [3, 4, "c,3", undefined, { trip_id: "c", fare: "3" }],
      [4, 5, "d,4", undefined, { trip_id: "d", fare: "4" }],
    ]);
  });

  test("an unclosed quote in a large file: cut off at the maximum record size, reading resumes at the next line, memory stays bounded", async () => {
    const max = 10_000;
    const chunk = 4_096;
    const body = Array.from({ length: 20_000 }, (_, i) => `t${i},${i}\n`).join("");
    const text = `trip_id,fare\nok,1\n"open,2\n${body}`;
    const chunks = Array.from({ length: Math.ceil(text.length / chunk) }, (_, i) =>
      text.slice(i * chunk, (i + 1) * chunk),
    );
    const stats = { peakBufferedChars: 0 };
    const result = await rows(chunks, ["trip_id"], { maxRecordChars: max, stats });
    expect(result).toHaveLength(2 + 20_000);
    expect(result[1]).toMatchObject({
      row: 2,
      line: 3,
      raw: '"open,2',
      malformed: `record longer than ${max} characters (an unclosed quote?)`,
    });
    expect(result.at(-1)).toMatchObject({ row: 20_002, record: { trip_id: "t19999", fare: "19999" } });
    expect(result.filter((r) => r.malformed)).toHaveLength(1);
    expect(stats.peakBufferedChars).toBeLessThanOrEqual(max + 2 * chunk);
  });

  test("a line longer than the maximum without any line break in sight is cut off; the next line is read", async () => {
    const result = await rows(["trip_id,fare\n", "x".repeat(3_000), "y".repeat(3_000), "\nb,2\n"], ["trip_id"], {
      maxRecordChars: 1_000,
    });
    expect(result.map((r) => [r.row, r.line, r.raw.length, Boolean(r.malformed)])).toEqual([
      [1, 2, 1_000, true],
      [2, 3, 3, false],
    ]);
  });

  test("characters after a closing quote make the row malformed, not the run", async () => {
    const result = await rows('trip_id,fare\n"a"x,1\nb,2\n');
    expect(result.map((r) => r.malformed)).toEqual(["characters after a closing quote", undefined]);
  });

  test("a duplicated header column is an error naming it (not a silent last-wins)", async () => {
    const error = await rows("trip_id,fare, trip_id\na,1,b\n").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DuplicateColumnError);
    expect((error as Error).message).toBe("test.csv: column trip_id appears more than once in the header");
  });
});

describe("records at the edges of the input and of its chunks", () => {
  test("the last row needs no line break: its cells are trimmed, or kept as quoted", async () => {
    expect((await rows("trip_id,fare\na, 1 ")).map((r) => [r.record, r.raw, r.line])).toEqual([
      [{ trip_id: "a", fare: "1" }, "a, 1 ", 2],
    ]);
    expect((await rows('trip_id,fare\na," 1 "')).map((r) => r.record)).toEqual([{ trip_id: "a", fare: " 1 " }]);
  });

  test("a quote at the end of a chunk waits for the next one: an escaped quote, or the closing one", async () => {
    expect((await rows(['trip_id,fare\na,"x"', '"y"\n'])).map((r) => r.record)).toEqual([
      { trip_id: "a", fare: 'x"y' },
    ]);
    expect((await rows(['trip_id,fare\na,"x"', "\nb,2\n"])).map((r) => r.record)).toEqual([
      { trip_id: "a", fare: "x" },
      { trip_id: "b", fare: "2" },
    ]);
  });

  test("a CRLF split between chunks is one line break", async () => {
    const result = await rows(["trip_id,fare\r", "\na,1\r", "\nb,2\r\n"]);
    expect(result.map((r) => [r.record, r.raw, r.line])).toEqual([
      [{ trip_id: "a", fare: "1" }, "a,1", 2],
      [{ trip_id: "b", fare: "2" }, "b,2", 3],
    ]);
  });

  test("in a CRLF file, reading resumes after an unreadable row's whole line break", async () => {
    const result = await rows('trip_id,fare\r\n"b,2\r\nc,3\r\n');
    expect(result.map((r) => [r.row, r.line, r.raw, r.malformed])).toEqual([
      [1, 2, '"b,2', "quote not closed before the end of the file"],
      [2, 3, "c,3", undefined],
    ]);
  });
});

describe("readCsvRows: what a row hands on", () => {
  test("a cell the row lacks is absent from the record, not present as undefined", async () => {
    const [row] = await rows("trip_id,fare\nb\n");
    expect(row!.record).toStrictEqual({ trip_id: "b" });
    expect("fare" in row!.record).toBe(false);
  });

  test("raw is the row without its line ending, for CR-only (old Mac) files too", async () => {
    const result = await rows("trip_id,fare\ra,1\rb,2\r");
    expect(result.map((r) => [r.record, r.raw, r.line])).toEqual([
      [{ trip_id: "a", fare: "1" }, "a,1", 2],
      [{ trip_id: "b", fare: "2" }, "b,2", 3],
    ]);
  });

  test("a missing-column error names itself and the file, 'input' when the caller names none", async () => {
    const reading = (async () => {
      for await (const _ of readCsvRows(Readable.from(["fare\n1\n"]), ["trip_id"]));
    })();
    const error = await reading.catch((e: unknown) => e);
    expect(String(error)).toBe("MissingColumnsError: input: missing required column trip_id");
  });
});
