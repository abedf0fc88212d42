/**
 * The dashboard as a person sees it: `pnpm start --serve` on generated data, the page opened in
 * headless Chromium (Debian's /usr/bin/chromium, or CHROMIUM_PATH; never a downloaded browser)
 * while the run ingests. The tiles must end on the run's final KPIs, equal to its `--json`
 * report, the table on the nightly rows, and the view must come from the address.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { KPI_COLUMNS, KPI_DISPLAY } from "@trip-pipeline/core/kpi-registry";
import { writeTripFiles } from "@trip-pipeline/local/generate";
import type { RunReport } from "../start.js";
import { ROOT } from "./support/run-cli.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOT = join(ROOT, ".local", "test-artifacts", "dashboard.png");
const GENERATED = { trips: 400, days: 3, seed: 7, startDate: "2024-05-23" };
const LAST_DAY = "2024-05-25";

let dir: string;
let child: ChildProcess;
let stdout = "";
let stderr = "";
let browser: Browser;

/** Resolves with the first match of `pattern` in the accumulated text of `stream`. */
function waitFor(stream: () => string, pattern: RegExp, what: string, ms = 240_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      const match = pattern.exec(stream());
      if (match) return clearInterval(poll), resolve(match);
      if (child.exitCode !== null || Date.now() - started > ms) clearInterval(poll), reject(new Error(`no ${what}; exit ${child.exitCode}; stderr: ${stderr.slice(-2000)}`));
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

const tileText = (page: Page, id: string) => page.locator(`#tile-${id}`).innerText();
const plain = (text: string) => text.replace(/,/g, "");

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`).toBe(true);
  dir = await mkdtemp(join(tmpdir(), "dashboard-"));
  const files = await writeTripFiles({ ...GENERATED, outDir: join(dir, "data") });
  child = spawn("pnpm", ["-s", "start", "--start-file", files.startFile, "--end-file", files.endFile, "--json", "--serve", "--port", "0", "--out", join(dir, "run")], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "warn" },
    detached: true,
  });
  child.stdout!.on("data", (chunk) => (stdout += chunk));
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (child?.pid && child.exitCode === null) process.kill(-child.pid, "SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

describe("pnpm start --serve, in Chromium", () => {
  test(
    "the tiles move while the run ingests and end on the run's --json KPIs; the table shows the nightly rows; Ctrl-C stops it",
    async () => {
      const [, origin] = await waitFor(() => stderr, /Dashboard: (http:\/\/127\.0\.0\.1:\d+)\/ \(figures update/, "dashboard address");
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems: string[] = [];
      page.on("pageerror", (error) => problems.push(error.message));
      await openWhenBuilt(page, `${origin}/?date=${LAST_DAY}&from=${GENERATED.startDate}&to=${LAST_DAY}`);

      // The run ends: its report on stdout, then the address of its latest day.
      await waitFor(() => stdout, /\}\n$/, "JSON report");
      const report = JSON.parse(stdout) as RunReport;
      const [, shown] = await waitFor(() => stderr, /Dashboard: (\S+) \(serving until Ctrl-C\)/, "final address");
      const latest = report.kpis.at(-1)!;
      expect(latest.pickup_date).toBe(LAST_DAY);
      expect(shown).toBe(`${origin}/?date=${LAST_DAY}&from=2024-04-26&to=${LAST_DAY}`);

      // Refreshing every few seconds, the open page reaches the final figures by itself.
      await expect
        .poll(async () => [plain(await tileText(page, "total_fare")), plain(await tileText(page, "trip_count"))], { timeout: 30_000, interval: 250 })
        .toEqual([latest.total_fare, String(latest.trip_count)]);
      // A tile per KPI of the registry: the live ones show the run's figures, a nightly-only one says so.
      for (const { name, live } of KPI_DISPLAY) expect(plain(await tileText(page, name)), name).toBe(live ? String(latest[name]) : "nightly only");
      expect(await tileText(page, "freshness")).toMatch(/^updated \d+ (s|min) ago$/);
      await expect.poll(() => tileText(page, "pending"), { timeout: 15_000 }).toBe(String(report.pending));
      expect(await page.locator("#tile-pending-box").isVisible()).toBe(true);
      expect(plain(await tileText(page, "anomalies"))).toBe(String(report.anomalies));

      // The table: one row per nightly day of the range, the same figures as the report.
      await expect.poll(() => page.locator("#days tr th").count(), { timeout: 30_000 }).toBe(report.kpis.length);
      const rows = await page.locator("#days tr").evaluateAll((trs) => trs.map((tr) => [...tr.children].map((cell) => (cell.textContent ?? "").replace(/,/g, ""))));
      expect(rows).toEqual(report.kpis.map((k) => KPI_COLUMNS.map((column) => String(k[column]))));
      expect(await page.locator("#errors").innerText()).toBe("");
      await mkdir(join(ROOT, ".local", "test-artifacts"), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });

      // A shared address reloads the same view; a range the API refuses is a message, not a blank.
      await page.goto(`${origin}/?date=${LAST_DAY}&from=2024-01-01&to=2024-12-31`);
      await expect.poll(() => page.locator("#errors").innerText(), { timeout: 15_000 }).toMatch(/at most 93/);
      expect(await page.inputValue("#from")).toBe("2024-01-01");
      await page.goto(`${origin}/?date=2024-13-45`);
      await expect.poll(() => page.locator("#errors").innerText(), { timeout: 15_000 }).toMatch(/date=2024-13-45.*not a calendar date/);
      // Keyboard: the view form is reachable and submits with Enter; the address follows.
      await page.fill("#date", GENERATED.startDate);
      await page.press("#date", "Enter");
      await expect.poll(() => new URL(page.url()).searchParams.get("date"), { timeout: 5_000 }).toBe(GENERATED.startDate);
      expect(problems).toEqual([]);

      // Ctrl-C: the server stops and the run exits with its own code.
      process.kill(-child.pid!, "SIGINT");
      const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", resolve)));
      expect(code).toBe(0);
    },
    420_000,
  );
});
