/** The dashboard page: live tiles for a day, the nightly rows over a range, refreshed every few seconds. */
import { dailyResponse, KPI_DISPLAY, liveResponse, runStatusResponse, type DailyResponse, type LiveResponse } from "@trip-pipeline/core/dashboard-api";
import { ApiError, getJson } from "./api.js";
import { accessToken, forgetToken, signOut, type AuthConfig } from "./auth.js";
import { DailyChart } from "./chart.js";
import { formatCount, formatFreshness, formatKpi } from "./format.js";
import "./style.css";
import { queryOf, rangeProblem, viewFromQuery, type View } from "@trip-pipeline/core/dashboard-view";

const LIVE_EVERY_MS = 5_000;
const DAILY_EVERY_MS = 15_000;

const API = import.meta.env.VITE_API_URL ?? "";
const AUTH: AuthConfig | undefined =
  import.meta.env.VITE_AUTH_DOMAIN && import.meta.env.VITE_AUTH_CLIENT_ID ? { domain: import.meta.env.VITE_AUTH_DOMAIN, clientId: import.meta.env.VITE_AUTH_CLIENT_ID } : undefined;

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = byId<HTMLFormElement>("view");
const inputs = { date: byId<HTMLInputElement>("date"), from: byId<HTMLInputElement>("from"), to: byId<HTMLInputElement>("to") };
const chart = new DailyChart(byId<HTMLCanvasElement>("chart"));
/** The live tiles: one per KPI of the registry (a nightly-only one says so), then the freshness. */
const TILE_IDS = [...KPI_DISPLAY.map((kpi) => kpi.name), "freshness"];

/** Tiles and table columns from the KPI registry, in its order. */
function layoutKpis(): void {
  byId("tiles").prepend(
    ...KPI_DISPLAY.map((kpi) => {
      const box = document.createElement("div");
      box.className = "tile";
      box.title = kpi.description;
      const label = document.createElement("dt");
      label.textContent = kpi.label;
      const value = document.createElement("dd");
      value.id = `tile-${kpi.name}`;
      value.textContent = "–";
      box.replaceChildren(label, value);
      return box;
    }),
  );
  const day = document.createElement("th");
  day.scope = "col";
  day.textContent = "Day";
  byId("days-head").replaceChildren(
    day,
    ...KPI_DISPLAY.map((kpi) => {
      const head = document.createElement("th");
      head.scope = "col";
      head.className = "num";
      head.title = kpi.description;
      head.textContent = kpi.label;
      return head;
    }),
  );
}
layoutKpis();

/** Problems by source; the error box shows them all and empties when they clear. */
const errors = new Map<string, string>();
let view: View;
let live: { answer: LiveResponse; receivedAt: number } | undefined;
let token: string | undefined;

function setError(source: string, message: string | undefined): void {
  if (message === undefined) errors.delete(source);
  else errors.set(source, message);
  byId("errors").replaceChildren(
    ...[...errors.values()].map((text) => {
      const p = document.createElement("p");
      p.textContent = text;
      return p;
    }),
  );
}

