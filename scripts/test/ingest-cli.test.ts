import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKinesisClient } from "@trip-pipeline/core/platform/aws-clients";
import { END_COLUMNS, groundTruth, START_COLUMNS, writeTripFiles } from "@trip-pipeline/local/generate";
import { createTripStream, startLocalKinesis } from "@trip-pipeline/local/kinesis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { EXIT } from "../lib/exit-codes.js";
import { runCli, TSX } from "./support/run-cli.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ingest-cli-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const run = (command: string, args: string[]) => runCli(command, args, { LOG_LEVEL: "info" });
const ingest = (...args: string[]) => run(TSX, ["scripts/ingest.ts", ...args]);

async function csvPair(name: string, start: string[], end: string[], endHeader = END_COLUMNS.join(",")) {
  const startFile = join(dir, `${name}-start.csv`);
  const endFile = join(dir, `${name}-end.csv`);
  await writeFile(startFile, [START_COLUMNS.join(","), ...start].join("\n"));
  await writeFile(endFile, [endHeader, ...end].join("\n"));
  return ["--start-file", startFile, "--end-file", endFile];
}

describe("pnpm ingest", () => {
  test("`pnpm -s ingest ... --dry-run --json` prints exactly one JSON document on stdout, logs and warnings on stderr", async () => {
    const options = { trips: 300, days: 1, seed: 5, startDate: "2024-05-25" };
    const paths = await writeTripFiles({ ...options, outDir: join(dir, "gen") });
    const truth = groundTruth(options);
    const { code, stdout, stderr } = await run("pnpm", [
      "-s",
      "ingest",
      "--start-file",
      paths.startFile,
      "--end-file",
      paths.endFile,
      "--dry-run",
      "--json",
    ]);

    expect(code).toBe(0);
    expect(stdout.endsWith("}\n")).toBe(true);
    const document = JSON.parse(stdout);
    const expected = (kind: "start" | "end") => {
      const f = truth.files[kind];
      return { read: f.rows, valid: f.valid, rejected: f.rejected, sent: 0, failed: 0, reasons: f.reasons };
    };
    expect(document).toEqual({ start: expected("start"), end: expected("end") });
    expect(Object.keys(document.start)).toEqual(["read", "valid", "rejected", "sent", "failed", "reasons"]);
    // Not a terminal: pino's JSON lines, for machines.
    expect(stderr).toContain('"msg":"dry run finished"');
    expect(stderr).toContain(
      `warning: ${truth.files.start.rejected + truth.files.end.rejected} rows would be rejected`,
    );
  });

  test("into a local endpoint: rows sent, bad and oversized rows trailed in --trail-dir, exit 2 because a row failed delivery", async () => {
    const server = await startLocalKinesis();
    const kinesis = createKinesisClient({ endpoint: server.endpoint });
    try {
      await createTripStream(kinesis, 1, "cli-stream");
      const args = await csvPair(
        "local",
        [
          "ok,93,93,1,2024-05-25 10:00:00,,10.5",
          "bad,93,93,1,2024-05-25 10:00:00,,ten",
          `huge,93,93,1,2024-05-25 10:00:00,,1.${"0".repeat(1_100_000)}`,
        ],
        ["2024-05-25 10:30:00,,,1.0,12,0.0,,,ok"],
      );
      const trailDir = join(dir, "bucket");
      const { code, stdout, stderr } = await ingest(
        ...args,
        "--endpoint",
        server.endpoint,
        "--stream",
        "cli-stream",
        "--trail-dir",
        trailDir,
        "--json",
      );

      expect(code).toBe(2);
      expect(JSON.parse(stdout)).toEqual({
        start: {
          read: 3,
          valid: 2,
          rejected: 1,
          sent: 1,
          failed: 1,
          reasons: { invalid_fare: 1, record_too_large: 1 },
        },
        end: { read: 1, valid: 1, rejected: 0, sent: 1, failed: 0, reasons: {} },
      });
      expect(stderr).toContain(`warning: 1 rows rejected (start 1, end 0) (failed/start/, failed/end/ in ${trailDir})`);
      expect(stderr).toContain("error: 1 valid rows failed delivery (start 1, end 0)");
      const [day] = await readdir(join(trailDir, "failed/start"));
      expect((await readdir(join(trailDir, "failed/start", day!))).sort()).toEqual([
        "local-start.csv-delivery-rows-3-3.jsonl",
        "local-start.csv-rows-2-2.jsonl",
      ]);
    } finally {
      kinesis.destroy();
      await server.close();
    }
  });

  test("on a terminal: log lines are readable one-liners, never JSON", async () => {
    const options = { trips: 50, days: 1, seed: 5, startDate: "2024-05-25" };
    const paths = await writeTripFiles({ ...options, outDir: join(dir, "terminal") });
    const shell = ["pnpm", "-s", "ingest", "--start-file", paths.startFile, "--end-file", paths.endFile, "--dry-run"]
      .map((arg) => `'${arg}'`)
      .join(" ");
    // script gives the command a pseudo-terminal and copies everything it shows to our stdout.
    const { code, stdout } = await run("script", ["-qefc", shell, "/dev/null"]);
    expect(code, stdout).toBe(0);
    expect(stdout).not.toMatch(/^\{"level"/m);
    expect(stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}ingest {2}dry run finished/m);
  });

  test("a human-readable table without --json; exit 0 with rejected rows", async () => {
    const args = await csvPair("table", ["a,93,93,1,2024-05-25 10:00:00,,10", "b,93,93,1,2024-13-01 10:00:00,,10"], []);
    const { code, stdout, stderr } = await ingest(...args, "--dry-run");
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        "file   read  valid  rejected  sent  failed  reasons",
        "start     2      1         1     0       0  invalid_calendar_datetime=1",
        "end       0      0         0     0       0  -",
        "",
      ].join("\n"),
    );
    expect(stderr).toContain("warning: 1 rows would be rejected (start 1, end 0)\n");
    // Not a terminal: no progress bar.
    expect(stderr).not.toContain("rows/s");
  });

  test("a missing required column: exit 1, one line naming the column and the file, nothing on stdout", async () => {
    const args = await csvPair(
      "missing",
      ["a,93,93,1,2024-05-25 10:00:00,,10"],
      [],
      END_COLUMNS.filter((c) => c !== "dropoff_datetime").join(","),
    );
    const { code, stdout, stderr } = await ingest(...args, "--dry-run", "--json");
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe(`error: ${args[3]}: missing required column dropoff_datetime\n`);
  });

  test.each([
    [[], "--start-file and --end-file are required"],
    [["--start-file", "a", "--end-file", "b"], "give --stage S or --endpoint URL (or --dry-run)"],
    [
      ["--start-file", "a", "--end-file", "b", "--stage", "dev", "--endpoint", "http://x"],
      "with --stage the stream and the bucket come from the stack outputs",
    ],
    [
      ["--start-file", "a", "--end-file", "b", "--stage", "dev", "--trail-dir", "x"],
      "with --stage the stream and the bucket come from the stack outputs",
    ],
    [
      ["--start-file", "a", "--end-file", "b", "--dry-run", "--concurrency", "0"],
      '--concurrency must be a whole number from 1, got "0"',
    ],
    [["--start-file", "a", "--end-file", "b", "--bogus"], "unknown option --bogus"],
    [["--start-file"], "--start-file needs a value"],
  ])("usage error %j: one line with the reason and where the help is, the usage exit code", async (args, message) => {
    const { code, stdout, stderr } = await ingest(...args);
    expect(code).toBe(EXIT.usage);
    expect(stdout).toBe("");
    expect(stderr.split("\n")[0]).toContain(message);
    expect(stderr).toMatch(/^error: [^\n]+ \(see pnpm ingest --help\)\n$/);
  });
});
