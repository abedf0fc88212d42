import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { UsageError } from "../lib/cli.js";
import { main } from "../gen-data.js";

const ROOT = join(__dirname, "../..");
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gen-data-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test("the defaults reproduce the committed data/ sample byte for byte", async () => {
  expect(await main(["--out", dir])).toBe(0);
  for (const name of ["trip_start.csv", "trip_end.csv"]) expect(await readFile(join(dir, name), "utf8")).toBe(await readFile(join(ROOT, "data", name), "utf8"));
});

test.each([
  [["--start-date", "2023-02-29"], /--start-date: start date "2023-02-29" is not a real YYYY-MM-DD date/],
  [["--trips=-1"], /--trips must be a whole number from 0, got "-1"/],
  [["--days", "two"], /--days must be a whole number from 1/],
  [["--trips"], /argument missing/],
])("rejects %j as a usage error", async (args, message) => {
  const running = main(["--out", dir, ...args]);
  await expect(running).rejects.toThrow(UsageError);
  await expect(running).rejects.toThrow(message);
});
