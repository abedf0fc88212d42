import {
  ConcurrentRunsExceededException,
  GetJobCommand,
  GetJobRunCommand,
  GetJobRunsCommand,
  GlueClient,
  type JobRun,
  type JobRunState,
  StartJobRunCommand,
} from "@aws-sdk/client-glue";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, test } from "vitest";
import {
  type BackfillOptions,
  backfillKpis,
  planWindows,
  RETRY_GRACE_MS,
  runWindow,
  windowArguments,
} from "../src/nightly/backfill.js";

// No local Glue API exists: the mock plays a job that enforces its concurrency limit and walks
// each run through scripted states, one state per GetJobRun.
const glueMock = mockClient(GlueClient);
const glue = new GlueClient({ region: "eu-north-1" });
const JOB = "prod-trip-pipeline-GenerateTripMetrics";

interface FakeJob {
  runs: JobRun[];
  /** Most runs active at once, as the job saw it. */
  peakActive: number;
}

function fakeJob(options: {
  concurrency?: number;
  maxRetries?: number;
  defaults?: Record<string, string>;
  existing?: JobRun[];
  states?: (args: Record<string, string>, attempt: number) => string[];
}): FakeJob {
  const job: FakeJob = { runs: [...(options.existing ?? [])], peakActive: 0 };
  const scripts = new Map<string, { states: string[]; error?: string }>();
  const active = () =>
    job.runs.filter((run) => ["STARTING", "RUNNING", "STOPPING", "WAITING"].includes(run.JobRunState!));
  const start = (args: Record<string, string>, attempt: number, previous?: string) => {
    const id = `jr_${job.runs.length + 1}`;
    job.runs.unshift({
      Id: id,
      JobName: JOB,
      Arguments: args,
      JobRunState: "STARTING",
      Attempt: attempt,
      PreviousRunId: previous,
      StartedOn: new Date("2024-06-01T10:00:00Z"),
    });
    scripts.set(id, { states: (options.states ?? (() => ["RUNNING", "SUCCEEDED"]))(args, attempt) });
    job.peakActive = Math.max(job.peakActive, active().length);
    return id;
  };
  glueMock.on(GetJobCommand, { JobName: JOB }).resolves({
    Job: {
      Name: JOB,
      ExecutionProperty: { MaxConcurrentRuns: options.concurrency ?? 1 },
      MaxRetries: options.maxRetries ?? 0,
      DefaultArguments: { "--DAYS_WINDOW": "3", ...options.defaults },
    },
  });
  glueMock.on(GetJobRunsCommand).callsFake(() => ({ JobRuns: job.runs.map((run) => ({ ...run })) }));
  glueMock.on(StartJobRunCommand).callsFake(({ Arguments }) => {
    if (active().length >= (options.concurrency ?? 1))
      throw new ConcurrentRunsExceededException({ message: "Concurrent runs exceeded", $metadata: {} });
    return { JobRunId: start(Arguments, 0) };
  });
  glueMock.on(GetJobRunCommand).callsFake(({ RunId }) => {
    const run = job.runs.find((candidate) => candidate.Id === RunId)!;
    const script = scripts.get(RunId);
    const next: string = script?.states.length ? script.states.shift()! : run.JobRunState!;
    run.JobRunState = next as JobRunState;
    if (next === "FAILED") {
      run.ErrorMessage = `AnalysisException: attempt ${run.Attempt} of ${run.Arguments!["--END_DATE"]} failed`;
      // Glue's own retry: a new run naming the failed one.
      if ((run.Attempt ?? 0) < (options.maxRetries ?? 0)) start(run.Arguments!, (run.Attempt ?? 0) + 1, run.Id);
    }
    return { JobRun: { ...run, ExecutionTime: 42 } };
  });
  return job;
}

const sleeps: number[] = [];
const options = (overrides: Partial<BackfillOptions> = {}): BackfillOptions => ({
  glue,
  jobName: JOB,
  range: { from: "2024-05-01", to: "2024-07-15" },
  wait: true,
  pollMs: 1_000,
  sleep: async (ms) => void sleeps.push(ms),
  ...overrides,
});
const startedArguments = () => glueMock.commandCalls(StartJobRunCommand).map((call) => call.args[0].input.Arguments);

beforeEach(() => {
  glueMock.reset();
  sleeps.length = 0;
});

