import { describe, expect, test } from "vitest";
import { formatCount, formatFreshness, formatMoney } from "../src/format.js";

describe("formatting keeps the API's exact text", () => {
  test("thousands separators without touching the digits", () => {
    expect(formatMoney("274393.88")).toBe("274,393.88");
    expect(formatMoney("0.05")).toBe("0.05");
    expect(formatMoney("123456789012345678901234.99")).toBe("123,456,789,012,345,678,901,234.99");
    expect(formatCount(4999)).toBe("4,999");
    expect(formatCount(999)).toBe("999");
  });

  test("freshness in words", () => {
    expect(formatFreshness(4.7)).toBe("updated 4 s ago");
    expect(formatFreshness(-1)).toBe("updated 0 s ago");
    expect(formatFreshness(185)).toBe("updated 3 min ago");
    expect(formatFreshness(7300)).toBe("updated 2 h ago");
  });
});
