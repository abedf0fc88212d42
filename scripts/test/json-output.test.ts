import { expect, test } from "vitest";
import { jsonDocument, snakeCased, snakeKey } from "../lib/json-output.js";

test.each([
  ["liveKpiWrites", "live_kpi_writes"],
  ["toDlq", "to_dlq"],
  ["functionArn", "function_arn"],
  ["trip_count", "trip_count"],
  ["--END_DATE", "--END_DATE"],
  ["URL", "URL"],
  ["a", "a"],
  ["BatchWriteItem", "batch_write_item"],
  ["RAW", "RAW"],
])("%s -> %s", (key, snake) => {
  expect(snakeKey(key)).toBe(snake);
});

test("keys at every depth are converted, values and order kept; one line", () => {
  const report = {
    totals: { failedBatches: 1 },
    batches: [{ functionArn: "arn:aws:lambda:x:function:matcherFn", records: 2 }],
    arguments: { "--DAYS_WINDOW": "3" },
    none: null,
  };
  expect(jsonDocument(report)).toBe(
    '{"totals":{"failed_batches":1},"batches":[{"function_arn":"arn:aws:lambda:x:function:matcherFn","records":2}],"arguments":{"--DAYS_WINDOW":"3"},"none":null}\n',
  );
  expect(snakeCased(["camelCase", 1])).toEqual(["camelCase", 1]);
});
