/**
 * KPIs for any date range on a deployed stage: the Glue KPI job recomputes `--DAYS_WINDOW` days
 * ending at `--END_DATE`, so a range becomes consecutive windows of at most MAX_RUN_DAYS days,
 * started no more than the job's MaxConcurrentRuns at a time, and never while another run of
 * the job is recomputing any of the same days (two runs overwriting one day's partition race).
 */
import {
  ConcurrentRunsExceededException,
  GetJobCommand,
  GetJobRunCommand,
  GetJobRunsCommand,
  type GlueClient,
  type JobRun,
  StartJobRunCommand,
} from "@aws-sdk/client-glue";
import { addDays, daysBetween, formatDateTime, isCalendarDay } from "../domain/datetime.js";

/** A month per run: the job's memory and time stay close to the nightly run's (31 vs 3 days). */
export const MAX_RUN_DAYS = 31;
/** Glue runs take minutes: polling more often only costs API calls. */
export const DEFAULT_POLL_MS = 30_000;
/** How long a failed attempt may take to show the retry Glue starts for it (the job's MaxRetries). */
export const RETRY_GRACE_MS = 120_000;
export const ACTIVE_RUN_STATES: ReadonlySet<string> = new Set(["STARTING", "RUNNING", "STOPPING", "WAITING"]);

export interface DayRange {
  from: string;
  to: string;
}

/** The arguments that make the job recompute exactly `window`. */
export function windowArguments(window: DayRange): Record<"--END_DATE" | "--DAYS_WINDOW", string> {
  return { "--END_DATE": window.to, "--DAYS_WINDOW": String(daysBetween(window.from, window.to).length) };
}

/** Consecutive windows covering the range, oldest first, each at most `maxDays` long. */
export function planWindows(range: DayRange, maxDays = MAX_RUN_DAYS): DayRange[] {
  const windows: DayRange[] = [];
  for (let from = range.from; from <= range.to; from = addDays(from, maxDays)) {
    const to = addDays(from, maxDays - 1);
    // biome-ignore lint/complexity/useMathMinMax: ISO day strings, which Math.min would turn into NaN
    windows.push({ from, to: to < range.to ? to : range.to });
  }
  return windows;
}

/**
 * The days a run recomputes, from its arguments or the job's defaults; a run without
 * --END_DATE ends the day before it started (the script's default). Undefined when unreadable
 * (the script has no --DAYS_WINDOW of its own: the stack gives the job one).
 */
export function runWindow(run: JobRun, defaults: Record<string, string> = {}): DayRange | undefined {
  const argument = (name: string) => run.Arguments?.[name] ?? defaults[name];
  const to = argument("--END_DATE") ?? (run.StartedOn && addDays(formatDateTime(run.StartedOn).slice(0, 10), -1));
  const days = Number(argument("--DAYS_WINDOW"));
  if (!to || !isCalendarDay(to) || !Number.isSafeInteger(days) || days < 1) return undefined;
  return { from: addDays(to, 1 - days), to };
}

function overlaps(a: DayRange | undefined, b: DayRange): boolean {
  // A run whose window cannot be read may touch any day.
  return a === undefined || (a.from <= b.to && b.from <= a.to);
}

/** A run of the job that was already active, and the days it recomputes. */
export interface ActiveRun {
  runId: string;
  state: string;
  /** Undefined when its arguments cannot be read (then it is assumed to overlap). */
  window?: DayRange;
  startedOn?: string;
}

export type WindowState =
  | "NOT_STARTED"
  | "STARTING"
  | "RUNNING"
  | "STOPPING"
  | "WAITING"
  | "SUCCEEDED"
  | "FAILED"
  | "ERROR"
  | "TIMEOUT"
  | "STOPPED"
  | "EXPIRED"
  | (string & {});

/** One window of the range and what became of it. */
export interface WindowRun extends DayRange {
  arguments: Record<string, string>;
  state: WindowState;
  /** The latest attempt's run id (Glue retries a failed run under a new id). */
  runId?: string;
  /** Run ids in order, retries included. */
  attempts: string[];
  /** Glue's error message of the final attempt. */
  error?: string;
  executionSeconds?: number;
}

/**
 * - succeeded: every window's run succeeded (with wait);
 * - started: every window's run was started (without wait), none finished yet as far as we know;
 * - refused: a run of the job was already recomputing some of these days: nothing was started;
 * - failed: some run ended in another final state (with wait);
 * - incomplete: without wait, windows left for lack of a free run slot (run again, or use wait).
 */
export type BackfillOutcome = "succeeded" | "started" | "refused" | "failed" | "incomplete";

export interface BackfillResult {
  outcome: BackfillOutcome;
  jobName: string;
  /** The job's MaxConcurrentRuns. */
  concurrency: number;
  windows: WindowRun[];
  /** The active runs that made the backfill refuse. */
  blockedBy: ActiveRun[];
}

export interface BackfillOptions {
  glue: GlueClient;
  jobName: string;
  range: DayRange;
  /** Poll every run to its final state (otherwise start what the concurrency limit allows and return). */
  wait: boolean;
  maxRunDays?: number;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** After each start and each poll round: the windows as they stand. */
  onProgress?: (windows: readonly WindowRun[]) => void;
}

const FINAL_FAILURES = new Set(["FAILED", "ERROR", "TIMEOUT"]);

interface Tracked {
  run: WindowRun;
  /** When the latest attempt failed while a Glue retry was still possible. */
  failedAt?: number;
}

