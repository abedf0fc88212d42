/**
 * After each successful nightly run (EventBridge: Glue Job State Change, SUCCEEDED): compares
 * the live KPIs with the run's output for every day of its window and publishes KpiDrift (see
 * the core reconciliation). The window and start time come from the run itself, so manual runs
 * over other windows are reconciled just as well.
 */
import { GetJobRunCommand, GlueClient } from "@aws-sdk/client-glue";
import { formatDateTime } from "@trip-pipeline/core/domain/datetime";
import {
  type NightlyRun,
  type ReconcileDeps,
  type Reconciliation,
  reconcileNightlyRun,
} from "@trip-pipeline/core/live/drift";
import { createLogger } from "@trip-pipeline/core/platform/logger";
import { parseConfig, reconcileKpisConfig } from "./config.js";
import { blobStore, documentClient, LAMBDA } from "./environment.js";
import { windowEndDate } from "./start-metrics-job.js";

/** The part of the Glue Job State Change event this function reads. */
export interface GlueJobStateChange {
  detail: { jobName: string; jobRunId: string; state: string };
}

/** The run's window: its arguments, else the job's defaults as the scheduled run would pass them. */
export async function nightlyRunOf(
  glue: GlueClient,
  event: GlueJobStateChange,
  defaultDaysWindow: number,
): Promise<NightlyRun> {
  const { JobRun } = await glue.send(
    new GetJobRunCommand({ JobName: event.detail.jobName, RunId: event.detail.jobRunId }),
  );
  const started = JobRun?.StartedOn ?? new Date();
  const args = JobRun?.Arguments ?? {};
  const daysWindow = Number(args["--DAYS_WINDOW"] ?? defaultDaysWindow);
  if (!Number.isInteger(daysWindow) || daysWindow < 1)
    throw new Error(`run ${event.detail.jobRunId}: bad --DAYS_WINDOW ${args["--DAYS_WINDOW"]}`);
  return { endDate: args["--END_DATE"] ?? windowEndDate(started), daysWindow, startedAt: formatDateTime(started) };
}

export async function reconcileAfterRun(
  glue: GlueClient,
  event: GlueJobStateChange,
  defaultDaysWindow: number,
  deps: ReconcileDeps,
): Promise<Reconciliation> {
  if (event.detail.state !== "SUCCEEDED")
    throw new Error(`run ${event.detail.jobRunId} is ${event.detail.state}: only a successful run is reconciled`);
  return reconcileNightlyRun(await nightlyRunOf(glue, event, defaultDaysWindow), deps);
}

let clients: { glue: GlueClient; daysWindow: number; deps: Omit<ReconcileDeps, "now" | "logger"> } | undefined;

export const handler = async (
  event: GlueJobStateChange,
  context?: { awsRequestId?: string },
): Promise<{ drift: number; unsettled: string[] }> => {
  if (!clients) {
    const config = parseConfig("reconcileKpis", reconcileKpisConfig, process.env);
    clients = {
      glue: new GlueClient({}),
      daysWindow: config.daysWindow,
      deps: { db: documentClient(LAMBDA), tableName: config.tableName, metrics: blobStore(config.bucket) },
    };
  }
  const logger = createLogger("reconcileKpis", { requestId: context?.awsRequestId });
  const result = await reconcileAfterRun(clients.glue, event, clients.daysWindow, {
    ...clients.deps,
    logger,
    now: new Date(),
  });
  return { drift: result.drift, unsettled: result.unsettled };
};
