/** The tiles and the daily table, built from the dashboard's KPI list (core dashboard-kpis.ts). */
import type { DailyResponse, LiveResponse } from "@trip-pipeline/core/dashboard/api";
import {
  DASHBOARD_KPIS,
  type KpiRowLike,
  kpiHeading,
  kpiValueOf,
  percentChange,
} from "@trip-pipeline/core/dashboard/kpis";
import { formatKpi } from "./format.js";

type DailyRow = DailyResponse["days"][number];

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/** The live tiles: one per KPI, each with its change against the previous day's nightly row, and the freshness tile. */
export function buildTiles(container: HTMLElement, currency: string): void {
  container.replaceChildren(
    ...DASHBOARD_KPIS.map((kpi) =>
      element(
        "div",
        { className: "tile", title: kpi.description },
        element("dt", {}, kpiHeading(kpi, currency)),
        element("dd", { id: `tile-${kpi.name}` }, "–"),
        element("dd", { id: `change-${kpi.name}`, className: "change" }),
      ),
    ),
    element(
      "div",
      { className: "tile" },
      element("dt", {}, "Last change"),
      element("dd", { id: "tile-freshness", className: "note" }, "–"),
    ),
  );
}

/** Which KPIs only the nightly job computes, in a sentence under the tiles. */
export function explainNightlyOnly(node: HTMLElement): void {
  const labels = DASHBOARD_KPIS.filter((kpi) => !kpi.live).map((kpi) => kpi.label);
  node.hidden = labels.length === 0;
  node.textContent = `${labels.join(", ")} ${labels.length === 1 ? "is" : "are"} computed nightly only: the live figures cannot keep ${labels.length === 1 ? "it" : "them"} exactly as trips arrive.`;
}

export function setTile(id: string, text: string, unavailable = false): void {
  const node = document.getElementById(`tile-${id}`);
  if (!node) return;
  node.textContent = text;
  node.classList.toggle("unavailable", unavailable);
}

const NIGHTLY_ONLY = "nightly only: see the daily totals";

/** Every KPI tile says the same thing (loading, no trips, expired, unavailable); a nightly-only KPI says so. */
export function setAllTiles(text: string): void {
  for (const kpi of DASHBOARD_KPIS) setTile(kpi.name, kpi.live ? text : NIGHTLY_ONLY, true);
}

type LiveRow = Exclude<NonNullable<LiveResponse["kpi"]>, { expired: true }>;

/** The day's live figures; while settling, a figure that does not agree with the sums yet is withheld rather than shown wrong. */
export function showLive(row: LiveRow): void {
  for (const kpi of DASHBOARD_KPIS) {
    if (!kpi.live) {
      setTile(kpi.name, NIGHTLY_ONLY, true);
      continue;
    }
    const value = kpiValueOf(row, kpi.name);
    setTile(kpi.name, value === null ? (row.settling ? "settling" : "–") : formatKpi(value), value === null);
  }
}

/** "+3.2% vs 2024-05-24" under each tile, against that day's nightly row; empty when there is nothing to compare. */
export function showChanges(
  current: KpiRowLike | undefined,
  previousDay: string,
  previous: DailyRow | undefined,
): void {
  for (const kpi of DASHBOARD_KPIS) {
    const node = document.getElementById(`change-${kpi.name}`);
    if (!node) continue;
    // Nothing to say while the day has no figure; the day before without one is worth a word.
    const value = current ? kpiValueOf(current, kpi.name) : null;
    const change = previous ? percentChange(value, kpiValueOf(previous, kpi.name)) : null;
    node.textContent =
      value === null
        ? ""
        : change !== null
          ? `${change} vs ${previousDay}`
          : previous
            ? ""
            : `no daily total for ${previousDay} to compare`;
  }
}

const cell = (tag: "th" | "td", text: string, label: string, numeric: boolean) => {
  const node = element(tag, { className: numeric ? "num" : "" }, text);
  // The narrow layout shows each row as a card and each cell with its column's name.
  node.dataset.label = label;
  if (tag === "th") node.setAttribute("scope", "row");
  return node;
};

/** The daily table: a header from the KPI list, one row per nightly row, the range's totals at the foot. */
export function showDaily(
  answer: DailyResponse,
  parts: { head: HTMLElement; body: HTMLElement; foot: HTMLElement },
): void {
  const headings = [
    "Pickup day",
    ...DASHBOARD_KPIS.map((kpi) => kpiHeading(kpi, answer.currency)),
    "Computed at (UTC)",
  ];
  parts.head.replaceChildren(
    ...headings.map((text, i) =>
      Object.assign(element("th", { className: i > 0 && i <= DASHBOARD_KPIS.length ? "num" : "" }, text), {
        scope: "col",
      }),
    ),
  );
  parts.body.replaceChildren(
    ...answer.days.map((day) =>
      element(
        "tr",
        {},
        cell("th", day.pickup_date, headings[0]!, false),
        ...DASHBOARD_KPIS.map((kpi, i) => cell("td", formatKpi(kpiValueOf(day, kpi.name)), headings[i + 1]!, true)),
        cell("td", day.computed_at, headings.at(-1)!, false),
      ),
    ),
  );
  if (answer.days.length === 0) {
    parts.body.replaceChildren(
      element(
        "tr",
        {},
        element(
          "td",
          { colSpan: headings.length },
          "No daily totals for these days yet: they are computed the night after each day.",
        ),
      ),
    );
    parts.foot.replaceChildren();
    return;
  }
  const label = `Whole range, ${answer.days.length} ${answer.days.length === 1 ? "day" : "days"}`;
  parts.foot.replaceChildren(
    element(
      "tr",
      {},
      cell("th", label, "", false),
      ...DASHBOARD_KPIS.map((kpi, i) => cell("td", formatKpi(answer.totals[kpi.name]), headings[i + 1]!, true)),
      cell("td", "", "", false),
    ),
  );
}