export async function backfillKpis(options: BackfillOptions): Promise<BackfillResult> {
  const { glue, jobName, range, wait } = options;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? Date.now;
  const report = () => options.onProgress?.(windows);

  const { Job } = await glue.send(new GetJobCommand({ JobName: jobName }));
  const concurrency = Math.max(1, Job?.ExecutionProperty?.MaxConcurrentRuns ?? 1);
  const maxRetries = Job?.MaxRetries ?? 0;
  const defaults = Job?.DefaultArguments ?? {};
  const windows: WindowRun[] = planWindows(range, options.maxRunDays).map((window) => ({
    ...window,
    arguments: windowArguments(window),
    state: "NOT_STARTED",
    attempts: [],
  }));
  const result = (outcome: BackfillOutcome, blockedBy: ActiveRun[] = []): BackfillResult => ({
    outcome,
    jobName,
    concurrency,
    windows,
    blockedBy,
  });

  const ours = new Set<string>();
  const othersActive = async (): Promise<ActiveRun[]> =>
    (await activeRuns(glue, jobName)).filter((run) => !ours.has(run.Id!)).map((run) => activeRun(run, defaults));

  let others = await othersActive();
  const blockedBy = others.filter((run) => overlaps(run.window, range));
  if (blockedBy.length > 0) return result("refused", blockedBy);

  const queue = [...windows];
  const inFlight: Tracked[] = [];
  for (let round = 0; ; round += 1) {
    // Re-read before each later round of starts: the nightly run or another user may have started meanwhile.
    if (round > 0 && queue.length > 0 && inFlight.length < concurrency) others = await othersActive();
    let slots = concurrency - inFlight.length - others.length;
    while (slots > 0 && queue.length > 0) {
      const index = queue.findIndex((window) => !others.some((run) => overlaps(run.window, window)));
      if (index < 0) break;
      const run = queue[index]!;
      // Check, then start: with the deployed limit of 1, Glue itself refuses a run that slipped in between.
      const runId = await startRun(glue, jobName, run.arguments);
      if (runId === undefined) break; // a slot we counted as free was taken meanwhile
      queue.splice(index, 1);
      ours.add(runId);
      Object.assign(run, { runId, state: "STARTING", attempts: [runId] });
      inFlight.push({ run });
      slots -= 1;
    }
    report();
    if (!wait || (queue.length === 0 && inFlight.length === 0)) break;

    await sleep(pollMs);
    for (const tracked of [...inFlight]) {
      if (await pollRun(glue, jobName, tracked, { maxRetries, now: now(), ours }))
        inFlight.splice(inFlight.indexOf(tracked), 1);
    }
  }

  if (!wait) return result(queue.length > 0 ? "incomplete" : "started");
  return result(windows.every((window) => window.state === "SUCCEEDED") ? "succeeded" : "failed");
}

/** Runs of the job in an active state. Glue lists the newest first, and active runs are new. */
async function activeRuns(glue: GlueClient, jobName: string): Promise<JobRun[]> {
  const { JobRuns = [] } = await glue.send(new GetJobRunsCommand({ JobName: jobName, MaxResults: 200 }));
  return JobRuns.filter((run) => run.Id && ACTIVE_RUN_STATES.has(run.JobRunState ?? ""));
}

function activeRun(run: JobRun, defaults: Record<string, string>): ActiveRun {
  return {
    runId: run.Id!,
    state: run.JobRunState!,
    window: runWindow(run, defaults),
    startedOn: run.StartedOn && formatDateTime(run.StartedOn),
  };
}

/** The new run's id, or undefined when the job's concurrency limit is reached. */
async function startRun(glue: GlueClient, jobName: string, args: Record<string, string>): Promise<string | undefined> {
  try {
    const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName: jobName, Arguments: args }));
    return JobRunId;
  } catch (error) {
    if (error instanceof ConcurrentRunsExceededException) return undefined;
    throw error;
  }
}

/** Updates one window from its latest attempt; true once the window is final. */
async function pollRun(
  glue: GlueClient,
  jobName: string,
  tracked: Tracked,
  context: { maxRetries: number; now: number; ours: Set<string> },
): Promise<boolean> {
  const { run } = tracked;
  const { JobRun } = await glue.send(new GetJobRunCommand({ JobName: jobName, RunId: run.runId }));
  const state = JobRun?.JobRunState ?? "RUNNING";
  run.state = state;
  run.executionSeconds = JobRun?.ExecutionTime;
  if (ACTIVE_RUN_STATES.has(state)) return false;
  run.error = JobRun?.ErrorMessage;
  if (!FINAL_FAILURES.has(state) || (JobRun?.Attempt ?? 0) >= context.maxRetries) return true;

  // Glue retries a failed attempt as a new run naming this one as its previous run.
  const { JobRuns = [] } = await glue.send(new GetJobRunsCommand({ JobName: jobName, MaxResults: 200 }));
  const retry = JobRuns.find((candidate) => candidate.PreviousRunId === run.runId && candidate.Id);
  if (retry) {
    context.ours.add(retry.Id!);
    Object.assign(run, {
      runId: retry.Id,
      state: retry.JobRunState ?? "STARTING",
      attempts: [...run.attempts, retry.Id!],
      error: undefined,
    });
    tracked.failedAt = undefined;
    return false;
  }
  tracked.failedAt ??= context.now;
  return context.now - tracked.failedAt >= RETRY_GRACE_MS;
}
