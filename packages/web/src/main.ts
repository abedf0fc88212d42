/** The dashboard page: live tiles for a day, the final daily totals over a range, refreshed every few seconds. */
import {
  addDays,
  type DailyResponse,
  dailyResponse,
  type LiveResponse,
  liveResponse,
  runStatusResponse,
  utcDay,
} from "@trip-pipeline/core/dashboard/api";
import { dailyCsv } from "@trip-pipeline/core/dashboard/kpis";
import { CURRENCY_SETTING } from "@trip-pipeline/core/dashboard/spec";
import {
  latestView,
  PRESETS,
  type Preset,
  presetView,
  queryOf,
  rangeProblem,
  type View,
  viewFromQuery,
} from "@trip-pipeline/core/dashboard/view";
import { NIGHTLY_KPI_JOB } from "@trip-pipeline/core/platform/pipeline-spec";
import { ApiError, getJson } from "./api.js";
import { type AuthConfig, accessToken, forgetToken, signOut } from "./auth.js";
import { DailyChart } from "./chart.js";
import { formatCount, formatFreshness } from "./format.js";
import { buildTiles, explainNightlyOnly, setAllTiles, setTile, showChanges, showDaily, showLive } from "./kpi-view.js";
import "./style.css";

const LIVE_EVERY_MS = 5_000;
const DAILY_EVERY_MS = 15_000;

const API = import.meta.env.VITE_API_URL ?? "";
const AUTH: AuthConfig | undefined =
  import.meta.env.VITE_AUTH_DOMAIN && import.meta.env.VITE_AUTH_CLIENT_ID
    ? { domain: import.meta.env.VITE_AUTH_DOMAIN, clientId: import.meta.env.VITE_AUTH_CLIENT_ID }
    : undefined;

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = byId<HTMLFormElement>("view");
const inputs = {
  date: byId<HTMLInputElement>("date"),
  from: byId<HTMLInputElement>("from"),
  to: byId<HTMLInputElement>("to"),
};
const chart = new DailyChart(byId<HTMLCanvasElement>("chart"));
const table = { head: byId("daily-head"), body: byId("days"), foot: byId("totals") };

/** Problems by source; the error box shows them all and empties when they clear. */
const errors = new Map<string, string>();
let view: View | undefined;
/** The address names no view: the page follows the latest day with data as it changes. */
let following = location.search === "";
let live: { answer: LiveResponse; receivedAt: number } | undefined;
/** The nightly row of the day before the live day, for each tile's change. */
let previous: { day: string; row: DailyResponse["days"][number] | undefined } | undefined;
let daily: DailyResponse | undefined;
/** Where presets end: today when it has data, else the latest day with data. */
let anchor: string | undefined;
let currency: string = CURRENCY_SETTING.default;
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

/** Every money label carries the stage's currency, as the API names it. */
function useCurrency(code: string): void {
  if (code === currency && byId("tiles").childElementCount > 0) return;
  currency = code;
  byId("currency").textContent = code;
  chart.setCurrency(code);
  buildTiles(byId("tiles"), code);
  renderLive();
}

function renderLive(): void {
  if (!live) {
    setAllTiles("loading…");
    return;
  }
  const kpi = live.answer.kpi;
  if (!kpi) setAllTiles("no completed trips yet");
  else if ("expired" in kpi) setAllTiles("live figures expired: see the daily totals");
  else showLive(kpi);
  const row = kpi && !("expired" in kpi) ? kpi : undefined;
  if (previous) showChanges(row, previous.day, previous.row);
  byId("live-settling").hidden = !row?.settling;
  renderFreshness();
}

function renderFreshness(): void {
  const kpi = live?.answer.kpi;
  const freshness = kpi && !("expired" in kpi) ? kpi.freshness_s : null;
  if (!live || freshness === null || freshness === undefined) {
    setTile("freshness", live ? "no changes yet" : "–", true);
    return;
  }
  setTile("freshness", formatFreshness(freshness + (Date.now() - live.receivedAt) / 1000));
}

function renderDaily(answer: DailyResponse): void {
  daily = answer;
  chart.show(answer.from, answer.to, answer.days);
  showDaily(answer, table);
}

async function refreshLive(): Promise<void> {
  const asked = view;
  if (!asked) return;
  try {
    const answer = await call(`/api/kpis/live?date=${asked.date}`, liveResponse);
    if (asked !== view) return;
    live = { answer, receivedAt: Date.now() };
    useCurrency(answer.currency);
    renderLive();
    setError("live", undefined);
    byId("status").textContent = `Refreshing every ${LIVE_EVERY_MS / 1000} s · last answer ${answer.served_at} UTC`;
  } catch (error) {
    if (!live) setAllTiles("unavailable");
    setError("live", `Live figures: ${message(error)}`);
  }
}

