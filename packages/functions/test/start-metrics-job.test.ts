import {
  ConcurrentRunsExceededException,
  GetJobRunsCommand,
  GlueClient,
  StartJobRunCommand,
} from "@aws-sdk/client-glue";
import { createLogger } from "@trip-pipeline/core/platform/logger";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, test } from "vitest";
import { settingsFromEnvironment, startMetricsJob, windowEndDate } from "../src/start-metrics-job.js";

const glueMock = mockClient(GlueClient);
const glue = new GlueClient({ region: "eu-north-1" });
const logger = createLogger("test");
const settings = { jobName: "prod-trip-pipeline-GenerateTripMetrics", daysWindow: 3 };
const at0100 = new Date("2024-03-01T01:00:00Z");

beforeEach(() => glueMock.reset());

describe("startMetricsJob", () => {
  test("starts the job for the window ending yesterday (UTC)", async () => {
    glueMock.on(GetJobRunsCommand).resolves({
      JobRuns: [
        { Id: "old", JobRunState: "SUCCEEDED", Arguments: { "--END_DATE": "2024-02-28", "--DAYS_WINDOW": "3" } },
      ],
    });
    glueMock.on(StartJobRunCommand).resolves({ JobRunId: "jr_1" });
    const outcome = await startMetricsJob(glue, settings, at0100, logger);
    expect(outcome).toEqual({ started: true, runId: "jr_1", endDate: "2024-02-29" });
    expect(glueMock.commandCalls(StartJobRunCommand)[0]!.args[0].input).toEqual({
      JobName: settings.jobName,
      Arguments: { "--END_DATE": "2024-02-29", "--DAYS_WINDOW": "3" },
    });
  });

  test("skips when a run for the same window is active", async () => {
    glueMock.on(GetJobRunsCommand).resolves({
      JobRuns: [
        { Id: "jr_running", JobRunState: "RUNNING", Arguments: { "--END_DATE": "2024-02-29", "--DAYS_WINDOW": "3" } },
      ],
    });
    const outcome = await startMetricsJob(glue, settings, at0100, logger);
    expect(outcome).toEqual({ started: false, reason: "already_running", runId: "jr_running", endDate: "2024-02-29" });
    expect(glueMock.commandCalls(StartJobRunCommand)).toHaveLength(0);
  });

  test("starts when the active run is for another window", async () => {
    glueMock.on(GetJobRunsCommand).resolves({
      JobRuns: [
        {
          Id: "jr_backfill",
          JobRunState: "RUNNING",
          Arguments: { "--END_DATE": "2024-01-31", "--DAYS_WINDOW": "30" },
        },
      ],
    });
    glueMock.on(StartJobRunCommand).resolves({ JobRunId: "jr_2" });
    expect(await startMetricsJob(glue, settings, at0100, logger)).toMatchObject({ started: true, runId: "jr_2" });
  });

  test("a run started concurrently elsewhere counts as already running", async () => {
    glueMock.on(GetJobRunsCommand).resolves({ JobRuns: [] });
    glueMock
      .on(StartJobRunCommand)
      .rejects(new ConcurrentRunsExceededException({ message: "max concurrent runs", $metadata: {} }));
    expect(await startMetricsJob(glue, settings, at0100, logger)).toEqual({
      started: false,
      reason: "already_running",
      endDate: "2024-02-29",
    });
  });

  test("other errors fail the invocation (the schedule retries it)", async () => {
    glueMock.on(GetJobRunsCommand).resolves({ JobRuns: [] });
    glueMock.on(StartJobRunCommand).rejects(new Error("AccessDenied"));
    await expect(startMetricsJob(glue, settings, at0100, logger)).rejects.toThrow("AccessDenied");
  });
});

describe("settings", () => {
  test("window end is the previous UTC day, across month and year ends", () => {
    expect(windowEndDate(new Date("2025-01-01T01:00:00Z"))).toBe("2024-12-31");
    expect(windowEndDate(new Date("2024-03-01T00:30:00Z"))).toBe("2024-02-29");
  });

  test("reads the job name and window from the environment", () => {
    expect(settingsFromEnvironment({ GLUE_JOB_NAME: "j", DAYS_WINDOW: "5" })).toEqual({ jobName: "j", daysWindow: 5 });
    expect(() => settingsFromEnvironment({ GLUE_JOB_NAME: "j" })).toThrow("DAYS_WINDOW is not set");
    expect(() => settingsFromEnvironment({})).toThrow(/GLUE_JOB_NAME/);
    expect(() => settingsFromEnvironment({ GLUE_JOB_NAME: "j", DAYS_WINDOW: "0" })).toThrow(/DAYS_WINDOW/);
  });
});
