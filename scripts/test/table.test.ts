import { expect, test } from "vitest";
import { formatTable, groupDigits } from "../lib/table.js";

test.each([
  ["13526.73", "13,526.73"],
  ["1234567", "1,234,567"],
  ["-1000.5", "-1,000.5"],
  ["999.999999", "999.999999"],
  ["0", "0"],
])("groupDigits(%s) = %s", (number, grouped) => {
  expect(groupDigits(number)).toBe(grouped);
});

test("columns of numbers are right-aligned and grouped, a `-` standing for none; text stays left, the last column ragged", () => {
  expect(
    formatTable([
      ["day", "trips", "total", "note"],
      ["2024-02-28", "1234", "13526.73", "first"],
      ["2024-02-29", "7", "-", "-"],
    ]),
  ).toBe(
    [
      "day         trips      total  note",
      "2024-02-28  1,234  13,526.73  first",
      "2024-02-29      7          -  -",
      "",
    ].join("\n"),
  );
});

test("a column without any number stays text, even of dashes; a number as the last column is right-aligned too", () => {
  expect(
    formatTable([
      ["name", "reasons", "count"],
      ["a", "-", "5"],
      ["bb", "-", "12000"],
    ]),
  ).toBe(["name  reasons   count", "a     -             5", "bb    -        12,000", ""].join("\n"));
});
