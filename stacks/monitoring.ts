/**
 * Operations for the pipeline: alarms to one encrypted SNS topic, and a dashboard.
 * Thresholds and what to do when each alarm fires: docs/runbook.md (keep the two in step).
 */
import { Duration, type Stack } from "aws-cdk-lib";
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { EventField, Rule, RuleTargetInput } from "aws-cdk-lib/aws-events";
import { SnsTopic } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IStream } from "aws-cdk-lib/aws-kinesis";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { IEventSourceMapping, Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { FilterPattern, MetricFilter } from "aws-cdk-lib/aws-logs";
import { type ITopic, Topic } from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";
import { CONSUMERS, FAILED_BATCH_PREFIX, KPI_DRIFT_METRIC } from "../packages/core/src/platform/pipeline-spec";
import type { MatchBatchResult } from "../packages/core/src/streams/matcher";

type ConsumerName = keyof typeof CONSUMERS;

/** Namespace of the metrics the matcher's "batch processed" log line is turned into. */
export const METRIC_NAMESPACE = "TripPipeline";

/** Every threshold in one place; docs/runbook.md gives the reason for each. */
export const THRESHOLDS = {
  /** Oldest unprocessed record, ms: 5 min behind, well before maxRecordAge (1 h) sends records to the DLQ. */
  iteratorAgeMs: 5 * 60 * 1000,
  /** Consecutive 1-minute periods over iteratorAgeMs: a single retry backoff does not page. */
  iteratorAgeMinutes: 3,
  /** Invocation errors in 5 minutes: bad records are partial failures, so any error is a failed batch. */
  consumerErrors: 1,
  /** Failed batches stored in 5 minutes: each is a batch of stream records that was given up on. */
  failedBatches: 1,
  /** Percent of the hour's RAW inserts left unmatched (inserts minus matcher deletes). */
  pendingGrowthPercent: 25,
  /** Consecutive hours over pendingGrowthPercent: a morning ramp-up stays under it for one hour. */
  pendingGrowthHours: 2,
  /** Below this many RAW inserts in an hour the ratio means nothing (a trickle, a test). */
  pendingGrowthMinInserts: 1_000,
} as const;

/** Numeric fields of the matcher's `batch processed` log line (packages/functions/src/matcher.ts). */
type MatcherBatchLogField = "records" | keyof MatchBatchResult["counts"];

/** Those fields made into metrics: one metric filter each (a filter carries one metric). */
export const MATCHER_LOG_METRICS = {
  RawInserts: "records",
  RawDeleted: "deleted",
  Completed: "completed",
  Anomalies: "anomaly",
} as const satisfies Record<string, MatcherBatchLogField>;
type MatcherMetric = keyof typeof MATCHER_LOG_METRICS;

export interface PipelineResources {
  /** SST KinesisStream and Table, or anything exposing the same CDK constructs. */
  stream: { cdk: { stream: IStream } };
  table: { cdk: { table: ITable } };
  consumers: Record<ConsumerName, LambdaFunction>;
  /** Each consumer's event-source mapping: its failed batches land under aws/lambda/<mapping id>/. */
  mappings: Record<ConsumerName, IEventSourceMapping>;
  key: IKey;
}

export interface PipelineMonitoring {
  topic: Topic;
  dashboard: Dashboard;
  alarms: Alarm[];
}

export function addPipelineMonitoring(
  stack: Stack,
  { stream, table, consumers, mappings, key }: PipelineResources,
): PipelineMonitoring {
  const topic = new Topic(stack, "AlarmTopic", {
    displayName: "trip-pipeline alarms",
    masterKey: key,
    enforceSSL: true,
  });
  allowServicesToPublish(stack, topic, key);
  const alarmAction = new SnsAction(topic);
  const alarms: Alarm[] = [];
  const alarm = (id: string, props: ConstructorParameters<typeof Alarm>[2]) => {
    const created = new Alarm(stack, id, { treatMissingData: TreatMissingData.NOT_BREACHING, ...props });
    created.addAlarmAction(alarmAction);
    created.addOkAction(alarmAction);
    alarms.push(created);
    return created;
  };

  const names = Object.keys(CONSUMERS) as ConsumerName[];
  const failedBatchMetrics: Metric[] = [];
  for (const name of names) {
    const fn = consumers[name];
    alarm(`${name}IteratorAgeAlarm`, {
      alarmDescription: `${name} is more than ${THRESHOLDS.iteratorAgeMs / 60_000} min behind its stream (records are given up on at 1 h). Runbook: docs/runbook.md#iterator-age`,
      metric: fn.metric("IteratorAge", { statistic: "Maximum", period: Duration.minutes(1) }),
      threshold: THRESHOLDS.iteratorAgeMs,
      evaluationPeriods: THRESHOLDS.iteratorAgeMinutes,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    alarm(`${name}ErrorsAlarm`, {
      alarmDescription: `${name} invocations failed as a whole (bad records do not count: they are partial failures). Runbook: docs/runbook.md#consumer-errors`,
      metric: fn.metricErrors({ statistic: "Sum", period: Duration.minutes(5) }),
      threshold: THRESHOLDS.consumerErrors,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
    // The bucket sends its object-created events to EventBridge; a rule matches this mapping's
    // failed batches, and its TriggeredRules count is what the alarm watches.
    const failedBatches = new Rule(stack, `${name}FailedBatchRule`, {
      description: `${name} discarded a batch to the on-failure destination. Runbook: docs/runbook.md#failed-batches`,
      eventPattern: {
        source: ["aws.s3"],
        detailType: ["Object Created"],
        detail: { object: { key: [{ prefix: `${FAILED_BATCH_PREFIX}${mappings[name].eventSourceMappingId}/` }] } },
      },
    });
    const stored = new Metric({
      namespace: "AWS/Events",
      metricName: "TriggeredRules",
      dimensionsMap: { RuleName: failedBatches.ruleName },
      statistic: "Sum",
      period: Duration.minutes(5),
    });
    failedBatchMetrics.push(stored.with({ label: name }));
    alarm(`${name}FailedBatchAlarm`, {
      alarmDescription: `${name} gave up on stream records: the batch and its records are in the bucket under ${FAILED_BATCH_PREFIX}; replay with pnpm redrive. Runbook: docs/runbook.md#failed-batches`,
      metric: stored,
      threshold: THRESHOLDS.failedBatches,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
  }

  const matcherMetrics = matcherLogMetrics(stack, consumers.matcher);
  const pendingGrowth = new MathExpression({
    label: "Unmatched share of RAW inserts (%)",
    // A RAW insert is an event waiting for its partner; the matcher deletes both when it
    // completes a trip. What the hour inserted and did not delete is still unmatched.
    expression: `IF(FILL(inserts, 0) >= ${THRESHOLDS.pendingGrowthMinInserts}, 100 * (FILL(inserts, 0) - FILL(deleted, 0)) / FILL(inserts, 0), 0)`,
    usingMetrics: { inserts: matcherMetrics.RawInserts, deleted: matcherMetrics.RawDeleted },
    period: Duration.hours(1),
  });
  alarm("PendingTripsGrowthAlarm", {
    alarmDescription: `Over ${THRESHOLDS.pendingGrowthPercent}% of an hour's trip events found no partner, ${THRESHOLDS.pendingGrowthHours} hours running. Runbook: docs/runbook.md#pending-growth`,
    metric: pendingGrowth,
    threshold: THRESHOLDS.pendingGrowthPercent,
    evaluationPeriods: THRESHOLDS.pendingGrowthHours,
    comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
  });

  const dashboard = new Dashboard(stack, "PipelineDashboard", { dashboardName: `${stack.stackName}-pipeline` });
  const graph = (title: string, left: IMetric[]) => new GraphWidget({ title, left, width: 12, height: 6 });
  const perConsumer = (metric: (fn: LambdaFunction) => Metric) =>
    names.map((name) => metric(consumers[name]).with({ label: name }));
  const kinesis = stream.cdk.stream;
  dashboard.addWidgets(
    new TextWidget({ markdown: "# trip-pipeline\nAlarms and what to do: docs/runbook.md", width: 24, height: 2 }),
    graph("Stream in (records/min)", [
      kinesis.metricIncomingRecords({ statistic: "Sum", period: Duration.minutes(1) }),
      kinesis.metricPutRecordsThrottledRecords({ statistic: "Sum", period: Duration.minutes(1) }),
    ]),
    graph(
      "Iterator age, max (ms)",
      perConsumer((fn) => fn.metric("IteratorAge", { statistic: "Maximum", period: Duration.minutes(1) })),
    ),
    graph(
      "Consumer errors",
      perConsumer((fn) => fn.metricErrors({ period: Duration.minutes(5) })),
    ),
    graph(
      "Consumer duration p99 (ms)",
      perConsumer((fn) => fn.metricDuration({ statistic: "p99", period: Duration.minutes(5) })),
    ),
    graph("Matcher outcomes per hour", [
      matcherMetrics.RawInserts,
      matcherMetrics.RawDeleted,
      matcherMetrics.Completed,
      matcherMetrics.Anomalies,
    ]),
    graph("Unmatched share of RAW inserts (%)", [pendingGrowth]),
    graph("Failed batches stored", failedBatchMetrics),
    // Separate graphs: both expressions name their per-operation metrics with the same ids.
    graph("TripData throttled requests", [
      table.cdk.table.metricThrottledRequestsForOperations({ period: Duration.minutes(5) }),
    ]),
    graph("TripData system errors", [table.cdk.table.metricSystemErrorsForOperations({ period: Duration.minutes(5) })]),
  );
  return { topic, dashboard, alarms };
}

/** Metrics from the matcher's batch log line; summed per hour, the pending-growth window. */
function matcherLogMetrics(scope: Construct, matcher: LambdaFunction): Record<MatcherMetric, Metric> {
  const metrics = {} as Record<MatcherMetric, Metric>;
  for (const [metricName, field] of Object.entries(MATCHER_LOG_METRICS) as [MatcherMetric, string][]) {
    const filter = new MetricFilter(scope, `Matcher${metricName}Filter`, {
      logGroup: matcher.logGroup,
      filterPattern: FilterPattern.all(
        FilterPattern.stringValue("$.msg", "=", "batch processed"),
        FilterPattern.numberValue(`$.${field}`, ">=", 0),
      ),
      metricNamespace: METRIC_NAMESPACE,
      metricName,
      metricValue: `$.${field}`,
      defaultValue: 0,
    });
    metrics[metricName] = filter.metric({ statistic: "Sum", period: Duration.hours(1), label: metricName });
  }
  return metrics;
}

/**
 * CloudWatch alarms and EventBridge rules of this account may publish; both need the key to do
 * so, since the topic is encrypted. The Resource "*" of a key policy statement means this key.
 */
function allowServicesToPublish(stack: Stack, topic: Topic, key: IKey): void {
  const services = [new ServicePrincipal("cloudwatch.amazonaws.com"), new ServicePrincipal("events.amazonaws.com")];
  topic.addToResourcePolicy(
    new PolicyStatement({
      sid: "AlarmsAndRulesOfThisAccountPublish",
      principals: services,
      actions: ["sns:Publish"],
      resources: [topic.topicArn],
      conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
    }),
  );
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: "AlarmsAndRulesUseKeyForAlarmTopic",
      principals: services,
      actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
      resources: ["*"],
      // The services act for any account: only this account's alarms and rules (confused deputy).
      conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
    }),
  );
}

export interface DailyJobMonitoringProps {
  jobName: string;
  /** The job's MaxRetries: Glue runs a failed run again up to this many times. */
  maxRetries: number;
  crawlerName: string;
  /** The scheduled function that calls StartJobRun. */
  scheduler: LambdaFunction;
  /** The topic addPipelineMonitoring returned (its policy already lets EventBridge publish). */
  topic: ITopic;
}

/** States in which a job run or a crawl ended without doing its work. */
const GLUE_FAILED_STATES = ["FAILED", "TIMEOUT", "ERROR"];

/**
 * The daily job's failures, to the alarm topic: a run that failed with no retry left, a stopped
 * run, a failed crawl (EventBridge rules), and scheduler errors (a StartJobRun that fails emits
 * no Glue event at all, so only the function's Errors metric shows it).
 */
export function addDailyJobMonitoring(
  stack: Stack,
  { jobName, maxRetries, crawlerName, scheduler, topic }: DailyJobMonitoringProps,
): { rules: Rule[]; alarms: Alarm[] } {
  // Imported by ARN: the targets then add nothing to the topic's policy, which lives in the
  // Pipeline stack (a change there from this stack would make the stacks depend on each other).
  const imported = Topic.fromTopicArn(stack, "DailyJobAlarmTopic", topic.topicArn);
  const notify = (what: string, anchor: string) =>
    new SnsTopic(imported, {
      message: RuleTargetInput.fromText(
        `${what} ended ${EventField.fromPath("$.detail.state")}: ${EventField.fromPath("$.detail.message")}. Runbook: docs/runbook.md#${anchor}`,
      ),
    });
  // Glue runs a failed run again as <runId>_attempt_<n>: only the last attempt's failure is
  // final. A stopped run is never retried: someone or something stopped it, and the day is missing.
  const lastAttempt = maxRetries > 0 ? { jobRunId: [{ suffix: `_attempt_${maxRetries}` }] } : {};
  const jobFailed = new Rule(stack, "GlueJobFailureRule", {
    description: `Glue job ${jobName} failed on its last attempt, or was stopped. Runbook: docs/runbook.md#glue-job-failure`,
    eventPattern: {
      source: ["aws.glue"],
      detailType: ["Glue Job State Change"],
      detail: {
        $or: [
          { jobName: [jobName], state: GLUE_FAILED_STATES, ...lastAttempt },
          { jobName: [jobName], state: ["STOPPED"] },
        ],
      } as Record<string, unknown>,
    },
    targets: [notify(`Glue job ${jobName} run ${EventField.fromPath("$.detail.jobRunId")}`, "glue-job-failure")],
  });
  const crawlFailed = new Rule(stack, "GlueCrawlerFailureRule", {
    description: `Glue crawler ${crawlerName} failed: new days are not queryable in Athena. Runbook: docs/runbook.md#crawler-failure`,
    eventPattern: {
      source: ["aws.glue"],
      detailType: ["Glue Crawler State Change"],
      detail: { crawlerName: [crawlerName], state: ["Failed"] },
    },
    targets: [notify(`Glue crawler ${crawlerName}`, "crawler-failure")],
  });

  const schedulerErrors = functionErrorsAlarm(
    stack,
    "MetricsSchedulerErrorsAlarm",
    scheduler,
    `The function that starts ${jobName} failed: no run was started. Runbook: docs/runbook.md#scheduler-errors`,
    imported,
  );
  return { rules: [jobFailed, crawlFailed], alarms: [schedulerErrors] };
}

/** Any failed invocation of `fn` in 5 minutes pages, and its recovery too. */
function functionErrorsAlarm(
  stack: Stack,
  id: string,
  fn: LambdaFunction,
  alarmDescription: string,
  topic: ITopic,
): Alarm {
  const alarm = new Alarm(stack, id, {
    alarmDescription,
    metric: fn.metricErrors({ statistic: "Sum", period: Duration.minutes(5) }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
  const action = new SnsAction(topic);
  alarm.addAlarmAction(action);
  alarm.addOkAction(action);
  return alarm;
}

/**
 * Days on which the live KPIs differ from the nightly run's (published once per run by the
 * reconciliation). Any such day pages: the live figures missed or double-counted something.
 */
export function addKpiDriftAlarm(
  stack: Stack,
  { topic, reconciler }: { topic: ITopic; reconciler: LambdaFunction },
): Alarm[] {
  const alarm = new Alarm(stack, "KpiDriftAlarm", {
    alarmDescription:
      "Live KPIs differ from the nightly KPIs on at least one day of the last run's window. Runbook: docs/runbook.md#kpi-drift",
    metric: new Metric({
      namespace: KPI_DRIFT_METRIC.namespace,
      metricName: KPI_DRIFT_METRIC.name,
      statistic: "Maximum",
      period: Duration.hours(1),
    }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    // One data point a night: the state holds until the next run reports (0 clears it).
    treatMissingData: TreatMissingData.IGNORE,
  });
  const action = new SnsAction(topic);
  alarm.addAlarmAction(action);
  alarm.addOkAction(action);
  // A reconciliation that fails (denied, throttled, a bad run) publishes no KpiDrift at all: the
  // drift alarm keeps its last state, so only the function's own errors show it.
  const failed = functionErrorsAlarm(
    stack,
    "ReconcileKpisErrorsAlarm",
    reconciler,
    "The live KPI reconciliation failed after a nightly run: no KpiDrift was published for its days. Runbook: docs/runbook.md#reconcile-errors",
    topic,
  );
  return [alarm, failed];
}
