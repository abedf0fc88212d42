import { expect, test } from "vitest";
import { createProgressBar, formatProgress } from "../lib/progress.js";

test("shows percent by bytes, rows, rows/s and the time left", () => {
  expect(formatProgress({ rows: 50_000, bytesRead: 250, totalBytes: 1000 }, 10_000)).toBe(
    "[######------------------] 25.0% 50,000 rows 5,000 rows/s ETA 0:30",
  );
  expect(formatProgress({ rows: 0, bytesRead: 0, totalBytes: 1000 }, 0)).toBe(
    "[------------------------] 0.0% 0 rows 0 rows/s ETA --:--",
  );
});

test("draws at most every 100 ms on a terminal, and nothing when disabled", () => {
  const written: string[] = [];
  const out = { write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
  let time = 0;
  const bar = createProgressBar(out, true, () => time);
  bar.update({ rows: 1, bytesRead: 1, totalBytes: 10 });
  time = 50;
  bar.update({ rows: 2, bytesRead: 2, totalBytes: 10 });
  time = 150;
  bar.update({ rows: 3, bytesRead: 3, totalBytes: 10 });
  bar.done();
  expect(written).toHaveLength(3);
  expect(written[1]).toContain("30.0% 3 rows");
  expect(written[2]).toBe("\x1b[2K\r");

  const quiet: string[] = [];
  const off = createProgressBar({ write: (text: string) => quiet.push(text) } as unknown as NodeJS.WriteStream, false);
  off.update({ rows: 1, bytesRead: 1, totalBytes: 1 });
  off.done();
  expect(quiet).toEqual([]);
});
