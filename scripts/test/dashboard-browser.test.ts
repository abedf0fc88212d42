/**
 * The dashboard as a person sees it: `pnpm start --serve` on generated data, the page opened in
 * headless Chromium (Debian's /usr/bin/chromium, or CHROMIUM_PATH; never a downloaded browser)
 * while the run ingests. The tiles must end on the run's final KPIs, equal to its `--json`
 * report, the table on the nightly rows with their totals, the export on the same rows; the
 * base address opens on the latest day with data; axe-core finds no serious or critical
 * violation at 1280 and 390 px, and nothing scrolls sideways at 390 px.
 *
 * DASHBOARD_SCREENSHOTS=docs writes the screenshots to docs/ (dashboard-1280.png,
 * dashboard-390.png) instead of .local/test-artifacts/.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DASHBOARD_KPIS,
  dailyCsv,
  kpiHeading,
  kpiValueOf,
  percentChange,
  rangeTotals,
} from "@trip-pipeline/core/dashboard/kpis";
import { writeTripFiles } from "@trip-pipeline/local/generate";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { RunReport } from "../start.js";
import { ROOT, type ServedRun, serveRun } from "./support/run-cli.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const AXE_SOURCE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const GENERATED = { trips: 400, days: 3, seed: 7, startDate: "2024-05-23" };
const LAST_DAY = "2024-05-25";

let dir: string;
let child: ChildProcess;
let served: ServedRun;
let browser: Browser;

/** Resolves with the first match of `pattern` in the accumulated text of `stream`. */
function waitFor(stream: () => string, pattern: RegExp, what: string, ms = 240_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      const match = pattern.exec(stream());
      if (match) {
        clearInterval(poll);
        resolve(match);
        return;
      }
      if (child.exitCode !== null || Date.now() - started > ms) {
        clearInterval(poll);
        reject(new Error(`no ${what}; exit ${child.exitCode}; stderr: ${served.stderr.slice(-2000)}`));
      }
    }, 100);
  });
}

