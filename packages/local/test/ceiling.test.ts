import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { measureCeiling } from "../src/ceiling.js";
import { writeTripFiles } from "../src/generate/write.js";

let work: string;
let files: { startFile: string; endFile: string };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "ceiling-test-"));
  files = await writeTripFiles({ trips: 60, days: 1, seed: 3, startDate: "2024-02-28", outDir: join(work, "data") });
});
afterAll(() => rm(work, { recursive: true, force: true }));

// The scale benchmark compares a run on disk with this ceiling on disk: both must be on the same emulators.
test.each(["http", "in-process"] as const)(
  "the ceiling (%s) keeps its table and stream on disk when given a folder, and makes the same calls",
  async (dynamodb) => {
    const storageDir = join(work, `storage-${dynamodb}`);
    const [inMemory, onDisk] = [
      await measureCeiling(files.startFile, files.endFile, { dynamodb }),
      await measureCeiling(files.startFile, files.endFile, { dynamodb, storageDir }),
    ];
    expect(onDisk.events).toBeGreaterThan(100);
    expect([onDisk.events, onDisk.trips]).toEqual([inMemory.events, inMemory.trips]);
    // LevelDB's own files: the emulators wrote there, not to memory.
    for (const folder of ["table", "stream"]) expect(existsSync(join(storageDir, folder, "CURRENT"))).toBe(true);
  },
);
