import { describe, expect, test } from "vitest";
import { encodeWireEvent, parseWireEvent, type ReasonCode, validateEvent } from "../src/domain/events.js";

const start = {
  trip_id: "c66ce556bc",
  pickup_datetime: "2024-05-25 13:19:00",
  estimated_fare_amount: "34.18595283806629",
};
const end = { trip_id: "c66ce556bc", dropoff_datetime: "2024-05-25 14:05:00", fare_amount: "40.09620692463166" };

function codeOf(type: "start" | "end", row: Record<string, unknown>): ReasonCode | "ok" {
  const result = validateEvent(type, row);
  return result.ok ? "ok" : result.rejection.code;
}

describe("trip_id", () => {
  test.each([
    ["abc", "ok"],
    ["  padded  ", "ok"],
    ["x".repeat(128), "ok"],
    ["x".repeat(129), "invalid_trip_id"],
    ["", "invalid_trip_id"],
    ["   ", "invalid_trip_id"],
  ] as const)("%j -> %s", (trip_id, expected) => {
    expect(codeOf("start", { ...start, trip_id })).toBe(expected);
  });

  test("is trimmed in the validated event", () => {
    const result = validateEvent("start", { ...start, trip_id: "  abc " });
    expect(result.ok && result.value.trip_id).toBe("abc");
  });

  test("missing is reported as a missing field", () => {
    const { trip_id: _, ...rest } = start;
    const result = validateEvent("start", rest);
    expect(result).toMatchObject({ ok: false, rejection: { code: "missing_field", field: "trip_id" } });
  });
});

describe("datetimes", () => {
  test.each([
    ["2024-05-25 13:19:00", "ok"],
    ["2024-02-29 00:00:00", "ok"],
    ["2024-12-31 23:59:59", "ok"],
    [" 2024-05-25 13:19:00 ", "ok"],
    ["2024-02-30 10:00:00", "invalid_calendar_datetime"],
    ["2023-02-29 10:00:00", "invalid_calendar_datetime"],
    ["2024-05-25 25:00:00", "invalid_calendar_datetime"],
    ["2024-05-25 23:60:00", "invalid_calendar_datetime"],
    ["2024-05-25 23:59:60", "invalid_calendar_datetime"],
    ["2024-13-01 00:00:00", "invalid_calendar_datetime"],
    ["2024-00-10 00:00:00", "invalid_calendar_datetime"],
    ["2024-05-25T13:19:00", "invalid_datetime_format"],
    ["2024-05-25 13:19:00.5", "invalid_datetime_format"],
    ["2024-05-25 13:19", "invalid_datetime_format"],
    ["2024-5-25 13:19:00", "invalid_datetime_format"],
    ["2024-05-25 13:19:00Z", "invalid_datetime_format"],
    ["25/05/2024 13:19:00", "invalid_datetime_format"],
    ["", "invalid_datetime_format"],
  ] as const)("%j -> %s", (value, expected) => {
    expect(codeOf("start", { ...start, pickup_datetime: value })).toBe(expected);
    expect(codeOf("end", { ...end, dropoff_datetime: value })).toBe(expected);
  });
});

describe("fares", () => {
  test.each([
    ["0", "ok"],
    ["0.0", "ok"],
    ["12", "ok"],
    ["12.5", "ok"],
    ["40.09620692463166", "ok"],
    ["0.000000000000000000001", "ok"],
    [" 7.25 ", "ok"],
    ["-1", "invalid_fare"],
    ["+1", "invalid_fare"],
    ["1e3", "invalid_fare"],
    ["1E3", "invalid_fare"],
    ["$12", "invalid_fare"],
    ["12 EUR", "invalid_fare"],
    ["1,000.00", "invalid_fare"],
    ["1 000", "invalid_fare"],
    ["12,5", "invalid_fare"],
    ["NaN", "invalid_fare"],
    ["Infinity", "invalid_fare"],
    [".5", "invalid_fare"],
    ["5.", "invalid_fare"],
    ["", "invalid_fare"],
    ["0x10", "invalid_fare"],
    ["0.00000000000000000000000000000000000000000001", "ok"],
    [`1.${"0".repeat(60)}`, "ok"],
    ["1".repeat(38), "ok"],
    [`1.${"1".repeat(37)}`, "ok"],
    [`1.${"1".repeat(38)}`, "invalid_fare"],
    ["1".repeat(39), "invalid_fare"],
  ] as const)("%j -> %s", (value, expected) => {
    expect(codeOf("start", { ...start, estimated_fare_amount: value })).toBe(expected);
    expect(codeOf("end", { ...end, fare_amount: value })).toBe(expected);
  });

  test("keeps every decimal of the text exactly", () => {
    const result = validateEvent("end", { ...end, fare_amount: "40.096206924631661234" });
    expect(result.ok && result.value.fare_amount).toBe("40.096206924631661234");
  });
});

