import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  GetJobCommand,
  GetJobRunCommand,
  GetJobRunsCommand,
  GlueClient,
  StartJobRunCommand,
} from "@aws-sdk/client-glue";
import type { DailyKpi } from "@trip-pipeline/core/kpi/daily-kpis";
import { KPI_FIELDS } from "@trip-pipeline/core/kpi/registry";
import { kpiLine, metricsKey } from "@trip-pipeline/core/nightly/kpi-rows-layout";
import { FolderBlobStore } from "@trip-pipeline/core/store/blob-store";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from "vitest";
import { dayRanges, type KpisReport, main } from "../kpis.js";
import { EXIT } from "../lib/exit-codes.js";
import type { SnakeCased } from "../lib/json-output.js";
import { runCli, TSX } from "./support/run-cli.js";

const JOB = "prod-trip-pipeline-GenerateTripMetrics";
const glueMock = mockClient(GlueClient);
/** A row with every registered field (a count 1, a decimal 1.00), these figures over them. */
const kpi = (pickup_date: string): DailyKpi => ({
  pickup_date,
  ...Object.fromEntries(KPI_FIELDS.map((field) => [field.name, field.type === "count" ? 1 : "1.00"])),
  total_fare: "1234.50",
  trip_count: 10,
  average_fare: "123.45",
  max_fare: "200.00",
  min_fare: "3.10",
  total_tip: "1.00",
  total_distance: "2.50",
  average_duration_minutes: "12.25",
  median_fare: "100.10",
});