async function openWhenBuilt(page: Page, url: string): Promise<void> {
  // The page is built while the run starts: 503 until then.
  for (let i = 0; i < 600; i += 1) {
    const response = await page.goto(url);
    if (response?.status() === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${url} never answered 200`);
}

/**
 * The text as a reader sees it: Playwright's innerText is the rendered text (CSS-hidden parts left out,
 * whitespace as laid out), which is what these checks are about; textContent would read the markup.
 */
// biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what the test asserts, not the DOM's
const shownText = (page: Page, selector: string) => page.locator(selector).innerText();
const tileText = (page: Page, id: string) => shownText(page, `#tile-${id}`);
const plain = (text: string) => text.replace(/,/g, "");

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`).toBe(
    true,
  );
  dir = await mkdtemp(join(tmpdir(), "dashboard-"));
  const files = await writeTripFiles({ ...GENERATED, outDir: join(dir, "data") });
  served = serveRun(files, join(dir, "run"), ["--json"]);
  child = served.child;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (child?.pid && child.exitCode === null) process.kill(-child.pid, "SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

const rowsOf = (page: Page, selector: string) =>
  page
    .locator(selector)
    .evaluateAll((trs) =>
      trs.map((tr) =>
        [...tr.children]
          .filter((cell) => cell.textContent !== "")
          .map((cell) => (cell.textContent ?? "").replace(/,/g, "")),
      ),
    );

/** axe-core's serious and critical violations on the page as it is now (its source injected; nothing downloaded). */
async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE_SOURCE });
  const violations = await page.evaluate<{ id: string; impact: string | null; nodes: { target: unknown }[] }[]>(
    "axe.run().then((result) => result.violations)",
  );
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${JSON.stringify(v.nodes.map((n) => n.target))}`);
}

async function screenshot(page: Page, width: number): Promise<void> {
  const folder =
    process.env.DASHBOARD_SCREENSHOTS === "docs" ? join(ROOT, "docs") : join(ROOT, ".local", "test-artifacts");
  await mkdir(folder, { recursive: true });
  await page.screenshot({ path: join(folder, `dashboard-${width}.png`), fullPage: true });
}

describe("pnpm start --serve, in Chromium", () => {
  test("the tiles move while the run ingests and end on the run's --json KPIs; the table shows the nightly rows and their totals; the base address opens on the latest day; Ctrl-C stops it", async () => {
    const [, origin] = await waitFor(
      () => served.stderr,
      /Dashboard: (http:\/\/127\.0\.0\.1:\d+)\/ \(figures update/,
      "dashboard address",
    );
    // The page may be built to bypass the CSP only so that axe-core's source can be injected.
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      bypassCSP: true,
      acceptDownloads: true,
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    await openWhenBuilt(page, `${origin}/?date=${LAST_DAY}&from=${GENERATED.startDate}&to=${LAST_DAY}`);
    // Opened on the base address before any day has a nightly row: it must move to the latest day by itself.
    const following = await context.newPage();
    await following.goto(`${origin}/`);

    // The run ends: its report on stdout, then the address to open.
    await waitFor(() => served.stdout, /\}\n$/, "JSON report");
    const report = JSON.parse(served.stdout) as RunReport;
    const [, shown] = await waitFor(() => served.stderr, /Dashboard: (\S+) \(serving until Ctrl-C\)/, "final address");
    const latest = report.kpis.at(-1)!;
    const before = report.kpis.at(-2)!;
    expect(latest.pickup_date).toBe(LAST_DAY);
    expect(shown).toBe(`${origin}/`);

    // Refreshing every few seconds, the open page reaches the final figures by itself.
    await expect
      .poll(async () => [plain(await tileText(page, "total_fare")), plain(await tileText(page, "trip_count"))], {
        timeout: 30_000,
        interval: 250,
      })
      .toEqual([latest.total_fare, String(latest.trip_count)]);
    // Every registered KPI has a tile; one that only the nightly job computes says so.
    for (const kpi of DASHBOARD_KPIS)
      expect(plain(await tileText(page, kpi.name)), kpi.name).toBe(
        kpi.live ? String(kpiValueOf(latest, kpi.name) ?? "–") : "nightly only: see the daily totals",
      );
    expect(await shownText(page, "#nightly-only")).toBe(
      "Median fare is computed nightly only: the live figures cannot keep it exactly as trips arrive.",
    );
    expect(await tileText(page, "freshness")).toMatch(/^updated \d+ (s|min) ago$/);
    // Each tile's change against the day before, from that day's nightly row.
    await expect
      .poll(() => shownText(page, "#change-total_fare"), { timeout: 30_000 })
      .toBe(
        `${percentChange(kpiValueOf(latest, "total_fare"), kpiValueOf(before, "total_fare"))} vs ${before.pickup_date}`,
      );
    expect(await shownText(page, "#change-trip_count")).toBe(
      `${percentChange(kpiValueOf(latest, "trip_count"), kpiValueOf(before, "trip_count"))} vs ${before.pickup_date}`,
    );

    // Plain words, the currency on every money label, the run-wide counts apart from the day.
    expect(await shownText(page, "#live-title")).toBe(`Live figures for ${LAST_DAY} (updates every few seconds)`);
    expect(await shownText(page, "#daily-title")).toBe(
      `Daily totals (final, computed nightly at 01:00 UTC), ${GENERATED.startDate} to ${LAST_DAY}`,
    );
    expect(await shownText(page, ".intro")).toMatch(
      /Live figures count each trip as it completes .*; the daily totals are final, computed once a night at 01:00 UTC/,
    );
    expect(await shownText(page, "#currency")).toBe("USD");
    const headings = DASHBOARD_KPIS.map((kpi) => kpiHeading(kpi, "USD"));
    expect(await page.locator("#tiles dt").allInnerTexts()).toEqual([...headings, "Last change"]);
    expect(await page.locator("#daily-head th").allInnerTexts()).toEqual([
      "Pickup day",
      ...headings,
      "Computed at (UTC)",
    ]);
    expect(headings).toContain("Total fare (USD)");
    await expect.poll(() => tileText(page, "pending"), { timeout: 15_000 }).toBe(String(report.pending));
    expect(await page.locator("#run").isVisible()).toBe(true);
    expect(await shownText(page, "#run-title")).toMatch(/^This run, all days/);
    expect(plain(await tileText(page, "anomalies"))).toBe(String(report.anomalies));

    // The table: one row per nightly day of the range with the time it was computed, the range's exact totals at the foot.
    await expect.poll(() => page.locator("#days tr th").count(), { timeout: 30_000 }).toBe(report.kpis.length);
    const rows = await rowsOf(page, "#days tr");
    expect(rows.map((row) => row.slice(0, -1))).toEqual(
      report.kpis.map((k) => [k.pickup_date, ...DASHBOARD_KPIS.map((kpi) => String(kpiValueOf(k, kpi.name) ?? "–"))]),
    );
    const computedAt = rows.map((row) => row.at(-1)!);
    for (const time of computedAt) expect(time).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    const totals = rangeTotals(report.kpis);
    expect(await rowsOf(page, "#totals tr")).toEqual([
      [`Whole range ${report.kpis.length} days`, ...DASHBOARD_KPIS.map((kpi) => String(totals[kpi.name] ?? "–"))],
    ]);
    expect(await shownText(page, "#errors")).toBe("");

    // The export: exactly the rows shown, with a header, money with two decimals.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export")]);
    const csv = await readFile((await download.path())!, "utf8");
    expect(csv).toBe(
      dailyCsv(
        report.kpis.map((k, i) => ({ ...k, computed_at: computedAt[i]! })),
        "USD",
      ),
    );
    expect(csv.split("\r\n")[0]).toBe(["Pickup day (UTC)", ...headings, "Computed at (UTC)"].join(","));
    expect(download.suggestedFilename()).toBe(`trip-kpis_${GENERATED.startDate}_${LAST_DAY}.csv`);

    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 1280);

    // The base address (no query): the latest day with data and a range that fits the data, said so.
    await expect.poll(() => following.inputValue("#date"), { timeout: 45_000 }).toBe(LAST_DAY);
    expect(await following.inputValue("#from")).toBe(GENERATED.startDate);
    expect(new URL(following.url()).search).toBe("");
    expect(await shownText(following, "#anchor-note")).toMatch(
      new RegExp(
        `^Today \\(\\d{4}-\\d{2}-\\d{2}\\) has no figures yet, so the view opens on and quick ranges end at ${LAST_DAY}, the latest day with data\\.$`,
      ),
    );
    await expect
      .poll(async () => plain(await tileText(following, "total_fare")), { timeout: 15_000 })
      .toBe(latest.total_fare);
    // Presets end on that day; choosing one writes the view into the address.
    await following.getByRole("button", { name: "Last 7 days" }).click();
    await expect.poll(() => following.url()).toBe(`${origin}/?date=${LAST_DAY}&from=2024-05-19&to=${LAST_DAY}`);
    await following.getByRole("button", { name: "Month to date" }).click();
    await expect.poll(() => following.url()).toBe(`${origin}/?date=${LAST_DAY}&from=2024-05-01&to=${LAST_DAY}`);
    await following.getByRole("button", { name: "Today" }).click();
    await expect.poll(() => following.url()).toBe(`${origin}/?date=${LAST_DAY}&from=${LAST_DAY}&to=${LAST_DAY}`);

    // A phone: no sideways scrolling, every figure of a day (Average, Max, Min included) on screen, no serious axe finding.
    await page.setViewportSize({ width: 390, height: 844 });
    await expect
      .poll(
        () => page.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth"),
        { timeout: 10_000 },
      )
      .toBe(0);
    for (const cell of await page.locator("#days tr").first().locator("td").all()) {
      const box = (await cell.boundingBox())!;
      expect(
        box.x >= 0 && box.x + box.width <= 390,
        `${await cell.getAttribute("data-label")} at x ${box.x}..${box.x + box.width}`,
      ).toBe(true);
    }
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 390);

    // A shared address reloads the same view; a range the API refuses is a message, not a blank.
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${origin}/?date=${LAST_DAY}&from=2024-01-01&to=2024-12-31`);
    await expect.poll(() => shownText(page, "#errors"), { timeout: 15_000 }).toMatch(/at most 93/);
    expect(await page.inputValue("#from")).toBe("2024-01-01");
    await page.goto(`${origin}/?date=2024-13-45`);
    await expect
      .poll(() => shownText(page, "#errors"), { timeout: 15_000 })
      .toMatch(/date=2024-13-45.*not a calendar date/);
    // Keyboard: the view form is reachable and submits with Enter; the address follows.
    await page.fill("#date", GENERATED.startDate);
    await page.press("#date", "Enter");
    await expect.poll(() => new URL(page.url()).searchParams.get("date"), { timeout: 5_000 }).toBe(GENERATED.startDate);
    expect(problems).toEqual([]);

    // Ctrl-C: the server stops and the run exits with its own code.
    process.kill(-child.pid!, "SIGINT");
    const code = await new Promise<number | null>((resolve) =>
      child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", resolve),
    );
    expect(code).toBe(0);
  }, 420_000);
});