describe("extras (real-data quirks)", () => {
  test("keeps known extra columns, typed, and drops empty cells as absent", () => {
    const result = validateEvent("end", {
      dropoff_datetime: "2024-05-25 14:05:00",
      rate_code: "5.0",
      passenger_count: "",
      trip_distance: "0.1",
      fare_amount: "40.09620692463166",
      tip_amount: "1.4231808570380187",
      payment_type: "3.0",
      trip_type: " ",
      trip_id: "c66ce556bc",
    });
    expect(result).toEqual({
      ok: true,
      value: {
        event_type: "end",
        trip_id: "c66ce556bc",
        dropoff_datetime: "2024-05-25 14:05:00",
        fare_amount: "40.09620692463166",
        rate_code: "5.0",
        trip_distance: "0.1",
        tip_amount: "1.4231808570380187",
        payment_type: "3.0",
      },
    });
  });

  test("start extras: integer ids and an estimated dropoff datetime", () => {
    const ok = validateEvent("start", {
      ...start,
      pickup_location_id: "93",
      vendor_id: "1",
      estimated_dropoff_datetime: "2024-05-25 14:03:00",
    });
    expect(ok.ok && ok.value).toMatchObject({
      pickup_location_id: "93",
      vendor_id: "1",
      estimated_dropoff_datetime: "2024-05-25 14:03:00",
    });
    expect(codeOf("start", { ...start, vendor_id: "1.5" })).toBe("invalid_extra");
    expect(codeOf("start", { ...start, estimated_dropoff_datetime: "soon" })).toBe("invalid_datetime_format");
    expect(codeOf("end", { ...end, tip_amount: "-1" })).toBe("invalid_extra");
    expect(codeOf("end", { ...end, trip_distance: "9".repeat(39) })).toBe("invalid_extra");
  });

  test("unknown columns are ignored", () => {
    const result = validateEvent("start", { ...start, surge: "yes" });
    expect(result.ok && "surge" in result.value).toBe(false);
  });

  test("the first failing field in schema order decides the reason", () => {
    const result = validateEvent("start", { trip_id: "", pickup_datetime: "bad", estimated_fare_amount: "-1" });
    expect(result).toMatchObject({ ok: false, rejection: { code: "invalid_trip_id", field: "trip_id" } });
  });
});

describe("wire events", () => {
  test("round-trips a start event with its type", () => {
    const result = parseWireEvent(JSON.stringify({ event_type: "start", ...start, vendor_id: "2" }));
    expect(result).toEqual({ ok: true, value: { event_type: "start", ...start, vendor_id: "2" } });
  });

  test.each([
    ["not json", "invalid_json"],
    ["[1,2]", "invalid_json"],
    ["null", "invalid_json"],
    [JSON.stringify({ ...start }), "invalid_event_type"],
    [JSON.stringify({ ...start, event_type: "begin" }), "invalid_event_type"],
    [JSON.stringify({ ...end, event_type: "start" }), "missing_field"],
    [JSON.stringify({ ...end, event_type: "end", fare_amount: 12.5 }), "invalid_fare"],
  ] as const)("%s -> %s", (data, expected) => {
    const result = parseWireEvent(data);
    expect(result.ok ? "ok" : result.rejection.code).toBe(expected);
  });
});

