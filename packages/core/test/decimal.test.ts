import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { Decimal } from "../src/domain/decimal.js";

describe("Decimal", () => {
  test("sums exactly where binary floats do not", () => {
    expect(Decimal.parse("0.1").plus(Decimal.parse("0.2")).toString()).toBe("0.3");
    expect(Decimal.parse("40.09620692463166").plus(Decimal.parse("69.12471722003522")).toString()).toBe(
      "109.22092414466688",
    );
  });

  test.each([
    ["2.675", "2.68"],
    ["2.665", "2.67"],
    ["1.005", "1.01"],
    ["1.00499999999999999999", "1.00"],
    ["0", "0.00"],
    ["7", "7.00"],
    ["0.5", "0.50"],
    ["999999999.995", "1000000000.00"],
  ])("rounds %s half-up to %s", (value, expected) => {
    expect(Decimal.parse(value).toFixed(2)).toBe(expected);
  });

  test("divides exactly and rounds once", () => {
    expect(Decimal.parse("10").dividedByToFixed(3, 2)).toBe("3.33");
    expect(Decimal.parse("0.05").dividedByToFixed(2, 2)).toBe("0.03");
    // 0.0149999...: rounding the quotient at 20 places first would give 0.015 -> 0.02.
    expect(Decimal.parse("0.04499999999999999999999").dividedByToFixed(3, 2)).toBe("0.01");
  });

  test("compares across scales", () => {
    expect(Decimal.parse("1.50").compare(Decimal.parse("1.5"))).toBe(0);
    expect(Decimal.parse("1.499999999").compare(Decimal.parse("1.5"))).toBe(-1);
    expect(Decimal.parse("10").compare(Decimal.parse("9.999"))).toBe(1);
  });

  test("rejects what is not a plain decimal", () => {
    for (const bad of ["-1", "1e3", ".5", "5.", "", "NaN"]) expect(() => Decimal.parse(bad)).toThrow(RangeError);
  });

  test("half-up rounding agrees with integer arithmetic on cents", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.integer({ min: 0, max: 6 }), (units, scale) => {
        const text =
          scale === 0
            ? units.toString()
            : `${units / 10n ** BigInt(scale)}.${(units % 10n ** BigInt(scale)).toString().padStart(scale, "0")}`;
        const cents =
          scale <= 2
            ? units * 10n ** BigInt(2 - scale)
            : (units + 5n * 10n ** BigInt(scale - 3)) / 10n ** BigInt(scale - 2);
        const expected = `${cents / 100n}.${(cents % 100n).toString().padStart(2, "0")}`;
        expect(Decimal.parse(text).toFixed(2)).toBe(expected);
      }),
    );
  });

  test("signed running totals: DynamoDB number text in, negation and subtraction exact, half-up on the magnitude", () => {
    expect(Decimal.parseNumber("-12.50").toString()).toBe("-12.5");
    expect(Decimal.parseNumber("1E+2").toString()).toBe("100");
    expect(Decimal.parseNumber("1.5e-3").toString()).toBe("0.0015");
    expect(Decimal.parse("10.004").minus(Decimal.parse("20.01")).toString()).toBe("-10.006");
    expect(Decimal.parseNumber("-0.005").toFixed(2)).toBe("-0.01");
    expect(Decimal.parseNumber("-7").dividedByToFixed(2, 2)).toBe("-3.50");
    expect(Decimal.parseNumber("-7").sign).toBe(-1);
    for (const bad of ["--1", "1e", "+1", ""]) expect(() => Decimal.parseNumber(bad)).toThrow(RangeError);
  });
});

describe("Decimal: exact text and guarded division", () => {
  test("canonical text drops trailing fractional zeros and keeps integer zeros", () => {
    // trip-store compares stored fares by this text: "12.50" and "12.5" must be the same fare.
    expect(Decimal.parse("12.50").toString()).toBe("12.5");
    expect(Decimal.parse("0.000").toString()).toBe("0");
    expect(Decimal.parse("100").toString()).toBe("100");
    expect(Decimal.parse("100.00").toString()).toBe("100");
    expect(Decimal.parse("0.05").toString()).toBe("0.05");
  });

  test("an average over no trips, or over a fractional count, is refused rather than computed", () => {
    for (const divisor of [0, -1, 1.5, Number.NaN])
      expect(() => Decimal.parse("10").dividedByToFixed(divisor, 2)).toThrow(`bad divisor ${divisor}`);
  });

  test("the error for unparsable text names the text", () => {
    expect(() => Decimal.parse("1e3")).toThrow('not a decimal: "1e3"');
  });

  test("rounds a quotient at, below and above the value's own scale", () => {
    expect(Decimal.parse("1.25").dividedByToFixed(1, 2)).toBe("1.25");
    expect(Decimal.parse("1.255").dividedByToFixed(1, 2)).toBe("1.26");
    expect(Decimal.parse("1.2").dividedByToFixed(4, 2)).toBe("0.30");
    expect(Decimal.parse("7").dividedByToFixed(2, 0)).toBe("4");
  });
});

describe("Decimal: signed running totals (live KPIs)", () => {
  test("the sign of a total, and negative amounts below one unit formatted exactly", () => {
    expect([
      Decimal.parseNumber("-0.01").sign,
      Decimal.parseNumber("0").sign,
      Decimal.parseNumber("0.01").sign,
    ]).toEqual([-1, 0, 1]);
    expect(Decimal.parseNumber("-0.05").toString()).toBe("-0.05");
    expect(Decimal.parse("0.04").minus(Decimal.parse("0.1")).toFixed(2)).toBe("-0.06");
  });

  test("the error for an unparsable number names the text", () => {
    expect(() => Decimal.parseNumber("1e")).toThrow('not a number: "1e"');
  });

  test("times a count is exact at any scale and sign (max x count against a total)", () => {
    expect(Decimal.parse("0.005").times(3).toString()).toBe("0.015");
    expect(Decimal.parseNumber("-12.5").times(4).toString()).toBe("-50");
    expect(Decimal.parse("123456789012345678901234567890.000000000000001").times(1000).toString()).toBe(
      "123456789012345678901234567890000.000000000001",
    );
    expect(Decimal.parse("7").times(0).sign).toBe(0);
  });
});
