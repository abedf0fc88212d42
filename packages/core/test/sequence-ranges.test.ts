import { describe, expect, test } from "vitest";
import { addRange, covers, formatRanges, parseRanges, spanOf } from "../src/streams/sequence-ranges.js";

const SEQ = "4000000000033543657436"; // DynamoDB stream sequence numbers are longer than a float's precision

describe("sequence ranges (what the live aggregator applied of a shard)", () => {
  test("text round trip, big integers compared exactly", () => {
    const ranges = parseRanges(`${SEQ}-${SEQ}9,7-9`);
    expect(ranges).toEqual([
      [BigInt(SEQ), BigInt(`${SEQ}9`)],
      [7n, 9n],
    ]);
    expect(formatRanges(ranges)).toBe(`${SEQ}-${SEQ}9,7-9`);
    expect(parseRanges(undefined)).toEqual([]);
    expect(parseRanges("")).toEqual([]);
    expect(covers(parseRanges(`${SEQ}-${SEQ}`), BigInt(SEQ) + 1n)).toBe(false);
  });

  test("malformed or empty ranges are refused, not read as something else", () => {
    for (const bad of ["1", "1-", "-1", "a-b", "1-2,", "3-2", "1-2 ", "x1-2", "1-2x"])
      expect(() => parseRanges(bad), bad).toThrow(/sequence range/);
  });

  test("covers: both ends included, gaps and outside not", () => {
    const ranges = parseRanges("10-20,40-50");
    expect([9n, 10n, 15n, 20n, 21n, 39n, 40n, 50n, 51n].map((s) => covers(ranges, s))).toEqual([
      false,
      true,
      true,
      true,
      false,
      false,
      true,
      true,
      false,
    ]);
    expect(covers([], 1n)).toBe(false);
  });

  test("addRange: the union in ascending order, overlaps and containment merged, disjoint ranges kept apart", () => {
    expect(addRange(parseRanges("40-50"), [10n, 20n])).toEqual(parseRanges("10-20,40-50"));
    expect(addRange(parseRanges("10-20,40-50"), [15n, 45n])).toEqual(parseRanges("10-50"));
    expect(addRange(parseRanges("10-50"), [20n, 30n])).toEqual(parseRanges("10-50"));
    expect(addRange(parseRanges("10-20"), [20n, 25n])).toEqual(parseRanges("10-25"));
    // Adjacent numbers are not merged: sequence numbers are sparse, 21 may be a record not applied.
    expect(addRange(parseRanges("10-20"), [21n, 25n])).toEqual(parseRanges("10-20,21-25"));
    expect(addRange(parseRanges("10-20,30-40,50-60"), [5n, 55n])).toEqual(parseRanges("5-60"));
    expect(addRange(parseRanges("10-20,30-40"), [35n, 36n])).toEqual(parseRanges("10-20,30-40"));
    expect(addRange([], [1n, 1n])).toEqual([[1n, 1n]]);
  });

  test("spanOf: lowest and highest of any order; nothing is an error", () => {
    expect(spanOf(["30", "10", "20"])).toEqual([10n, 30n]);
    expect(spanOf(["5"])).toEqual([5n, 5n]);
    expect(spanOf(["20", "10", "30"])).toEqual([10n, 30n]);
    expect(spanOf([`${SEQ}1`, SEQ, `${SEQ}0`])).toEqual([BigInt(SEQ), BigInt(`${SEQ}1`)]);
    expect(() => spanOf([])).toThrow(/no sequence numbers/);
  });
});
