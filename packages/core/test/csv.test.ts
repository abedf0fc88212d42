import { Readable } from "node:stream";
import { describe, expect, test } from "vitest";
import { MissingColumnsError, readCsvRows, type CsvRow } from "../src/csv.js";

async function rows(text: string | Buffer, required: string[] = ["trip_id"]): Promise<CsvRow[]> {
  const out: CsvRow[] = [];
  for await (const row of readCsvRows(Readable.from([text]), required, "test.csv")) out.push(row);
  return out;
}

describe("readCsvRows", () => {
  test("reads the header by name in any order, trimming every field", async () => {
    const result = await rows("fare_amount, trip_id \n 12.5 ,  abc  \n");
    expect(result).toEqual([{ row: 1, line: 2, record: { fare_amount: "12.5", trip_id: "abc" }, raw: " 12.5 ,  abc  " }]);
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
    const result = await rows("dropoff_datetime,rate_code,passenger_count,fare_amount,trip_id\n2024-05-25 14:05:00,5.0,,40.09620692463166,c66ce556bc\n");
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
    const error = await rows("trip_id,pickup\na,b\n", ["trip_id", "pickup", "estimated_fare_amount"]).catch((e: unknown) => e);
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
    expect(seen).toEqual(["a"]);
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
