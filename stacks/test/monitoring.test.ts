/**
 * The monitoring on a throwaway CDK app of its own (stand-ins for the Pipeline's resources,
 * built the way Pipeline.ts builds them), so it does not wait on the Pipeline wiring.
 */
import { App, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AttributeType, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { AnyPrincipal, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Stream, StreamEncryption } from "aws-cdk-lib/aws-kinesis";
import { Key } from "aws-cdk-lib/aws-kms";
import { Code, Function as LambdaFunction, Runtime, StartingPosition } from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Queue } from "aws-cdk-lib/aws-sqs";
import { beforeAll, describe, expect, test } from "vitest";
import { CONSUMERS } from "../../packages/core/src/platform/pipeline-spec";
import { Analytics } from "../Analytics";
import { Dashboard } from "../Dashboard";
import {
  addDailyJobMonitoring,
  addPipelineMonitoring,
  MATCHER_LOG_METRICS,
  METRIC_NAMESPACE,
  THRESHOLDS,
} from "../monitoring";
import { Pipeline } from "../Pipeline";
import { synthesize } from "../synth";
import type { CfnObject } from "./iam-policies";

type ConsumerName = keyof typeof CONSUMERS;
const NAMES = Object.keys(CONSUMERS) as ConsumerName[];
const ACCOUNT = "123456789012";

type Resource = { Type: string; Properties: CfnObject };

let pipeline: Template;
let analytics: Template;
let ids: {
  key: string;
  topic: string;
  functions: Record<ConsumerName, string>;
  mappings: Record<ConsumerName, string>;
  scheduler: string;
};

beforeAll(() => {
  const app = new App();
  const env = { account: ACCOUNT, region: "eu-north-1" };
  const stack = new Stack(app, "Pipeline", { env });
  const key = new Key(stack, "PipelineKey", { enableKeyRotation: true });
  const stream = new Stream(stack, "Stream", { encryption: StreamEncryption.KMS, encryptionKey: key });
  const table = new Table(stack, "Table", {
    partitionKey: { name: "trip_id", type: AttributeType.STRING },
    encryption: TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: key,
  });
  const fn = (name: ConsumerName) =>
    new LambdaFunction(stack, name, {
      runtime: Runtime.NODEJS_22_X,
      handler: "index.handler",
      code: Code.fromInline("exports.handler = async () => ({})"),
      logGroup: new LogGroup(stack, `${name}LogGroup`, { retention: RetentionDays.ONE_MONTH }),
    });
  const consumers = {
    tripBegin: fn("tripBegin"),
    tripFinish: fn("tripFinish"),
    matcher: fn("matcher"),
    kpiAggregator: fn("kpiAggregator"),
  };
  const mapping = (name: ConsumerName) =>
    consumers[name].addEventSourceMapping("Source", {
      eventSourceArn: stream.streamArn,
      startingPosition: StartingPosition.TRIM_HORIZON,
    });
  const mappings = {
    tripBegin: mapping("tripBegin"),
    tripFinish: mapping("tripFinish"),
    matcher: mapping("matcher"),
    kpiAggregator: mapping("kpiAggregator"),
  };

  const monitoring = addPipelineMonitoring(stack, {
    stream: { cdk: { stream } },
    table: { cdk: { table } },
    consumers,
    mappings,
    key,
  });
  expect(monitoring.alarms).toHaveLength(3 * NAMES.length + 1);

  // The Analytics stack calls this with the topic Pipeline returns.
  const analyticsStack = new Stack(app, "Analytics", { env });
  const scheduler = new LambdaFunction(analyticsStack, "Scheduler", {
    runtime: Runtime.NODEJS_22_X,
    handler: "index.handler",
    code: Code.fromInline("exports.handler = async () => ({})"),
  });
  addDailyJobMonitoring(analyticsStack, {
    jobName: "GenerateTripMetrics",
    maxRetries: 1,
    crawlerName: "KpiCrawler",
    scheduler,
    topic: monitoring.topic,
  });

  // Synthesizing the whole app fails on a dependency cycle between the two stacks.
  app.synth();
  pipeline = Template.fromStack(stack);
  analytics = Template.fromStack(analyticsStack);
  const id = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as never);
  const map = <T extends { node: { defaultChild?: unknown } }>(of: Record<ConsumerName, T>) =>
    Object.fromEntries(NAMES.map((name) => [name, id(of[name])])) as Record<ConsumerName, string>;
  ids = {
    key: id(key),
    topic: id(monitoring.topic),
    functions: map(consumers),
    mappings: Object.fromEntries(
      NAMES.map((name) => [name, stack.getLogicalId(mappings[name].node.defaultChild as never)]),
    ) as Record<ConsumerName, string>,
    scheduler: analyticsStack.getLogicalId(scheduler.node.defaultChild as never),
  };
});

