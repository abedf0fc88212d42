import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  addDays,
  checkTripDateTime,
  compareDateTimes,
  dateOf,
  daysBetween,
  formatDateTime,
  isCalendarDay,
  secondsBetween,
} from "../src/domain/datetime.js";

describe("checkTripDateTime", () => {
  test.each([
    ["2024-05-25 13:19:00", { ok: true }],
    ["2024-02-29 23:59:59", { ok: true }],
    ["0100-01-01 00:00:00", { ok: true }],
    ["9999-12-31 23:59:59", { ok: true }],
    ["2024-02-30 10:00:00", { ok: false, code: "invalid_calendar_datetime" }],
    ["2024-04-31 10:00:00", { ok: false, code: "invalid_calendar_datetime" }],
    ["2024-05-25 24:00:00", { ok: false, code: "invalid_calendar_datetime" }],
    // Date.UTC reads years 0-99 as 1900-1999: such a text must not pass as another instant.
    ["0024-05-25 13:19:00", { ok: false, code: "invalid_calendar_datetime" }],
    ["0000-01-01 00:00:00", { ok: false, code: "invalid_calendar_datetime" }],
    ["x2024-05-25 13:19:00", { ok: false, code: "invalid_datetime_format" }],
    ["2024-05-25 13:19:00x", { ok: false, code: "invalid_datetime_format" }],
    ["2024-05-25  13:19:00", { ok: false, code: "invalid_datetime_format" }],
  ] as const)("%j -> %j", (text, expected) => {
    expect(checkTripDateTime(text)).toEqual(expected);
  });

  test("accepts exactly the instants that formatDateTime produces", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date("0100-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true }),
        (date) => {
          expect(checkTripDateTime(formatDateTime(date))).toEqual({ ok: true });
        },
      ),
    );
  });
});

describe("formatDateTime, dateOf, compareDateTimes", () => {
  test("formats an instant as UTC YYYY-MM-DD HH:MM:SS, dropping milliseconds", () => {
    expect(formatDateTime(new Date("2024-05-25T13:19:07.999Z"))).toBe("2024-05-25 13:19:07");
  });

  test("the day of a timestamp is its UTC date", () => {
    expect(dateOf("2024-02-29 23:59:59")).toBe("2024-02-29");
  });

  test("orders timestamps chronologically", () => {
    expect(compareDateTimes("2024-05-25 09:59:59", "2024-05-25 10:00:00")).toBe(-1);
    expect(compareDateTimes("2024-05-26 00:00:00", "2024-05-25 23:59:59")).toBe(1);
    expect(compareDateTimes("2024-05-25 10:00:00", "2024-05-25 10:00:00")).toBe(0);
  });
});

describe("calendar days (--END_DATE, date ranges of the KPI readers)", () => {
  test.each([
    ["2024-02-29", true],
    ["2023-02-29", false],
    ["2024-13-01", false],
    ["2024-2-29", false],
    ["20240229", false],
    ["2024-02-29 00:00:00", false],
    [" 2024-02-29", false],
    ["2024-02-29x", false],
    ["", false],
  ] as const)("%j is a calendar day: %s", (text, expected) => {
    expect(isCalendarDay(text)).toBe(expected);
  });

  test("adds days across month, year and leap-day boundaries, backwards too", () => {
    expect(addDays("2024-02-28", 1)).toBe("2024-02-29");
    expect(addDays("2024-12-31", 1)).toBe("2025-01-01");
    expect(addDays("2024-03-01", -1)).toBe("2024-02-29");
    expect(addDays("2024-05-25", 0)).toBe("2024-05-25");
    expect(addDays("2024-05-25", 10)).toBe("2024-06-04");
  });

  test("a range is inclusive at both ends, oldest first, and empty when it runs backwards", () => {
    expect(daysBetween("2024-02-28", "2024-03-01")).toEqual(["2024-02-28", "2024-02-29", "2024-03-01"]);
    expect(daysBetween("2024-05-25", "2024-05-25")).toEqual(["2024-05-25"]);
    expect(daysBetween("2024-05-26", "2024-05-25")).toEqual([]);
  });
});

describe("secondsBetween", () => {
  test("whole seconds between two timestamps, across midnight, a leap day and a year; negative backwards", () => {
    expect(secondsBetween("2024-05-25 10:00:00", "2024-05-25 10:01:01")).toBe(61);
    expect(secondsBetween("2024-02-28 23:59:30", "2024-03-01 00:00:30")).toBe(86_460);
    expect(secondsBetween("2024-12-31 23:59:59", "2025-01-01 00:00:00")).toBe(1);
    expect(secondsBetween("2024-05-25 10:00:00", "2024-05-25 10:00:00")).toBe(0);
    expect(secondsBetween("2024-05-25 10:00:01", "2024-05-25 10:00:00")).toBe(-1);
  });
});