describe("planning", () => {
  test("a range becomes consecutive windows of at most 31 days, with the exact job arguments", () => {
    const windows = planWindows({ from: "2024-01-01", to: "2024-03-15" });
    expect(windows).toEqual([
      { from: "2024-01-01", to: "2024-01-31" },
      { from: "2024-02-01", to: "2024-03-02" },
      { from: "2024-03-03", to: "2024-03-15" },
    ]);
    expect(windows.map(windowArguments)).toEqual([
      { "--END_DATE": "2024-01-31", "--DAYS_WINDOW": "31" },
      { "--END_DATE": "2024-03-02", "--DAYS_WINDOW": "31" },
      { "--END_DATE": "2024-03-15", "--DAYS_WINDOW": "13" },
    ]);
    expect(planWindows({ from: "2024-05-25", to: "2024-05-25" })).toEqual([{ from: "2024-05-25", to: "2024-05-25" }]);
    expect(planWindows({ from: "2023-12-31", to: "2024-01-02" }, 2)).toEqual([
      { from: "2023-12-31", to: "2024-01-01" },
      { from: "2024-01-02", to: "2024-01-02" },
    ]);
  });

  test("a run's days come from its arguments, else the job's defaults, else the day before it started", () => {
    expect(runWindow({ Arguments: { "--END_DATE": "2024-03-01", "--DAYS_WINDOW": "3" } })).toEqual({
      from: "2024-02-28",
      to: "2024-03-01",
    });
    expect(runWindow({ StartedOn: new Date("2024-03-01T01:00:05Z") }, { "--DAYS_WINDOW": "3" })).toEqual({
      from: "2024-02-27",
      to: "2024-02-29",
    });
    expect(runWindow({ Arguments: { "--END_DATE": "yesterday" } })).toBeUndefined();
  });
});