const alarmsOn = (metricName: string) =>
  Object.values(
    pipeline.findResources("AWS::CloudWatch::Alarm", { Properties: { MetricName: metricName } }) as Record<
      string,
      Resource
    >,
  );
const notifiesTopic = (alarm: Resource) => {
  expect(alarm.Properties.AlarmActions).toEqual([{ Ref: ids.topic }]);
  expect(alarm.Properties.OKActions).toEqual([{ Ref: ids.topic }]);
};

describe("alarm topic", () => {
  test("is encrypted with the pipeline key and only this account's alarms and rules may publish", () => {
    pipeline.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: { "Fn::GetAtt": [ids.key, "Arn"] } });
    pipeline.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Allow",
            Action: "sns:Publish",
            Principal: { Service: ["cloudwatch.amazonaws.com", "events.amazonaws.com"] },
            Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT } },
          }),
        ]),
      },
    });
    pipeline.hasResourceProperties("AWS::KMS::Key", {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
            Principal: { Service: ["cloudwatch.amazonaws.com", "events.amazonaws.com"] },
            Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT } },
          }),
        ]),
      },
    });
  });
});

describe("alarms per consumer", () => {
  test.each(NAMES)("%s: iterator age over 5 min for 3 minutes, max per minute", (name) => {
    const [alarm, ...others] = alarmsOn("IteratorAge").filter(
      (a) => a.Properties.Dimensions[0].Value.Ref === ids.functions[name],
    );
    expect(others).toHaveLength(0);
    expect(alarm!.Properties).toMatchObject({
      Namespace: "AWS/Lambda",
      Statistic: "Maximum",
      Period: 60,
      Threshold: THRESHOLDS.iteratorAgeMs,
      EvaluationPeriods: 3,
      ComparisonOperator: "GreaterThanThreshold",
    });
    expect(THRESHOLDS.iteratorAgeMs).toBeLessThan(CONSUMERS[name].maxRecordAgeSeconds * 1000);
    notifiesTopic(alarm!);
  });

  test.each(NAMES)("%s: any invocation error in 5 minutes", (name) => {
    const [alarm, ...others] = alarmsOn("Errors").filter(
      (a) => a.Properties.Dimensions[0].Value.Ref === ids.functions[name],
    );
    expect(others).toHaveLength(0);
    expect(alarm!.Properties).toMatchObject({
      Statistic: "Sum",
      Period: 300,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
    notifiesTopic(alarm!);
  });

  test.each(NAMES)("%s: a failed batch stored under aws/lambda/<its mapping id>/ alarms within 5 minutes", (name) => {
    const rules = Object.entries(pipeline.findResources("AWS::Events::Rule") as Record<string, Resource>).filter(
      ([id]) => id.startsWith(`${name}FailedBatchRule`),
    );
    expect(rules).toHaveLength(1);
    const [ruleId, rule] = rules[0]!;
    expect(rule.Properties.EventPattern).toEqual({
      source: ["aws.s3"],
      "detail-type": ["Object Created"],
      detail: {
        object: { key: [{ prefix: { "Fn::Join": ["", ["aws/lambda/", { Ref: ids.mappings[name] }, "/"]] } }] },
      },
    });
    const [alarm, ...others] = alarmsOn("TriggeredRules").filter(
      (a) => a.Properties.Dimensions[0].Value.Ref === ruleId,
    );
    expect(others).toHaveLength(0);
    expect(alarm!.Properties).toMatchObject({
      Namespace: "AWS/Events",
      Statistic: "Sum",
      Period: 300,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
    notifiesTopic(alarm!);
  });
});

describe("pending trips", () => {
  test("the matcher's batch log line becomes TripPipeline metrics, on the matcher's log group only", () => {
    const filters = Object.values(pipeline.findResources("AWS::Logs::MetricFilter") as Record<string, Resource>);
    expect(filters.map((f) => f.Properties.MetricTransformations[0].MetricName).sort()).toEqual(
      Object.keys(MATCHER_LOG_METRICS).sort(),
    );
    for (const filter of filters) {
      const [transformation] = filter.Properties.MetricTransformations;
      const field = MATCHER_LOG_METRICS[transformation.MetricName as keyof typeof MATCHER_LOG_METRICS];
      expect(transformation).toMatchObject({
        MetricNamespace: METRIC_NAMESPACE,
        MetricValue: `$.${field}`,
        DefaultValue: 0,
      });
      expect(filter.Properties.FilterPattern).toBe(`{ ($.msg = "batch processed") && ($.${field} >= 0) }`);
      // The matcher's own log group (stacks/logs.ts), so it exists first.
      expect(JSON.stringify(filter.Properties.LogGroupName)).toContain("matcherLogGroup");
    }
  });

  test("alarm: over 25% of an hour's RAW inserts unmatched, two hours running, above 1,000 inserts", () => {
    const alarms = Object.values(
      pipeline.findResources("AWS::CloudWatch::Alarm", { Properties: { Metrics: Match.anyValue() } }) as Record<
        string,
        Resource
      >,
    );
    expect(alarms).toHaveLength(1);
    const alarm = alarms[0]!;
    expect(alarm.Properties).toMatchObject({
      Threshold: 25,
      EvaluationPeriods: 2,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
    });
    const metrics = alarm.Properties.Metrics as {
      Id: string;
      Expression?: string;
      MetricStat?: { Metric: { MetricName: string; Namespace: string }; Period: number; Stat: string };
    }[];
    const expression = metrics.find((m) => m.Expression)!;
    expect(expression.Expression).toBe(
      "IF(FILL(inserts, 0) >= 1000, 100 * (FILL(inserts, 0) - FILL(deleted, 0)) / FILL(inserts, 0), 0)",
    );
    expect(Object.fromEntries(metrics.filter((m) => m.MetricStat).map((m) => [m.Id, m.MetricStat]))).toEqual({
      inserts: { Metric: { MetricName: "RawInserts", Namespace: METRIC_NAMESPACE }, Period: 3600, Stat: "Sum" },
      deleted: { Metric: { MetricName: "RawDeleted", Namespace: METRIC_NAMESPACE }, Period: 3600, Stat: "Sum" },
    });
    notifiesTopic(alarm);
  });
});

describe("daily job", () => {
  const rules = () => Object.values(analytics.findResources("AWS::Events::Rule") as Record<string, Resource>);
  const rule = (detailType: string) => rules().find((r) => r.Properties.EventPattern["detail-type"][0] === detailType)!;

  test("a job run pages only when it failed on its last attempt (a retry that succeeds does not), or was stopped", () => {
    expect(rule("Glue Job State Change").Properties.EventPattern).toEqual({
      source: ["aws.glue"],
      "detail-type": ["Glue Job State Change"],
      detail: {
        $or: [
          {
            jobName: ["GenerateTripMetrics"],
            state: ["FAILED", "TIMEOUT", "ERROR"],
            jobRunId: [{ suffix: "_attempt_1" }],
          },
          { jobName: ["GenerateTripMetrics"], state: ["STOPPED"] },
        ],
      },
    });
  });

  test("a failed crawl pages", () => {
    expect(rule("Glue Crawler State Change").Properties.EventPattern).toEqual({
      source: ["aws.glue"],
      "detail-type": ["Glue Crawler State Change"],
      detail: { crawlerName: ["KpiCrawler"], state: ["Failed"] },
    });
  });

  test("both rules notify the Pipeline stack's topic, adding nothing to its policy", () => {
    expect(rules()).toHaveLength(2);
    for (const { Properties } of rules()) {
      const [target] = Properties.Targets;
      expect(JSON.stringify(target.Arn)).toContain("AlarmTopic");
      expect(target.InputTransformer.InputPathsMap).toMatchObject({ "detail-state": "$.detail.state" });
    }
    expect(analytics.findResources("AWS::SNS::TopicPolicy")).toEqual({});
  });

  test("any error of the scheduling function pages (a StartJobRun that fails emits no Glue event)", () => {
    const [alarm, ...others] = Object.values(
      analytics.findResources("AWS::CloudWatch::Alarm") as Record<string, Resource>,
    );
    expect(others).toHaveLength(0);
    expect(alarm!.Properties).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "Errors",
      Statistic: "Sum",
      Period: 300,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
    expect(alarm!.Properties.Dimensions).toEqual([{ Name: "FunctionName", Value: { Ref: ids.scheduler } }]);
    expect(JSON.stringify(alarm!.Properties.AlarmActions)).toContain("AlarmTopic");
  });
});

describe("dashboard", () => {
  test("shows iterator age, errors, failed batches and matcher outcomes", () => {
    const [dashboard] = Object.values(pipeline.findResources("AWS::CloudWatch::Dashboard") as Record<string, Resource>);
    const body = JSON.stringify(dashboard!.Properties.DashboardBody);
    for (const title of [
      "Iterator age, max (ms)",
      "Consumer errors",
      "Failed batches stored",
      "Matcher outcomes per hour",
      "Unmatched share of RAW inserts (%)",
    ])
      expect(body).toContain(title);
  });
});

describe("least privilege", () => {
  test("no '*' principals, no data-plane action on Resource '*'", () => {
    expect(leastPrivilegeViolations([pipeline, analytics])).toEqual([]);
  });

  test("the check finds both kinds of violation", () => {
    const app = new App();
    const stack = new Stack(app, "Loose");
    const queue = new Queue(stack, "Queue");
    queue.addToResourcePolicy(
      new PolicyStatement({
        principals: [new AnyPrincipal()],
        actions: ["sqs:SendMessage"],
        resources: [queue.queueArn],
      }),
    );
    const fn = new LambdaFunction(stack, "Fn", {
      runtime: Runtime.NODEJS_22_X,
      handler: "index.handler",
      code: Code.fromInline("exports.handler = async () => ({})"),
    });
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ["dynamodb:PutItem", "dynamodb:ListStreams"], resources: ["*"] }),
    );
    expect(leastPrivilegeViolations([Template.fromStack(stack)])).toEqual([
      expect.stringMatching(/^Queue.*: principal \*$/),
      expect.stringMatching(/^FnServiceRoleDefaultPolicy.*: dynamodb:PutItem on \*$/),
    ]);
  });
});

describe("the app as deployed (sst.config.ts)", () => {
  let templates: Template[];
  beforeAll(async () => {
    const app = await synthesize();
    templates = [app.template(Pipeline), app.template(Analytics), app.template(Dashboard)];
  });

  test("no '*' principals, no data-plane action on Resource '*', in any stack", () => {
    expect(leastPrivilegeViolations(templates)).toEqual([]);
  });

  test("every function, ours and the providers', logs to a log group of its stack with a retention", () => {
    for (const template of templates) {
      const json = template.toJSON() as { Resources: Record<string, Resource> };
      const groups = Object.entries(json.Resources).filter(([, r]) => r.Type === "AWS::Logs::LogGroup");
      const retained = new Set(groups.filter(([, g]) => g.Properties.RetentionInDays > 0).map(([id]) => id));
      const functions = Object.values(json.Resources).filter((r) => r.Type === "AWS::Lambda::Function");
      expect(functions.length).toBeGreaterThan(0);
      for (const fn of functions) expect(retained).toContain(fn.Properties.LoggingConfig?.LogGroup?.Ref);
      expect(Object.values(json.Resources).filter((r) => r.Type === "Custom::LogRetention")).toEqual([]);
    }
  });
});

/**
 * Services whose actions touch the pipeline's data; their actions must name resources. List
 * actions (dynamodb:ListStreams, which has no resource-level permission) read no data.
 */
const DATA_PLANE = /^(kinesis|dynamodb|s3|sqs|sns|kms|glue):(?!List)/;

/**
 * Policy statements that grant to everyone or do a data-plane action on every resource. Key
 * policies are exempt from the Resource check only: there "*" means the key itself.
 */
function leastPrivilegeViolations(templates: Template[]): string[] {
  const found: string[] = [];
  const list = <T>(value: T | T[] | undefined): T[] =>
    value === undefined ? [] : Array.isArray(value) ? value : [value];
  for (const template of templates)
    for (const [id, resource] of Object.entries(template.toJSON().Resources as Record<string, Resource>)) {
      const documents = [
        resource.Properties?.PolicyDocument,
        resource.Properties?.KeyPolicy,
        ...list(resource.Properties?.Policies).map((p: CfnObject) => p.PolicyDocument),
      ];
      for (const document of documents.filter(Boolean))
        for (const statement of list<CfnObject>(document.Statement)) {
          if (statement.Effect !== "Allow") continue;
          const principals =
            statement.Principal === "*" ? ["*"] : Object.values(statement.Principal ?? {}).flatMap((p) => list(p));
          if (principals.includes("*")) found.push(`${id}: principal *`);
          const actions = list<string>(statement.Action);
          const dataPlane = actions.filter((a) => a === "*" || DATA_PLANE.test(a));
          if (resource.Type !== "AWS::KMS::Key" && list(statement.Resource).includes("*") && dataPlane.length > 0)
            found.push(`${id}: ${dataPlane.join(",")} on *`);
        }
    }
  return found;
}
