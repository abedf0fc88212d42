/**
 * What a person sees of `pnpm start`: on a terminal (a pseudo-terminal from util-linux
 * `script`) one progress line redrawn in place, then the summary; without one, no progress
 * line; never raw JSON log lines: they go to <out>/logs/<function>.jsonl, which the summary
 * names with each function's warning count (one warning per anomaly); --verbose streams them
 * pretty-printed to stderr.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { groundTruth, writeTripFiles } from "@trip-pipeline/local/generate";
import { afterAll, beforeAll, expect, test } from "vitest";
import { runCli } from "./support/run-cli.js";

const GENERATED = { trips: 300, days: 1, seed: 3, startDate: "2024-02-28" };
let dir: string;
let args: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "start-terminal-"));
  const files = await writeTripFiles({ ...GENERATED, outDir: join(dir, "data") });
  args = ["-s", "start", "--start-file", files.startFile, "--end-file", files.endFile, "--out", join(dir, "run")];
});
afterAll(() => rm(dir, { recursive: true, force: true }));

// The level a user gets (the test runner silences logs for everything else).
const ENV = { LOG_LEVEL: "info" };
const JSON_LOG_LINE = /^\{"level"/m;

test("on a terminal: one progress line, then the summary naming each function's log file and warnings", async () => {
  // A terminal wide enough for the whole progress line (a narrower one cuts its end).
  const shell = `stty cols 250; ${["pnpm", ...args].map((arg) => `'${arg}'`).join(" ")}`;
  // script gives the command a pseudo-terminal and copies everything it shows to our stdout.
  const { code, stdout } = await runCli("script", ["-qefc", shell, "/dev/null"], ENV);
  expect(code, stdout).toBe(0);
  expect(stdout).not.toMatch(JSON_LOG_LINE);
  // The one-time build notes (first run after a change) are not part of the progress line.
  const [progress, summary] = stdout
    .replace(/[^\n]*building (commands|functions) \(first run[^\n]*\n/g, "")
    .split("Daily KPIs");
  // Redrawn in place (carriage returns, no new lines) with every consumer's deliveries.
  expect(progress).toMatch(/\r/);
  expect(progress!.trim().split("\n")).toHaveLength(1);
  expect(progress).toMatch(
    /RSS [1-9][\d,]* MB, heap after GC [\d,]+ MB \| rows ingested [\d,]+ \| delivered tripBegin [\d,]+ tripFinish [\d,]+ matcher [\d,]+ kpiAggregator [\d,]+ \| pending trips [\d,]+/,
  );

  const anomalies = groundTruth(GENERATED).trips.anomalies;
  expect(anomalies).toBeGreaterThan(0);
  const matcherLog = join(dir, "run", "logs", "matcher.jsonl");
  expect(summary).toMatch(new RegExp(`matcher\\s+${anomalies}\\s+\\S*run/logs/matcher\\.jsonl`));
  const lines = (await readFile(matcherLog, "utf8"))
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { level: string; msg: string });
  expect(lines.filter((line) => line.msg.startsWith("anomaly trailed"))).toHaveLength(anomalies);
  expect(lines.some((line) => line.level === "info")).toBe(true);
}, 240_000);

test("without a terminal: no progress line and no JSON; --verbose streams the logs pretty-printed to stderr", async () => {
  const plain = await runCli("pnpm", args, ENV);
  expect(plain.code, plain.stderr).toBe(0);
  expect(plain.stdout + plain.stderr).not.toMatch(/rows ingested|\r/);
  expect(plain.stdout + plain.stderr).not.toMatch(JSON_LOG_LINE);
  expect(plain.stdout).toMatch(/^Daily KPIs/);
  // Without --keep the bucket folder is gone when the summary is printed: no path to it is listed.
  expect(plain.stdout).toContain(
    "Outputs: none kept (the bucket folder is removed after the run: add --keep to inspect it)\n",
  );
  expect(plain.stdout).not.toContain("run/bucket");
  // Counts grouped by thousands, right-aligned under their header.
  expect(plain.stdout).toMatch(/^start +[\d,]+ +[\d,]+ /m);

  const verbose = await runCli("pnpm", [...args, "--verbose"], ENV);
  expect(verbose.code, verbose.stderr).toBe(0);
  expect(verbose.stderr).not.toMatch(JSON_LOG_LINE);
  expect(verbose.stderr).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN {2}matcher {2}anomaly trailed; [^\n]* {2}.*trip_id=/m);
  expect(verbose.stderr).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}tripBegin {2}batch processed/m);
}, 240_000);
