import { describe, expect, test } from "vitest";
import { queryOf, rangeProblem, viewFromQuery } from "../src/dashboard-view.js";

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