async function refreshDaily(): Promise<void> {
  const asked = view;
  if (!asked) return;
  const problem = rangeProblem(asked);
  if (problem) return setError("daily", `Daily totals: ${problem}`);
  try {
    const day = addDays(asked.date, -1);
    const [answer, before] = await Promise.all([
      call(`/api/kpis/daily?from=${asked.from}&to=${asked.to}`, dailyResponse),
      call(`/api/kpis/daily?from=${day}&to=${day}`, dailyResponse),
    ]);
    if (asked !== view) return;
    useCurrency(answer.currency);
    previous = { day, row: before.days[0] };
    renderDaily(answer);
    renderLive();
    setError("daily", undefined);
  } catch (error) {
    setError("daily", `Daily totals: ${message(error)}`);
  }
}

/**
 * Which day the page opens on and presets end on: today when it has live figures, otherwise
 * the latest day with a daily total (sample data is rarely from today). While the address names
 * no view, the page moves with it.
 */
async function resolveLatest(): Promise<void> {
  try {
    const [latest, today] = await Promise.all([
      call("/api/kpis/daily", dailyResponse),
      call("/api/kpis/live", liveResponse),
    ]);
    const todayHasData = today.kpi !== null && !("expired" in today.kpi);
    anchor = todayHasData || !latest.latest_day ? today.date : latest.latest_day;
    const note = byId("anchor-note");
    note.hidden = anchor === today.date;
    note.textContent = `Today (${today.date}) has no figures yet, so the view opens on and quick ranges end at ${anchor}, the latest day with data.`;
    setError("latest", undefined);
    if (following) {
      const next = latestView(latest.latest_day ? [latest.from, anchor] : [anchor], today.date);
      if (!view || next.date !== view.date || next.from !== view.from || next.to !== view.to) show(next, false);
    }
  } catch (error) {
    setError("latest", `Latest day with data: ${message(error)}`);
    if (!view) show(viewFromQuery("", new Date()).view, false);
  }
}

/** Pending and anomaly counts: only the local run (`pnpm start --serve`) has them, and they cover the whole run. */
let runStatusAvailable = true;
async function refreshRunStatus(): Promise<void> {
  if (!runStatusAvailable || AUTH) return;
  try {
    const status = await getJson(API, "/api/run", runStatusResponse);
    byId("run").hidden = false;
    for (const [id, value] of [
      ["pending", status.pending],
      ["anomalies", status.anomalies],
    ] as const) {
      setTile(id, value === null ? "counted when the run ends" : formatCount(value), value === null);
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
  byId("live-heading").textContent =
    view.date === utcDay(new Date()) ? `Today so far, ${view.date}` : `Live figures for ${view.date}`;
  byId("range").textContent = `${view.from} to ${view.to}`;
  if (push) history.pushState(null, "", queryOf(view));
  live = undefined;
  previous = undefined;
  renderLive();
  void refreshLive();
  void refreshDaily();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const { view: next, problems } = viewFromQuery(
    queryOf({ date: inputs.date.value, from: inputs.from.value, to: inputs.to.value }),
    new Date(),
  );
  setError("address", problems.length > 0 ? problems.join(" ") : undefined);
  following = false;
  show(next, true);
});

byId("preset-buttons").replaceChildren(
  ...(Object.entries(PRESETS) as [Preset, string][]).map(([preset, label]) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "preset";
    button.textContent = label;
    button.addEventListener("click", () => {
      following = false;
      show(presetView(preset, anchor ?? utcDay(new Date())), true);
    });
    return button;
  }),
);

byId("export").addEventListener("click", () => {
  if (!daily) return;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([dailyCsv(daily.days, daily.currency)], { type: "text/csv;charset=utf-8" }));
  link.download = `trip-kpis_${daily.from}_${daily.to}.csv`;
  link.click();
  URL.revokeObjectURL(link.href);
});

window.addEventListener("popstate", () => start(false));

if (AUTH) {
  const button = byId<HTMLButtonElement>("sign-out");
  button.hidden = false;
  button.addEventListener("click", () => signOut(AUTH));
}

function start(push: boolean): void {
  following = location.search === "";
  if (following) return void resolveLatest();
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
  useCurrency(currency);
  explainNightlyOnly(byId("nightly-only"));
  for (const node of document.querySelectorAll(".nightly-time")) node.textContent = NIGHTLY_KPI_JOB.time;
  start(false);
  if (!following) void resolveLatest();
  void refreshRunStatus();
  setInterval(() => void refreshLive(), LIVE_EVERY_MS);
  setInterval(() => void refreshDaily(), DAILY_EVERY_MS);
  setInterval(() => void resolveLatest(), DAILY_EVERY_MS);
  setInterval(() => void refreshRunStatus(), LIVE_EVERY_MS);
  setInterval(renderFreshness, 1_000);
}

void boot();