describe("rejections as the failed trail records them (reason, field, message)", () => {
  const rejectionOf = (type: "start" | "end", row: Record<string, unknown>) => {
    const result = validateEvent(type, row);
    return result.ok ? undefined : result.rejection;
  };

  test.each([
    [{ trip_id: "" }, { code: "invalid_trip_id", field: "trip_id", message: "trip_id is empty" }],
    [
      { trip_id: "x".repeat(129) },
      { code: "invalid_trip_id", field: "trip_id", message: "trip_id has 129 characters, at most 128 allowed" },
    ],
    [
      { pickup_datetime: "2024-05-25T13:19:00" },
      {
        code: "invalid_datetime_format",
        field: "pickup_datetime",
        message: '"2024-05-25T13:19:00" is not YYYY-MM-DD HH:MM:SS',
      },
    ],
    [
      { pickup_datetime: "2024-02-30 10:00:00" },
      {
        code: "invalid_calendar_datetime",
        field: "pickup_datetime",
        message: '"2024-02-30 10:00:00" is not a real calendar instant',
      },
    ],
    [
      { estimated_fare_amount: "12,5" },
      {
        code: "invalid_fare",
        field: "estimated_fare_amount",
        message: '"12,5" is not a non-negative decimal like 12 or 12.50',
      },
    ],
    [{ vendor_id: "1.5" }, { code: "invalid_extra", field: "vendor_id", message: '"1.5" is not a valid integer' }],
  ] as const)("start %j -> %j", (change, expected) => {
    expect(rejectionOf("start", { ...start, ...change })).toEqual(expected);
  });

  test("a missing required field is named", () => {
    const { fare_amount: _, ...rest } = end;
    expect(rejectionOf("end", rest)).toEqual({
      code: "missing_field",
      field: "fare_amount",
      message: "fare_amount is missing",
    });
  });

  test("too many significant digits is a fare or extra rejection that says so", () => {
    // The message starts with the offending value, as every value rejection does.
    expect(rejectionOf("end", { ...end, fare_amount: `1${"0".repeat(37)}1` })).toEqual({
      code: "invalid_fare",
      field: "fare_amount",
      message: expect.stringMatching(/^"10+1" .*significant digits/),
    });
    expect(rejectionOf("end", { ...end, tip_amount: `1.${"0".repeat(37)}1` })).toEqual({
      code: "invalid_extra",
      field: "tip_amount",
      message: expect.stringMatching(/^"1\.0+1" .*significant digits/),
    });
  });

  test.each([
    ["trip_id", 5, "invalid_trip_id"],
    ["pickup_datetime", 20240525, "invalid_datetime_format"],
    ["estimated_fare_amount", 12.5, "invalid_fare"],
    ["vendor_id", 2, "invalid_extra"],
    ["estimated_dropoff_datetime", true, "invalid_datetime_format"],
  ] as const)("a JSON %s of the wrong type (%j) is %s, with the field in the message", (field, value, code) => {
    expect(rejectionOf("start", { ...start, [field]: value })).toEqual({
      code,
      field,
      message: expect.stringMatching(new RegExp(`^${field}: `)),
    });
  });
});

describe("significant digits: zeros inside a number count, zeros at its ends do not", () => {
  test.each([
    [`1${"0".repeat(36)}1`, "ok"],
    [`1${"0".repeat(37)}1`, "invalid_fare"],
    [`1.${"0".repeat(36)}1`, "ok"],
    [`1.${"0".repeat(37)}1`, "invalid_fare"],
    [`0.${"0".repeat(40)}${"1".repeat(38)}`, "ok"],
    [`${"0".repeat(10)}${"1".repeat(38)}`, "ok"],
    [`${"1".repeat(30)}.${"1".repeat(8)}000`, "ok"],
  ] as const)("%s -> %s", (fare, expected) => {
    expect(codeOf("end", { ...end, fare_amount: fare })).toBe(expected);
  });

  test("an extra with exactly 38 significant digits is kept", () => {
    expect(codeOf("end", { ...end, trip_distance: "1".repeat(38) })).toBe("ok");
  });
});

describe("extras and wire records: trimming and what is not an event", () => {
  test("extra cells are trimmed like every other field", () => {
    const result = validateEvent("start", {
      ...start,
      vendor_id: " 2 ",
      estimated_dropoff_datetime: " 2024-05-25 14:03:00 ",
    });
    expect(result.ok && result.value).toMatchObject({
      vendor_id: "2",
      estimated_dropoff_datetime: "2024-05-25 14:03:00",
    });
  });

  test.each([
    ["not json", { code: "invalid_json", message: "record data is not JSON" }],
    ["5", { code: "invalid_json", message: "record data is not a JSON object" }],
    ['"start"', { code: "invalid_json", message: "record data is not a JSON object" }],
    ["[]", { code: "invalid_json", message: "record data is not a JSON object" }],
    [
      '{"event_type":"begin"}',
      { code: "invalid_event_type", field: "event_type", message: 'event_type "begin" is not "start" or "end"' },
    ],
  ] as const)("%s -> %j", (data, rejection) => {
    expect(parseWireEvent(data)).toEqual({ ok: false, rejection });
  });

  test("an event encoded for the wire parses back to itself", () => {
    const event = { event_type: "end", ...end, tip_amount: "1.5" } as const;
    expect(parseWireEvent(encodeWireEvent(event))).toEqual({ ok: true, value: event });
  });
});
