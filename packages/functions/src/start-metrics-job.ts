/**
 * The daily schedule's job (cron(0 1 * * ? *)): starts the Glue KPI job for the window ending
 * yesterday (UTC), unless a run for the same window is already under way.
 */
import {
  ConcurrentRunsExceededException,
  GetJobRunsCommand,
  GlueClient,
  type JobRun,
  StartJobRunCommand,
} from "@aws-sdk/client-glue";
import { formatDateTime } from "@trip-pipeline/core/domain/datetime";
import { ACTIVE_RUN_STATES } from "@trip-pipeline/core/nightly/backfill";
import { createLogger, type Logger } from "@trip-pipeline/core/platform/logger";
import { parseConfig, startMetricsJobConfig } from "./config.js";

export interface MetricsJobSettings {
  jobName: string;
  daysWindow: number;
}

export type StartOutcome =
  | { started: true; runId: string; endDate: string }
  | { started: false; reason: "already_running"; runId?: string; endDate: string };

/** The last complete UTC day before `now`: the day a 01:00 UTC run reports on. */
export function windowEndDate(now: Date): string {
  return formatDateTime(new Date(now.getTime() - 86_400_000)).slice(0, 10);
}

function sameWindow(run: JobRun, args: Record<string, string>): boolean {
  return Object.entries(args).every(([name, value]) => run.Arguments?.[name] === value);
}

export async function startMetricsJob(
  glue: GlueClient,
  settings: MetricsJobSettings,
  now: Date,
  logger: Logger,
): Promise<StartOutcome> {
  const endDate = windowEndDate(now);
  const args = { "--END_DATE": endDate, "--DAYS_WINDOW": String(settings.daysWindow) };
  // Recent runs come first; an active run is always among the newest.
  const { JobRuns = [] } = await glue.send(new GetJobRunsCommand({ JobName: settings.jobName, MaxResults: 50 }));
  const active = JobRuns.find((run) => ACTIVE_RUN_STATES.has(run.JobRunState ?? "") && sameWindow(run, args));
  if (active) {
    logger.info(
      { jobName: settings.jobName, endDate, runId: active.Id, state: active.JobRunState },
      "metrics job already running for this window; not starting another",
    );
    return { started: false, reason: "already_running", runId: active.Id, endDate };
  }
  try {
    const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName: settings.jobName, Arguments: args }));
    logger.info(
      { jobName: settings.jobName, endDate, daysWindow: settings.daysWindow, runId: JobRunId },
      "metrics job started",
    );
    return { started: true, runId: JobRunId!, endDate };
  } catch (error) {
    // MaxConcurrentRuns is 1: a run started between our check and now is the same work.
    if (error instanceof ConcurrentRunsExceededException) {
      logger.info(
        { jobName: settings.jobName, endDate },
        "metrics job started concurrently elsewhere; not starting another",
      );
      return { started: false, reason: "already_running", endDate };
    }
    throw error;
  }
}

export function settingsFromEnvironment(env: NodeJS.ProcessEnv): MetricsJobSettings {
  return parseConfig("startMetricsJob", startMetricsJobConfig, env);
}

let glue: GlueClient | undefined;

export const handler = async (_event: unknown, context?: { awsRequestId?: string }): Promise<StartOutcome> => {
  glue ??= new GlueClient({});
  const logger = createLogger("startMetricsJob", { requestId: context?.awsRequestId });
  return startMetricsJob(glue, settingsFromEnvironment(process.env), new Date(), logger);
};
