import { kinesisEventTypeFilter, MATCHER_FILTER } from "@trip-pipeline/core/platform/pipeline-spec";
import { describe, expect, test } from "vitest";
import { matchesAny, matchesPattern, NOT_JSON } from "../src/event-filter.js";

const streamRecord = (eventName: string, sortKey: string) => ({
  eventName,
  dynamodb: { Keys: { trip_id: { S: "t" }, sort_key: { S: sortKey } } },
});

describe("event filters as Lambda applies them", () => {
  test("the deployed matcher filter passes RAW inserts only", () => {
    expect(matchesPattern(MATCHER_FILTER, streamRecord("INSERT", "RAW#START#2024-02-29 10:00:00"))).toBe(true);
    expect(matchesPattern(MATCHER_FILTER, streamRecord("INSERT", "COMPLETED#2024-02-29 10:00:00"))).toBe(false);
    expect(matchesPattern(MATCHER_FILTER, streamRecord("MODIFY", "RAW#END#2024-02-29 10:00:00"))).toBe(false);
    expect(matchesPattern(MATCHER_FILTER, streamRecord("REMOVE", "RAW#END#2024-02-29 10:00:00"))).toBe(false);
    expect(matchesPattern(MATCHER_FILTER, { eventName: "INSERT" })).toBe(false);
  });

  test("the deployed Kinesis filters match the decoded data's event_type", () => {
    expect(
      matchesPattern(kinesisEventTypeFilter("start"), {
        partitionKey: "t",
        data: { event_type: "start", trip_id: "t" },
      }),
    ).toBe(true);
    expect(matchesPattern(kinesisEventTypeFilter("start"), { data: { event_type: "end" } })).toBe(false);
    expect(matchesPattern(kinesisEventTypeFilter("end"), { data: NOT_JSON })).toBe(false);
  });

  test("data that is not JSON matches no data filter, not even exists:false (Lambda drops it); no filter at all passes it", () => {
    expect(matchesPattern({ data: { event_type: [{ exists: false }] } }, { data: NOT_JSON })).toBe(false);
    expect(matchesPattern({ data: { event_type: [{ exists: false }] } }, { data: { trip_id: "t" } })).toBe(true);
    expect(matchesAny([], { data: NOT_JSON })).toBe(true);
  });

  test("rules: any of a list, list fields, prefix/suffix, anything-but, exists, numeric; several patterns are alternatives", () => {
    expect(matchesPattern({ a: ["x", "y"] }, { a: "y" })).toBe(true);
    expect(matchesPattern({ a: ["x"] }, { a: ["z", "x"] })).toBe(true);
    expect(matchesPattern({ a: [{ suffix: ".csv" }] }, { a: "f.csv" })).toBe(true);
    expect(matchesPattern({ a: [{ "anything-but": ["x"] }] }, { a: "y" })).toBe(true);
    expect(matchesPattern({ a: [{ "anything-but": ["x"] }] }, { a: "x" })).toBe(false);
    expect(matchesPattern({ a: [{ exists: false }] }, {})).toBe(true);
    expect(matchesPattern({ a: [{ exists: true }] }, {})).toBe(false);
    expect(matchesPattern({ n: [{ numeric: [">", 0, "<=", 5] }] }, { n: 5 })).toBe(true);
    expect(matchesPattern({ n: [{ numeric: [">", 0, "<=", 5] }] }, { n: 6 })).toBe(false);
    expect(matchesPattern({ s: [{ "equals-ignore-case": "ABC" }] }, { s: "abc" })).toBe(true);
    expect(matchesAny([{ a: ["x"] }, { b: ["y"] }], { b: "y" })).toBe(true);
    expect(matchesAny([], { anything: 1 })).toBe(true);
  });

  test("an operator this runtime does not know is an error, not a silent pass or drop", () => {
    expect(() => matchesPattern({ a: [{ wildcard: "x*" }] }, { a: "xy" })).toThrow(/unsupported filter operator/);
  });
});