describe("backfillKpis", () => {
  test("with wait: one run at a time (the job's limit), each polled to SUCCEEDED before the next starts", async () => {
    const job = fakeJob({ concurrency: 1 });
    const progress: string[][] = [];
    const result = await backfillKpis(options({ onProgress: (windows) => progress.push(windows.map((w) => w.state)) }));

    expect(result.outcome).toBe("succeeded");
    expect(startedArguments()).toEqual([
      { "--END_DATE": "2024-05-31", "--DAYS_WINDOW": "31" },
      { "--END_DATE": "2024-07-01", "--DAYS_WINDOW": "31" },
      { "--END_DATE": "2024-07-15", "--DAYS_WINDOW": "14" },
    ]);
    expect(job.peakActive).toBe(1);
    expect(
      result.windows.map(({ from, to, state, runId, attempts }) => ({ from, to, state, runId, attempts })),
    ).toEqual([
      { from: "2024-05-01", to: "2024-05-31", state: "SUCCEEDED", runId: "jr_1", attempts: ["jr_1"] },
      { from: "2024-06-01", to: "2024-07-01", state: "SUCCEEDED", runId: "jr_2", attempts: ["jr_2"] },
      { from: "2024-07-02", to: "2024-07-15", state: "SUCCEEDED", runId: "jr_3", attempts: ["jr_3"] },
    ]);
    expect(progress[0]).toEqual(["STARTING", "NOT_STARTED", "NOT_STARTED"]);
    expect(sleeps.every((ms) => ms === 1_000)).toBe(true);
    expect(glueMock.commandCalls(StartJobRunCommand).every((call) => call.args[0].input.JobName === JOB)).toBe(true);
  });

  test("a job that allows two concurrent runs gets two at a time, never more", async () => {
    const job = fakeJob({ concurrency: 2, states: () => ["RUNNING", "RUNNING", "SUCCEEDED"] });
    const result = await backfillKpis(options({ range: { from: "2024-01-01", to: "2024-04-30" } }));
    expect(result).toMatchObject({ outcome: "succeeded", concurrency: 2 });
    expect(result.windows).toHaveLength(4);
    expect(job.peakActive).toBe(2);
    // Two rounds of two runs, three polls each.
    expect(sleeps).toHaveLength(6);
  });

  test("without wait: starts what the limit allows and says what is left", async () => {
    fakeJob({ concurrency: 1 });
    const result = await backfillKpis(options({ wait: false }));
    expect(result.outcome).toBe("incomplete");
    expect(result.windows.map((w) => w.state)).toEqual(["STARTING", "NOT_STARTED", "NOT_STARTED"]);
    expect(glueMock.commandCalls(GetJobRunCommand)).toHaveLength(0);
    expect(sleeps).toEqual([]);

    glueMock.reset();
    fakeJob({ concurrency: 5 });
    expect((await backfillKpis(options({ wait: false }))).outcome).toBe("started");
  });

  test("an active run that recomputes any of the days is reported, and nothing is started", async () => {
    const nightly: JobRun = {
      Id: "jr_nightly",
      JobRunState: "RUNNING",
      StartedOn: new Date("2024-05-03T01:00:04Z"),
      Arguments: { "--END_DATE": "2024-05-02" },
    };
    const manual: JobRun = { Id: "jr_console", JobRunState: "WAITING", StartedOn: new Date("2024-05-03T09:00:00Z") };
    fakeJob({
      concurrency: 3,
      existing: [
        manual,
        nightly,
        { Id: "jr_old", JobRunState: "SUCCEEDED", Arguments: { "--END_DATE": "2024-05-10", "--DAYS_WINDOW": "31" } },
      ],
    });
    const result = await backfillKpis(options({ range: { from: "2024-04-01", to: "2024-05-01" } }));

    expect(result.outcome).toBe("refused");
    expect(result.blockedBy).toEqual([
      // A console run without arguments recomputes the default window ending the day before it started.
      {
        runId: "jr_console",
        state: "WAITING",
        window: { from: "2024-04-30", to: "2024-05-02" },
        startedOn: "2024-05-03 09:00:00",
      },
      {
        runId: "jr_nightly",
        state: "RUNNING",
        window: { from: "2024-04-30", to: "2024-05-02" },
        startedOn: "2024-05-03 01:00:04",
      },
    ]);
    expect(glueMock.commandCalls(StartJobRunCommand)).toHaveLength(0);
    expect(result.windows.map((w) => w.state)).toEqual(["NOT_STARTED"]);
  });

  test("an active run on other days takes a slot: with wait the backfill starts once it ends", async () => {
    const job = fakeJob({
      concurrency: 1,
      existing: [
        { Id: "jr_nightly", JobRunState: "RUNNING", Arguments: { "--END_DATE": "2024-08-01", "--DAYS_WINDOW": "3" } },
      ],
    });
    let polls = 0;
    const result = await backfillKpis(
      options({
        range: { from: "2024-05-01", to: "2024-05-02" },
        sleep: async () => {
          // The nightly run ends while we wait.
          if (++polls === 2) job.runs.find((run) => run.Id === "jr_nightly")!.JobRunState = "SUCCEEDED";
        },
      }),
    );
    expect(result.outcome).toBe("succeeded");
    expect(startedArguments()).toEqual([{ "--END_DATE": "2024-05-02", "--DAYS_WINDOW": "2" }]);
    expect(job.peakActive).toBe(1);
    expect(polls).toBeGreaterThan(2);
  });

  test("a failed run keeps Glue's error message, the other windows still run, the outcome says failed", async () => {
    fakeJob({ states: (args) => (args["--END_DATE"] === "2024-07-01" ? ["RUNNING", "FAILED"] : ["SUCCEEDED"]) });
    const result = await backfillKpis(options());
    expect(result.outcome).toBe("failed");
    expect(result.windows.map(({ state, error }) => ({ state, error }))).toEqual([
      { state: "SUCCEEDED", error: undefined },
      { state: "FAILED", error: "AnalysisException: attempt 0 of 2024-07-01 failed" },
      { state: "SUCCEEDED", error: undefined },
    ]);
  });

  test("a failed attempt that Glue retries (MaxRetries) is followed to the retry's end", async () => {
    fakeJob({ maxRetries: 1, states: (_, attempt) => (attempt === 0 ? ["FAILED"] : ["RUNNING", "SUCCEEDED"]) });
    const result = await backfillKpis(options({ range: { from: "2024-05-01", to: "2024-05-03" } }));
    expect(result.outcome).toBe("succeeded");
    expect(result.windows[0]).toMatchObject({
      state: "SUCCEEDED",
      runId: "jr_2",
      attempts: ["jr_1", "jr_2"],
      error: undefined,
    });
  });

  test("a failed attempt whose retry never shows up is final after the grace period", async () => {
    let clock = 0;
    fakeJob({ maxRetries: 1, states: () => ["FAILED"] });
    // The fake retries at once; hide the retry to play a Glue that never starts it.
    glueMock.on(GetJobRunsCommand).resolves({ JobRuns: [] });
    const result = await backfillKpis(
      options({
        range: { from: "2024-05-01", to: "2024-05-01" },
        now: () => clock,
        sleep: async () => {
          clock += 30_000;
        },
      }),
    );
    expect(result.outcome).toBe("failed");
    expect(result.windows[0]).toMatchObject({
      state: "FAILED",
      attempts: ["jr_1"],
      error: "AnalysisException: attempt 0 of 2024-05-01 failed",
    });
    expect(clock).toBeGreaterThanOrEqual(RETRY_GRACE_MS);
  });

  test("a slot taken between the check and the start (ConcurrentRunsExceeded) is tried again on the next round", async () => {
    const job = fakeJob({ concurrency: 1 });
    glueMock
      .on(StartJobRunCommand)
      .rejectsOnce(new ConcurrentRunsExceededException({ message: "Concurrent runs exceeded", $metadata: {} }))
      .resolves({ JobRunId: "jr_late" });
    job.runs.push({ Id: "jr_late", JobRunState: "SUCCEEDED" });
    const result = await backfillKpis(options({ range: { from: "2024-05-01", to: "2024-05-01" } }));
    expect(glueMock.commandCalls(StartJobRunCommand)).toHaveLength(2);
    expect(result).toMatchObject({ outcome: "succeeded", windows: [{ runId: "jr_late", state: "SUCCEEDED" }] });
  });
});
