import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { main } from "../gen-data.js";
import { UsageError } from "../lib/cli.js";

const ROOT = join(__dirname, "../..");
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gen-data-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test("the defaults reproduce the committed data/ sample byte for byte", async () => {
  expect(await main(["--out", dir])).toBe(0);
  for (const name of ["trip_start.csv", "trip_end.csv"])
    expect(await readFile(join(dir, name), "utf8")).toBe(await readFile(join(ROOT, "data", name), "utf8"));
});

test.each([
  [["--start-date", "2023-02-29"], /--start-date: start date "2023-02-29" is not a real YYYY-MM-DD date/],
  [["--trips=-1"], /--trips must be a whole number from 0, got "-1"/],
  [["--days", "two"], /--days must be a whole number from 1/],
  [["--trips"], /--trips needs a value/],
])("rejects %j as a usage error", async (args, message) => {
  const running = main(["--out", dir, ...args]);
  await expect(running).rejects.toThrow(UsageError);
  await expect(running).rejects.toThrow(message);
});

test("refuses to overwrite files git tracks (the committed sample in data/), before writing anything", async () => {
  const before = await readFile(join(ROOT, "data", "trip_start.csv"), "utf8");
  await expect(main(["--out", join(ROOT, "data"), "--trips", "3"])).rejects.toThrow(
    /trip_end\.csv and trip_start\.csv are tracked by git and would be overwritten; give another --out \(default \.local\/data\)/,
  );
  expect(await readFile(join(ROOT, "data", "trip_start.csv"), "utf8")).toBe(before);
});

test("writes to .local/data below the working directory unless --out is given", async () => {
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    expect(await main(["--trips", "5"])).toBe(0);
  } finally {
    process.chdir(cwd);
  }
  expect((await readFile(join(dir, ".local", "data", "trip_start.csv"), "utf8")).split("\n")[0]).toMatch(/^trip_id,/);
});
