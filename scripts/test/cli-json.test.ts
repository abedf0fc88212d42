/**
 * Every command's `--json` document has snake_case keys, as the KPI rows have: a walk over each
 * document the commands print here (those that need a deployed stage are covered by their
 * reports going through the same converter: see json-output.test.ts).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTripFiles } from "@trip-pipeline/local/generate";
import { afterAll, beforeAll, expect, test } from "vitest";
import { runCli } from "./support/run-cli.js";

/** Paths of keys that are not snake_case (an upper-case letter after a lower-case one). */
function camelCaseKeys(value: unknown, path = "$"): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => camelCaseKeys(item, `${path}[${i}]`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, item]) => [
    ...(/[a-z][A-Z]/.test(key) ? [`${path}.${key}`] : []),
    ...camelCaseKeys(item, `${path}.${key}`),
  ]);
}

let dir: string;
let files: { startFile: string; endFile: string };
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cli-json-"));
  files = await writeTripFiles({ trips: 200, days: 2, seed: 9, startDate: "2024-02-28", outDir: join(dir, "data") });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test("the walk finds camelCase keys at any depth", () => {
  expect(camelCaseKeys({ a_b: [{ ok: 1, liveKpiWrites: 2 }], nested: { toDlq: 0, "--END_DATE": "x" } })).toEqual([
    "$.a_b[0].liveKpiWrites",
    "$.nested.toDlq",
  ]);
});

test("pnpm start, kpis --local, ingest --dry-run and replay-failed --dry-run: --json keys are snake_case", async () => {
  const out = join(dir, "run");
  const documents: Record<string, unknown> = {};
  const json = async (name: string, args: string[]) => {
    const { code, stdout, stderr } = await runCli("pnpm", ["-s", ...args, "--json"], { LOG_LEVEL: "warn" });
    expect(code, stderr).toBe(0);
    documents[name] = JSON.parse(stdout);
  };
  await json("start", [
    "start",
    "--start-file",
    files.startFile,
    "--end-file",
    files.endFile,
    "--keep",
    "--out",
    out,
    "--redrive",
  ]);
  await json("kpis", ["kpis", "--local", "--out", out]);
  await json("ingest", ["ingest", "--start-file", files.startFile, "--end-file", files.endFile, "--dry-run"]);
  await json("replay-failed", ["replay-failed", "--trail-dir", join(out, "bucket"), "--dry-run"]);

  expect(documents.start).toMatchObject({
    live_kpi_writes: expect.any(Number),
    events_per_second: expect.any(Number),
    consumers: expect.arrayContaining([expect.objectContaining({ name: "tripBegin", to_dlq: 0 })]),
  });
  expect(
    Object.fromEntries(Object.entries(documents).map(([name, document]) => [name, camelCaseKeys(document)])),
  ).toEqual({ start: [], kpis: [], ingest: [], "replay-failed": [] });
}, 300_000);
