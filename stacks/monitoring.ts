/**
 * Operations for the pipeline: alarms to one encrypted SNS topic, and a dashboard.
 * Thresholds and what to do when each alarm fires: docs/runbook.md (keep the two in step).
 */
import { Duration, Stack } from "aws-cdk-lib";
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
  type IMetric,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { Rule, RuleTargetInput, EventField } from "aws-cdk-lib/aws-events";
import { SnsTopic } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { IStream } from "aws-cdk-lib/aws-kinesis";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { FilterPattern, MetricFilter } from "aws-cdk-lib/aws-logs";
import { Topic, type ITopic } from "aws-cdk-lib/aws-sns";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import type { MatchBatchResult } from "../packages/core/src/matcher";
import { CONSUMERS, KPI_DRIFT_METRIC } from "../packages/core/src/pipeline-spec";

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
  /** Messages visible in a DLQ: each is a range of stream records that was given up on. */
  dlqMessages: 1,
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
  dlqs: Record<ConsumerName, IQueue>;
  key: IKey;
}

export interface PipelineMonitoring {
  topic: Topic;
  dashboard: Dashboard;
  alarms: Alarm[];
}

export function addPipelineMonitoring(stack: Stack, { stream, table, consumers, dlqs, key }: PipelineResources): PipelineMonitoring {
  const topic = new Topic(stack, "AlarmTopic", { displayName: "trip-pipeline alarms", masterKey: key, enforceSSL: true });
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
  for (const name of names) {
    const fn = consumers[name];
    alarm(`${name}IteratorAgeAlarm`, {
      alarmDescription: `${name} is more than ${THRESHOLDS.iteratorAgeMs / 60_000} min behind its stream (records reach the DLQ at 1 h). Runbook: docs/runbook.md#iterator-age`,
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
    alarm(`${name}DlqAlarm`, {
      alarmDescription: `${name} gave up on stream records: the DLQ holds their shard and sequence range, re-readable for 24 h. Runbook: docs/runbook.md#dlq`,
      metric: dlqs[name].metricApproximateNumberOfMessagesVisible({ statistic: "Maximum", period: Duration.minutes(1) }),
      threshold: THRESHOLDS.dlqMessages,
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
  const perConsumer = (metric: (fn: LambdaFunction) => Metric) => names.map((name) => metric(consumers[name]).with({ label: name }));
  const kinesis = stream.cdk.stream;
  dashboard.addWidgets(
    new TextWidget({ markdown: "# trip-pipeline\nAlarms and what to do: docs/runbook.md", width: 24, height: 2 }),
    graph("Stream in (records/min)", [kinesis.metricIncomingRecords({ statistic: "Sum", period: Duration.minutes(1) }), kinesis.metricPutRecordsThrottledRecords({ statistic: "Sum", period: Duration.minutes(1) })]),
    graph("Iterator age, max (ms)", perConsumer((fn) => fn.metric("IteratorAge", { statistic: "Maximum", period: Duration.minutes(1) }))),
    graph("Consumer errors", perConsumer((fn) => fn.metricErrors({ period: Duration.minutes(5) }))),
    graph("Consumer duration p99 (ms)", perConsumer((fn) => fn.metricDuration({ statistic: "p99", period: Duration.minutes(5) }))),
    graph("Matcher outcomes per hour", [matcherMetrics.RawInserts, matcherMetrics.RawDeleted, matcherMetrics.Completed, matcherMetrics.Anomalies]),
    graph("Unmatched share of RAW inserts (%)", [pendingGrowth]),
    graph("Dead-letter queues (messages)", names.map((name) => dlqs[name].metricApproximateNumberOfMessagesVisible({ statistic: "Maximum", period: Duration.minutes(1), label: name }))),
    // Separate graphs: both expressions name their per-operation metrics with the same ids.
    graph("TripData throttled requests", [table.cdk.table.metricThrottledRequestsForOperations({ period: Duration.minutes(5) })]),
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
      filterPattern: FilterPattern.all(FilterPattern.stringValue("$.msg", "=", "batch processed"), FilterPattern.numberValue(`$.${field}`, ">=", 0)),
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
    }),
  );
}

export interface GlueJobFailureAlarmProps {
  jobName: string;
  /** The topic addPipelineMonitoring returned (its policy already lets EventBridge publish). */
  topic: ITopic;
}

/** Glue job runs that end in FAILED, TIMEOUT, ERROR or STOPPED, to the alarm topic. */
export function addGlueJobFailureAlarm(stack: Stack, { jobName, topic }: GlueJobFailureAlarmProps): Rule {
  const rule = new Rule(stack, "GlueJobFailureRule", {
    description: `Glue job ${jobName} did not succeed. Runbook: docs/runbook.md#glue-job-failure`,
    eventPattern: {
      source: ["aws.glue"],
      detailType: ["Glue Job State Change"],
      detail: { jobName: [jobName], state: ["FAILED", "TIMEOUT", "ERROR", "STOPPED"] },
    },
  });
  // Imported by ARN: the target then adds nothing to the topic's policy, which lives in the
  // Pipeline stack (a change there from this stack would make the stacks depend on each other).
  const target = Topic.fromTopicArn(stack, "GlueAlarmTopic", topic.topicArn);
  rule.addTarget(
    new SnsTopic(target, {
      message: RuleTargetInput.fromText(
        `Glue job ${EventField.fromPath("$.detail.jobName")} run ${EventField.fromPath("$.detail.jobRunId")} ended ${EventField.fromPath("$.detail.state")}: ${EventField.fromPath("$.detail.message")}. Runbook: docs/runbook.md#glue-job-failure`,
      ),
    }),
  );
  return rule;
}

/**
 * Days on which the live KPIs differ from the nightly run's (published once per run by the
 * reconciliation). Any such day pages: the live figures missed or double-counted something.
 */
export function addKpiDriftAlarm(stack: Stack, { topic }: { topic: ITopic }): Alarm {
  const alarm = new Alarm(stack, "KpiDriftAlarm", {
    alarmDescription: "Live KPIs differ from the nightly KPIs on at least one day of the last run's window. Runbook: docs/runbook.md#kpi-drift",
    metric: new Metric({ namespace: KPI_DRIFT_METRIC.namespace, metricName: KPI_DRIFT_METRIC.name, statistic: "Maximum", period: Duration.hours(1) }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    // One data point a night: the state holds until the next run reports (0 clears it).
    treatMissingData: TreatMissingData.IGNORE,
  });
  const action = new SnsAction(topic);
  alarm.addAlarmAction(action);
  alarm.addOkAction(action);
  return alarm;
}
