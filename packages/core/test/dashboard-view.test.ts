import { describe, expect, test } from "vitest";
import { latestView, PRESETS, presetView, queryOf, rangeProblem, viewFromQuery } from "../src/dashboard/view.js";

const NOW = new Date("2024-05-25T23:59:59Z");

describe("the view in the address", () => {
  test("defaults: today (UTC) and the 30 days ending on the day", () => {
    expect(viewFromQuery("", NOW)).toEqual({
      view: { date: "2024-05-25", from: "2024-04-26", to: "2024-05-25" },
      problems: [],
    });
    expect(viewFromQuery("?date=2024-03-01", NOW).view).toEqual({
      date: "2024-03-01",
      from: "2024-02-01",
      to: "2024-03-01",
    });
  });

  test("a shared address comes back as the same view", () => {
    const view = { date: "2024-02-29", from: "2024-02-01", to: "2024-03-31" };
    expect(viewFromQuery(queryOf(view), NOW)).toEqual({ view, problems: [] });
  });

  test("a part that is no calendar day is replaced, and said so", () => {
    const { view, problems } = viewFromQuery("?date=2023-02-29&from=nope&to=2024-05-10", NOW);
    expect(view).toEqual({ date: "2024-05-25", from: "2024-04-11", to: "2024-05-10" });
    expect(problems).toEqual([
      expect.stringMatching(/date=2023-02-29.*not a calendar date/),
      expect.stringMatching(/from=nope/),
    ]);
  });

  test("ranges the API would refuse are named before asking it", () => {
    expect(rangeProblem({ date: "2024-05-25", from: "2024-05-02", to: "2024-05-01" })).toMatch(
      /ends .* before it starts/,
    );
    expect(rangeProblem({ date: "2024-05-25", from: "2024-01-01", to: "2024-04-02" })).toBeUndefined();
    expect(rangeProblem({ date: "2024-05-25", from: "2024-01-01", to: "2024-04-03" })).toMatch(/94 days; at most 93/);
  });
});

describe("the view without an address: the latest day with data", () => {
  test("the latest day, and the days with data up to it, at most 30", () => {
    expect(latestView(["2024-05-23", "2024-05-24", "2024-05-25"], "2026-12-03")).toEqual({
      date: "2024-05-25",
      from: "2024-05-23",
      to: "2024-05-25",
    });
    expect(latestView(["2024-01-01", "2024-04-26", "2024-05-25"], "2026-12-03")).toEqual({
      date: "2024-05-25",
      from: "2024-04-26",
      to: "2024-05-25",
    });
    expect(latestView(["2024-05-25"], "2026-12-03")).toEqual({
      date: "2024-05-25",
      from: "2024-05-25",
      to: "2024-05-25",
    });
  });

  test("no data at all: today alone", () => {
    expect(latestView([], "2026-12-03")).toEqual({ date: "2026-12-03", from: "2026-12-03", to: "2026-12-03" });
  });
});

describe("presets end on the anchor day", () => {
  test.each([
    ["today", { date: "2024-05-25", from: "2024-05-25", to: "2024-05-25" }],
    ["last7", { date: "2024-05-25", from: "2024-05-19", to: "2024-05-25" }],
    ["last30", { date: "2024-05-25", from: "2024-04-26", to: "2024-05-25" }],
    ["monthToDate", { date: "2024-05-25", from: "2024-05-01", to: "2024-05-25" }],
  ] as const)("%s", (preset, view) => {
    expect(presetView(preset, "2024-05-25")).toEqual(view);
    expect(rangeProblem(view)).toBeUndefined();
  });

  test("each has a label a person reads", () => {
    expect(Object.values(PRESETS)).toEqual(["Today", "Last 7 days", "Last 30 days", "Month to date"]);
  });
});
