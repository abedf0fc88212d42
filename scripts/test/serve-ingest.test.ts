/**
 * `pnpm start --serve` prints a local Kinesis endpoint and the `pnpm ingest` command that sends
 * more trips into the served run; run as printed, the trips flow through the consumers into the
 * live KPIs the dashboard serves.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LiveResponse } from "@trip-pipeline/core/dashboard/api";
import { groundTruth, writeTripFiles } from "@trip-pipeline/local/generate";
import { afterAll, beforeAll, expect, test } from "vitest";
import { runCli, type ServedRun, serveRun } from "./support/run-cli.js";

const FIRST = { trips: 100, days: 1, seed: 11, startDate: "2024-05-25" };
const MORE = { trips: 60, days: 1, seed: 12, startDate: "2024-06-01" };

let dir: string;
let child: ChildProcess;
let served: ServedRun;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "serve-ingest-"));
});
afterAll(async () => {
  if (child?.pid && child.exitCode === null) process.kill(-child.pid, "SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

async function waitFor(pattern: RegExp, ms = 240_000): Promise<RegExpMatchArray> {
  for (
    const started = Date.now();
    Date.now() - started < ms;
    await new Promise((resolve) => setTimeout(resolve, 200))
  ) {
    const match = pattern.exec(served.stdout);
    if (match) return match;
    if (child.exitCode !== null) break;
  }
  throw new Error(`no ${pattern} in the output; exit ${child.exitCode}; stderr: ${served.stderr.slice(-2_000)}`);
}

test("the printed `pnpm ingest --endpoint` command sends trips into the served run", async () => {
  const first = await writeTripFiles({ ...FIRST, outDir: join(dir, "first") });
  const more = await writeTripFiles({ ...MORE, outDir: join(dir, "more") });
  served = serveRun(first, join(dir, "run"));
  child = served.child;

  const [, origin] = await waitFor(/^Dashboard: (http:\/\/127\.0\.0\.1:\d+)\/\S* \(serving until Ctrl-C\)$/m);
  const [, endpoint, command] = await waitFor(
    /^Kinesis: (http:\/\/127\.0\.0\.1:\d+) \(more trips while it serves: (pnpm ingest [^)]*)\)$/m,
  );
  expect(command).toMatch(
    new RegExp(`^pnpm ingest --endpoint ${endpoint} --trail-dir \\S+ --start-file F --end-file F$`),
  );

  const args = command!
    .split(" ")
    .slice(2)
    .map((word, i, words) => (word === "F" ? (words[i - 1] === "--start-file" ? more.startFile : more.endFile) : word));
  const ingest = await runCli("pnpm", ["-s", "ingest", ...args, "--json"], { LOG_LEVEL: "warn" });
  const truth = groundTruth(MORE);
  expect(ingest.code, ingest.stderr).toBe(0);
  expect(JSON.parse(ingest.stdout).start.sent).toBe(truth.files.start.valid);

  // The served run's consumers take them: the day's live KPIs reach the day's completed trips.
  const expected = truth.kpis.find((kpi) => kpi.pickup_date === MORE.startDate)!;
  let live: LiveResponse["kpi"] = null;
  for (
    const started = Date.now();
    Date.now() - started < 90_000;
    await new Promise((resolve) => setTimeout(resolve, 500))
  ) {
    live = ((await (await fetch(`${origin}/api/kpis/live?date=${MORE.startDate}`)).json()) as LiveResponse).kpi;
    if (live && "trip_count" in live && live.trip_count === expected.trip_count && !live.settling) break;
  }
  expect(live).toMatchObject({
    pickup_date: MORE.startDate,
    trip_count: expected.trip_count,
    total_fare: expected.total_fare,
  });
}, 360_000);