async function call<T>(path: string, schema: Parameters<typeof getJson<T>>[2]): Promise<T> {
  if (AUTH) token ??= await accessToken(AUTH);
  try {
    return await getJson(API, path, schema, token);
  } catch (error) {
    if (AUTH && error instanceof ApiError && error.status === 401) {
      forgetToken();
      token = await accessToken(AUTH);
    }
    throw error;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function tile(id: string, text: string, unavailable = false): void {
  const element = byId(`tile-${id}`);
  element.textContent = text;
  element.classList.toggle("unavailable", unavailable);
}

function renderLive(): void {
  const kpi = live?.answer.kpi;
  if (!live) return;
  if (!kpi) {
    for (const { name } of KPI_DISPLAY) tile(name, "no completed trips yet", true);
  } else if ("expired" in kpi) {
    for (const { name } of KPI_DISPLAY) tile(name, "live figures expired: see the nightly row", true);
  } else {
    for (const { name, live: kept } of KPI_DISPLAY) {
      const value = kpi[name];
      // While settling, a figure that does not agree with the sums yet is withheld rather than shown wrong.
      if (!kept) tile(name, "nightly only", true);
      else tile(name, value === null ? "settling" : formatKpi(value), value === null);
    }
  }
  byId("live-settling").hidden = !(kpi && !("expired" in kpi) && kpi.settling);
  renderFreshness();
}

function renderFreshness(): void {
  const kpi = live?.answer.kpi;
  const freshness = kpi && !("expired" in kpi) ? kpi.freshness_s : null;
  if (!live || freshness === null || freshness === undefined) return tile("freshness", live ? "no changes yet" : "–", true);
  tile("freshness", formatFreshness(freshness + (Date.now() - live.receivedAt) / 1000));
}

function renderDaily(answer: DailyResponse): void {
  chart.show(answer.from, answer.to, answer.days);
  byId("days").replaceChildren(
    ...answer.days.map((day) => {
      const row = document.createElement("tr");
      const cells = [day.pickup_date, ...KPI_DISPLAY.map(({ name }) => formatKpi(day[name]))];
      row.replaceChildren(
        ...cells.map((text, i) => {
          const cell = document.createElement(i === 0 ? "th" : "td");
          if (i === 0) cell.setAttribute("scope", "row");
          else cell.className = "num";
          cell.textContent = text;
          return cell;
        }),
      );
      return row;
    }),
  );
  if (answer.days.length === 0) {
    const row = document.createElement("tr");
    const cell = document.createElement("td");
    cell.colSpan = 6;
    cell.textContent = "No nightly rows for these days yet.";
    row.append(cell);
    byId("days").replaceChildren(row);
  }
}

async function refreshLive(): Promise<void> {
  const asked = view;
  try {
    const answer = await call(`/api/kpis/live?date=${asked.date}`, liveResponse);
    if (asked !== view) return;
    live = { answer, receivedAt: Date.now() };
    renderLive();
    setError("live", undefined);
    byId("status").textContent = `Refreshing every ${LIVE_EVERY_MS / 1000} s · last answer ${answer.served_at} UTC`;
  } catch (error) {
    if (!live) for (const id of TILE_IDS) tile(id, "unavailable", true);
    setError("live", `Live figures: ${message(error)}`);
  }
}

async function refreshDaily(): Promise<void> {
  const asked = view;
  const problem = rangeProblem(asked);
  if (problem) return setError("daily", `Nightly KPIs: ${problem}`);
  try {
    const answer = await call(`/api/kpis/daily?from=${asked.from}&to=${asked.to}`, dailyResponse);
    if (asked !== view) return;
    renderDaily(answer);
    setError("daily", undefined);
  } catch (error) {
    setError("daily", `Nightly KPIs: ${message(error)}`);
  }
}

/** Pending and anomaly counts: only the local run (`pnpm start --serve`) has them. */
let runStatusAvailable = true;
async function refreshRunStatus(): Promise<void> {
  if (!runStatusAvailable || AUTH) return;
  try {
    const status = await getJson(API, "/api/run", runStatusResponse);
    for (const [id, value] of [["pending", status.pending], ["anomalies", status.anomalies]] as const) {
      byId(`tile-${id}-box`).hidden = false;
      tile(id, value === null ? "counted when the run ends" : formatCount(value), value === null);
    }
  } catch {
    runStatusAvailable = false;
  }
}

function show(next: View, push: boolean): void {
  view = next;
  inputs.date.value = view.date;
  inputs.from.value = view.from;
  inputs.to.value = view.to;
  byId("live-day").textContent = view.date;
  byId("range").textContent = `${view.from} to ${view.to}`;
  if (push) history.pushState(null, "", queryOf(view));
  live = undefined;
  for (const id of TILE_IDS) tile(id, "loading…", true);
  void refreshLive();
  void refreshDaily();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const { view: next, problems } = viewFromQuery(queryOf({ date: inputs.date.value, from: inputs.from.value, to: inputs.to.value }), new Date());
  setError("address", problems.length > 0 ? problems.join(" ") : undefined);
  show(next, true);
});

window.addEventListener("popstate", () => start(false));

if (AUTH) {
  const button = byId<HTMLButtonElement>("sign-out");
  button.hidden = false;
  button.addEventListener("click", () => signOut(AUTH));
}

function start(push: boolean): void {
  const { view: initial, problems } = viewFromQuery(location.search, new Date());
  setError("address", problems.length > 0 ? problems.join(" ") : undefined);
  show(initial, push);
}

async function boot(): Promise<void> {
  try {
    // Signing in may come back with ?code=…: the token first, then the view from the address.
    if (AUTH) token = await accessToken(AUTH);
  } catch (error) {
    setError("auth", message(error));
    return;
  }
  start(false);
  void refreshRunStatus();
  setInterval(() => void refreshLive(), LIVE_EVERY_MS);
  setInterval(() => void refreshDaily(), DAILY_EVERY_MS);
  setInterval(() => void refreshRunStatus(), LIVE_EVERY_MS);
  setInterval(renderFreshness, 1_000);
}

void boot();