let dir: string;
let bucket: FolderBlobStore;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kpis-cli-"));
  // What `pnpm start --keep --out DIR` leaves: DIR/bucket/metrics/...
  bucket = new FolderBlobStore(join(dir, "run", "bucket"));
  for (const day of ["2024-05-25", "2024-05-26", "2024-05-28"])
    await bucket.put(metricsKey(day), `${kpiLine(kpi(day))}\n`);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("pnpm kpis --local (a user's shell)", () => {
  test("`pnpm -s kpis --local --json` prints exactly one JSON document: every day the run holds, and the days between without rows", async () => {
    const { code, stdout } = await runCli("pnpm", ["-s", "kpis", "--local", "--out", join(dir, "run"), "--json"]);
    expect(code).toBe(0);
    expect(stdout.endsWith("}\n")).toBe(true);
    const report = JSON.parse(stdout) as SnakeCased<KpisReport>;
    expect(report).toMatchObject({
      backfill: null,
      from: "2024-05-25",
      to: "2024-05-28",
      missing_days: ["2024-05-27"],
      invalid: [],
    });
    expect(report.kpis).toEqual(["2024-05-25", "2024-05-26", "2024-05-28"].map(kpi));
  });

  test("a table without --json; exit 1 with one line when there is no pnpm start output, or for a usage error", async () => {
    const table = await runCli(TSX, [
      "scripts/kpis.ts",
      "--local",
      "--out",
      join(dir, "run"),
      "--from",
      "2024-05-26",
      "--to",
      "2024-05-27",
    ]);
    expect(table.code).toBe(0);
    // Numbers right-aligned, thousands grouped, a column per registered KPI.
    expect(table.stdout).toMatch(
      /^pickup_date +total_fare +trip_count +average_fare +max_fare +min_fare +total_tip +total_distance +average_duration_minutes +median_fare$/m,
    );
    expect(table.stdout).toMatch(
      /^2024-05-26 +1,234\.50 +10 +123\.45 +200\.00 +3\.10 +1\.00 +2\.50 +12\.25 +100\.10$/m,
    );
    expect(table.stdout).toContain("Days without KPI rows (no completed trips, or not computed yet): 2024-05-27");

    const missing = await runCli(TSX, ["scripts/kpis.ts", "--local", "--out", join(dir, "nothing")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `error: no pnpm start output in ${join(dir, "nothing")}: run \`pnpm start --keep\` first (or give its --out folder)\n`,
    );

    const usage = await runCli(TSX, [
      "scripts/kpis.ts",
      "--stage",
      "prod",
      "--from",
      "2024-05-01",
      "--to",
      "2024-04-30",
    ]);
    expect(usage.code).toBe(EXIT.usage);
    expect(usage.stderr).toBe("error: --to 2024-04-30 is before --from 2024-05-01 (see pnpm kpis --help)\n");
  });
});

describe("pnpm kpis --stage (Glue mocked, the bucket a real folder)", () => {
  let stdout: string;
  let stderr: string;
  const glue = new GlueClient({ region: "eu-north-1" });
  let closed = 0;
  const dependencies = {
    connect: async (stage: string) => {
      expect(stage).toBe("prod");
      return {
        glue,
        jobName: JOB,
        store: bucket,
        location: "s3://prod-bucket/metrics/",
        close: () => {
          closed += 1;
        },
      };
    },
    sleep: async () => {},
  };
  const kpis = async (...args: string[]) => {
    const code = await main(args, dependencies);
    return { code, stdout, stderr };
  };

  beforeEach(() => {
    glueMock.reset();
    stdout = "";
    stderr = "";
    closed = 0;
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      stdout += String(chunk);
      return true;
    });
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      stderr += String(chunk);
      return true;
    });
    glueMock.on(GetJobCommand).resolves({
      Job: {
        Name: JOB,
        ExecutionProperty: { MaxConcurrentRuns: 1 },
        MaxRetries: 0,
        DefaultArguments: { "--DAYS_WINDOW": "3" },
      },
    });
    glueMock.on(GetJobRunsCommand).resolves({ JobRuns: [] });
  });
  afterEach(() => vi.restoreAllMocks());

  test("--wait --json: runs with the exact window arguments, polled to SUCCEEDED, then the rows read back; one document, exit 0", async () => {
    glueMock.on(StartJobRunCommand).resolvesOnce({ JobRunId: "jr_1" }).resolvesOnce({ JobRunId: "jr_2" });
    glueMock.on(GetJobRunCommand).resolves({ JobRun: { JobRunState: "SUCCEEDED", ExecutionTime: 95 } });
    const { code } = await kpis("--stage", "prod", "--from", "2024-04-26", "--to", "2024-05-27", "--wait", "--json");

    expect(code).toBe(0);
    expect(stdout.split("\n")).toHaveLength(2);
    const report = JSON.parse(stdout) as SnakeCased<KpisReport>;
    expect(glueMock.commandCalls(StartJobRunCommand).map((call) => call.args[0].input)).toEqual([
      { JobName: JOB, Arguments: { "--END_DATE": "2024-05-26", "--DAYS_WINDOW": "31" } },
      { JobName: JOB, Arguments: { "--END_DATE": "2024-05-27", "--DAYS_WINDOW": "1" } },
    ]);
    expect(report.backfill).toMatchObject({
      outcome: "succeeded",
      job_name: JOB,
      windows: [
        { run_id: "jr_1", state: "SUCCEEDED" },
        { run_id: "jr_2", state: "SUCCEEDED" },
      ],
    });
    expect(report.kpis.map((row) => row.pickup_date)).toEqual(["2024-05-25", "2024-05-26"]);
    expect(report.missing_days).toHaveLength(30);
    expect(report.source).toBe("s3://prod-bucket/metrics/");
    expect(stderr).toBe("");
    expect(closed).toBe(1);
  });

  test("a failed run: Glue's error message on stderr and in the runs table, exit 2", async () => {
    glueMock.on(StartJobRunCommand).resolves({ JobRunId: "jr_9" });
    glueMock.on(GetJobRunCommand).resolves({
      JobRun: {
        JobRunState: "FAILED",
        ErrorMessage: "AccessDeniedException: not authorized to perform dynamodb:Query",
        ExecutionTime: 61,
      },
    });
    const { code } = await kpis("--stage", "prod", "--from", "2024-05-25", "--to", "2024-05-25", "--wait");

    expect(code).toBe(2);
    expect(stderr).toContain(
      "error: 2024-05-25..2024-05-25: run jr_9 FAILED: AccessDeniedException: not authorized to perform dynamodb:Query\n",
    );
    expect(stderr).toContain(`error: 1 of 1 ${JOB} runs did not succeed`);
    expect(stdout).toContain(
      "2024-05-25  2024-05-25     1  FAILED  jr_9       61  AccessDeniedException: not authorized to perform dynamodb:Query",
    );
    expect(stdout).toMatch(/^2024-05-25 +1,234\.50 +10 /m);
  });

  test("an active run over some of the days: reported, nothing started, exit 2", async () => {
    glueMock.on(GetJobRunsCommand).resolves({
      JobRuns: [
        {
          Id: "jr_nightly",
          JobRunState: "RUNNING",
          StartedOn: new Date("2024-05-27T01:00:03Z"),
          Arguments: { "--END_DATE": "2024-05-26", "--DAYS_WINDOW": "3" },
        },
      ],
    });
    const { code } = await kpis("--stage", "prod", "--from", "2024-05-01", "--to", "2024-05-25", "--json");

    expect(code).toBe(2);
    expect(glueMock.commandCalls(StartJobRunCommand)).toHaveLength(0);
    expect(JSON.parse(stdout).backfill).toMatchObject({
      outcome: "refused",
      blocked_by: [{ run_id: "jr_nightly", window: { from: "2024-05-24", to: "2024-05-26" } }],
    });
    expect(stderr).toContain(`error: ${JOB} is already recomputing some of these days; nothing was started`);
    expect(stderr).toContain("  run jr_nightly RUNNING since 2024-05-27 01:00:03, days 2024-05-24..2024-05-26\n");
  });

  test("without --wait: the runs are started and the command says the rows predate them, exit 0", async () => {
    glueMock.on(GetJobCommand).resolves({ Job: { ExecutionProperty: { MaxConcurrentRuns: 3 } } });
    glueMock.on(StartJobRunCommand).resolves({ JobRunId: "jr_1" });
    const { code } = await kpis("--stage", "prod", "--from", "2024-05-25", "--to", "2024-05-26");
    expect(code).toBe(0);
    expect(glueMock.commandCalls(GetJobRunCommand)).toHaveLength(0);
    expect(stderr).toContain(`warning: 1 ${JOB} runs started and not waited for`);
  });

  test("--read-only starts nothing, names the days without rows; an unreadable line is a warning and exit 2", async () => {
    const ok = await kpis("--stage", "prod", "--from", "2024-05-24", "--to", "2024-05-28", "--read-only");
    expect(ok.code).toBe(0);
    expect(glueMock.calls()).toHaveLength(0);
    expect(ok.stdout).toContain(
      "Days without KPI rows (no completed trips, or not computed yet): 2024-05-24, 2024-05-27\n",
    );

    await bucket.put(metricsKey("2024-05-27"), '{"pickup_date":"2024-05-27","total_fare":1e3}\n');
    try {
      stdout = "";
      const bad = await kpis("--stage", "prod", "--from", "2024-05-27", "--to", "2024-05-27", "--read-only", "--json");
      expect(bad.code).toBe(2);
      expect(JSON.parse(stdout).invalid).toEqual([
        {
          key: metricsKey("2024-05-27"),
          line: 1,
          reason: "invalid_kpi_row",
          message: "total_fare: must be a non-negative number with at most 2 decimals",
        },
      ]);
      expect(stderr).toContain(`warning: ${metricsKey("2024-05-27")} line 1 left out (invalid_kpi_row)`);
    } finally {
      await bucket.delete(metricsKey("2024-05-27"));
    }
  });
});

test("missing days are folded into ranges", () => {
  expect(dayRanges(["2024-02-28", "2024-02-29", "2024-03-01", "2024-03-03", "2024-12-31", "2025-01-01"])).toBe(
    "2024-02-28..2024-03-01, 2024-03-03, 2024-12-31..2025-01-01",
  );
});
