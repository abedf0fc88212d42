import { describe, expect, test } from "vitest";
import { formatCount, formatFreshness, formatMoney } from "../src/format.js";
import { queryOf, rangeProblem, viewFromQuery } from "../src/view.js";

const NOW = new Date("2024-05-25T23:59:59Z");

describe("the view in the address", () => {
  test("defaults: today (UTC) and the 30 days ending on the day", () => {
    expect(viewFromQuery("", NOW)).toEqual({ view: { date: "2024-05-25", from: "2024-04-26", to: "2024-05-25" }, problems: [] });
    expect(viewFromQuery("?date=2024-03-01", NOW).view).toEqual({ date: "2024-03-01", from: "2024-02-01", to: "2024-03-01" });
  });

  test("a shared address comes back as the same view", () => {
    const view = { date: "2024-02-29", from: "2024-02-01", to: "2024-03-31" };
    expect(viewFromQuery(queryOf(view), NOW)).toEqual({ view, problems: [] });
  });

  test("a part that is no calendar day is replaced, and said so", () => {
    const { view, problems } = viewFromQuery("?date=2023-02-29&from=nope&to=2024-05-10", NOW);
    expect(view).toEqual({ date: "2024-05-25", from: "2024-04-11", to: "2024-05-10" });
    expect(problems).toEqual([expect.stringMatching(/date=2023-02-29.*not a calendar date/), expect.stringMatching(/from=nope/)]);
  });

  test("ranges the API would refuse are named before asking it", () => {
    expect(rangeProblem({ date: "2024-05-25", from: "2024-05-02", to: "2024-05-01" })).toMatch(/ends .* before it starts/);
    expect(rangeProblem({ date: "2024-05-25", from: "2024-01-01", to: "2024-04-02" })).toBeUndefined();
    expect(rangeProblem({ date: "2024-05-25", from: "2024-01-01", to: "2024-04-03" })).toMatch(/94 days; at most 93/);
  });
});

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
