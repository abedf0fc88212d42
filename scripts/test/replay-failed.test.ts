import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { useLocalKinesis } from "../../packages/local/test/support/local-kinesis.js";
import { endA, seedTrail, streamRecords, wire } from "../../packages/local/test/support/replay-trail.js";
import { EXIT } from "../lib/exit-codes.js";
import { runCli, TSX } from "./support/run-cli.js";

const local = useLocalKinesis(2, "TripEvents");
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "replay-failed-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const run = (args: string[]) => runCli(TSX, ["scripts/replay-failed.ts", ...args], { LOG_LEVEL: "silent" });

describe("pnpm replay-failed", () => {
  test("--endpoint --trail-dir --kind end --json: one JSON summary, exit 0", async () => {
    await seedTrail(dir);
    const { code, stdout } = await run([
      "--endpoint",
      local.server.endpoint,
      "--stream",
      local.stream,
      "--trail-dir",
      join(dir, "bucket"),
      "--kind",
      "end",
      "--json",
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ end: { read: 1, valid: 1, sent: 1, failed: 0, invalid: 0, reasons: {} } });
    expect(await streamRecords(local)).toEqual([{ partitionKey: "trip-a", data: wire(endA, "end") }]);
  });

  test("--dry-run prints a table and warns about records still invalid; bad options: one line and the usage exit code", async () => {
    await seedTrail(dir);
    const dry = await run(["--trail-dir", join(dir, "bucket"), "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^kind\s+read\s+valid\s+sent\s+failed\s+invalid/);
    expect(dry.stdout).toMatch(/start\s+4\s+2\s+0\s+0\s+2\s+invalid_calendar_datetime=1 header_unknown=1/);
    expect(dry.stderr).toContain("warning: 2 records are still invalid");

    const bad = await run(["--stage", "prod", "--trail-dir", "x"]);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toMatch(/^error: with --stage .* \(see pnpm replay-failed --help\)\n$/);
  });
});
