import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, test } from "vitest";
import { KPI_FIELDS } from "../../packages/core/src/kpi/registry";
import { Analytics } from "../Analytics";
import { Dashboard } from "../Dashboard";
import { Pipeline } from "../Pipeline";
import { synthesize } from "../synth";
import { type CfnObject, evaluate } from "./iam-policies";
import { appRoleStatements, policyCoverage } from "./policy-coverage";
import { productionChecks } from "./production-checks";
import { StageResources } from "./template-resources";

let analytics: Template;
let pipeline: Template;
let dashboard: Template;
let templates: Record<string, unknown>;
beforeAll(async () => {
  const app = await synthesize("prod");
  analytics = app.template(Analytics);
  pipeline = app.template(Pipeline);
  dashboard = app.template(Dashboard);
  templates = app.templates();
});

describe("prod readiness", () => productionChecks(() => [pipeline, analytics, dashboard]));
policyCoverage("prod", () => templates);

function only(template: Template, type: string): CfnObject {
  const resources = Object.values(template.findResources(type));
  expect(resources).toHaveLength(1);
  return resources[0]!.Properties;
}

describe("Analytics stack (prod)", () => {
  test("the Glue job: Spark on Glue 5.0, the packaged script, the job's arguments, prod workers", () => {
    const job = only(analytics, "AWS::Glue::Job");
    expect(job).toMatchObject({
      Name: "prod-trip-pipeline-GenerateTripMetrics",
      GlueVersion: "5.0",
      Command: { Name: "glueetl", PythonVersion: "3" },
      WorkerType: "G.1X",
      NumberOfWorkers: 5,
      ExecutionProperty: { MaxConcurrentRuns: 1 },
      DefaultArguments: {
        "--GSI_NAME": "byPickupDay",
        "--GSI_SHARDS": "16",
        "--METRICS_PREFIX": "metrics/",
        "--DAYS_WINDOW": "3",
        "--job-bookmark-option": "job-bookmark-disable",
      },
    });
    expect(JSON.stringify(job.Command.ScriptLocation)).toMatch(/\.py"/);
    expect(JSON.stringify(job.DefaultArguments["--extra-py-files"])).toMatch(/\.zip"/);
    // Table and bucket come from the Pipeline stack, by cross-stack reference.
    expect(JSON.stringify(job.DefaultArguments["--TABLE_NAME"])).toMatch(/TripData/);
    expect(JSON.stringify(job.DefaultArguments["--BUCKET"])).toMatch(/AnalyticsBucket/);
    // The KPI registry the job computes: the contract's fields, in order, without the display texts.
    const registry = JSON.parse(job.DefaultArguments["--KPI_REGISTRY"]) as {
      types: Record<string, { places: number }>;
      fields: Record<string, unknown>[];
    };
    expect(registry.fields.map((field) => field.name)).toEqual(KPI_FIELDS.map((field) => field.name));
    expect(registry.fields[0]).toEqual({
      name: "total_fare",
      type: "money",
      aggregation: "sum",
      source: "fare_amount",
      live: true,
      absent_before: false,
    });
    expect(registry.types.minutes).toMatchObject({ places: 2, source_units: 60 });
  });

  test("the job role reads only the per-day GSI and writes only metrics/ (and its temp dir)", () => {
    const statements = Object.values(analytics.findResources("AWS::IAM::Policy"))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes("MetricsJobRole"))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as CfnObject[]);
    const dynamo = statements.find((s) => [s.Action].flat().includes("dynamodb:Query"));
    expect(dynamo!.Action).toEqual("dynamodb:Query");
    // The index only: no Query of the base table, no DescribeTable.
    expect([dynamo!.Resource].flat()).toEqual([{ "Fn::Join": ["", [expect.anything(), "/index/byPickupDay"]] }]);
    expect(
      statements.some((s) => [s.Action].flat().some((a: string) => a === "dynamodb:Scan" || a === "dynamodb:*")),
    ).toBe(false);
    const writes = statements.find((s) => [s.Action].flat().includes("s3:PutObject"));
    expect(JSON.stringify(writes!.Resource)).toMatch(/metrics\/\*/);
  });

  test("database trip_kpis_db and the daily_trip_kpis table over metrics/, partitioned by day", () => {
    expect(only(analytics, "AWS::Glue::Database").DatabaseInput.Name).toBe("trip_kpis_db");
    const table = only(analytics, "AWS::Glue::Table");
    expect(table).toMatchObject({
      DatabaseName: "trip_kpis_db",
      TableInput: {
        Name: "daily_trip_kpis",
        PartitionKeys: [
          { Name: "year", Type: "string" },
          { Name: "month", Type: "string" },
          { Name: "day", Type: "string" },
        ],
        StorageDescriptor: { SerdeInfo: { SerializationLibrary: "org.openx.data.jsonserde.JsonSerDe" } },
      },
    });
    expect(JSON.stringify(table.TableInput.StorageDescriptor.Location)).toMatch(/\/metrics\/"/);
    expect(
      table.TableInput.StorageDescriptor.Columns.map((c: { Name: string; Type: string }) => [c.Name, c.Type]),
    ).toEqual([
      ["pickup_date", "string"],
      // A column per registered KPI: counts as bigint, every other type as an exact 2-decimal number.
      ...KPI_FIELDS.map((field) => [field.name, field.type === "count" ? "bigint" : "decimal(38,2)"]),
    ]);
  });

  test("the crawler targets that table and runs after every successful job run", () => {
    const crawler = only(analytics, "AWS::Glue::Crawler");
    expect(crawler.Targets).toEqual({
      CatalogTargets: [{ DatabaseName: "trip_kpis_db", Tables: ["daily_trip_kpis"] }],
    });
    expect(only(analytics, "AWS::Glue::Trigger")).toMatchObject({
      Type: "CONDITIONAL",
      StartOnCreation: true,
      Predicate: {
        Conditions: [
          { JobName: "prod-trip-pipeline-GenerateTripMetrics", State: "SUCCEEDED", LogicalOperator: "EQUALS" },
        ],
      },
      Actions: [{ CrawlerName: crawler.Name }],
    });
  });

  test("the schedule runs at 01:00 UTC and may start (only) this job", () => {
    analytics.hasResourceProperties("AWS::Events::Rule", { ScheduleExpression: "cron(0 1 * * ? *)", State: "ENABLED" });
    analytics.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({ GLUE_JOB_NAME: "prod-trip-pipeline-GenerateTripMetrics", DAYS_WINDOW: "3" }),
      },
    });
    const glueStatements = Object.values(analytics.findResources("AWS::IAM::Policy"))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as CfnObject[])
      .filter((s) => [s.Action].flat().includes("glue:StartJobRun"));
    expect(glueStatements).toHaveLength(1);
    expect(JSON.stringify(glueStatements[0]!.Resource)).toMatch(/:job\/prod-trip-pipeline-GenerateTripMetrics/);
  });

  test("a job run that failed for good alerts the pipeline's alarm topic", () => {
    analytics.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: Match.objectLike({
        source: ["aws.glue"],
        "detail-type": ["Glue Job State Change"],
        detail: Match.objectLike({
          $or: Match.arrayWith([Match.objectLike({ jobName: ["prod-trip-pipeline-GenerateTripMetrics"] })]),
        }),
      }),
      Targets: Match.arrayWith([Match.objectLike({ Arn: Match.anyValue() })]),
    });
  });

  test("each successful run triggers the live KPI reconciliation: KpiDrift alarm at >= 1, least privilege", () => {
    const fns = Object.entries(analytics.findResources("AWS::Lambda::Function")).filter(
      ([, fn]) => fn.Properties.Handler === "packages/functions/src/reconcile-kpis.handler",
    );
    expect(fns).toHaveLength(1);
    const [fnId, fn] = fns[0]!;
    expect(fn.Properties.Environment.Variables).toMatchObject({
      DAYS_WINDOW: "3",
      TRIP_TABLE_NAME: expect.anything(),
      ANALYTICS_BUCKET_NAME: expect.anything(),
    });
    analytics.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: {
        source: ["aws.glue"],
        "detail-type": ["Glue Job State Change"],
        detail: { jobName: ["prod-trip-pipeline-GenerateTripMetrics"], state: ["SUCCEEDED"] },
      },
      Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [fnId, "Arn"] } })],
    });
    const role = fn.Properties.Role["Fn::GetAtt"][0] as string;
    const statements = Object.values(analytics.findResources("AWS::IAM::Policy"))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(role))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as CfnObject[]);
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions.filter((a) => /^(dynamodb|s3|glue):/.test(a)).sort()).toEqual([
      "dynamodb:Query",
      "glue:GetJobRun",
      "s3:GetObject",
      "s3:ListBucket",
    ]);
    expect(statements.find((s) => s.Action === "dynamodb:Query")).toMatchObject({
      Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["KPI#*"] } },
    });
    expect(JSON.stringify(statements.find((s) => s.Action === "s3:GetObject")!.Resource)).toContain("/metrics/*");
    analytics.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "TripPipeline",
      MetricName: "KpiDrift",
      Statistic: "Maximum",
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      TreatMissingData: "ignore",
      AlarmActions: [Match.anyValue()],
      AlarmDescription: Match.stringLikeRegexp("docs/runbook.md#kpi-drift"),
    });
  });

  test("ReconcileKpis may list metrics/ and read its rows (IAM evaluator on the role's policy), and its errors page", async () => {
    const resources = new StageResources(templates);
    const [fn] = resources
      .all()
      .filter((at) => at.resource.Properties?.Handler === "packages/functions/src/reconcile-kpis.handler");
    const role = fn!.resource.Properties!.Role["Fn::GetAtt"][0] as string;
    const { arn, statements } = appRoleStatements(resources).find((r) => r.logicalId === role)!;
    const principal = { arn, identity: [{ Version: "2012-10-17", Statement: statements }] };
    const [store] = resources
      .all()
      .filter((at) => at.resource.Type === "AWS::S3::Bucket" && at.logicalId.startsWith("AnalyticsBucket"));
    const bucket = resources.physicalId(store!.stack, store!.logicalId);
    // The reader lists the window's day folders (a common prefix under metrics/), then reads each file.
    expect(
      await evaluate(principal, {
        action: "s3:ListBucket",
        resource: `arn:aws:s3:::${bucket}`,
        context: { "s3:prefix": "metrics/year=2024/month=05/day=2" },
      }),
    ).toBe("Allowed");
    expect(
      await evaluate(principal, {
        action: "s3:GetObject",
        resource: `arn:aws:s3:::${bucket}/metrics/year=2024/month=05/day=25/part-0.json`,
      }),
    ).toBe("Allowed");
    expect(
      await evaluate(principal, {
        action: "s3:ListBucket",
        resource: `arn:aws:s3:::${bucket}`,
        context: { "s3:prefix": "failed/" },
      }),
    ).toBe("ImplicitlyDenied");
    const fnId = fn!.logicalId;
    analytics.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: fnId } }],
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      AlarmActions: [Match.anyValue()],
      AlarmDescription: Match.stringLikeRegexp("docs/runbook.md#reconcile-errors"),
    });
  });

  test("Athena: an enforced, encrypted workgroup and the named query for one day", () => {
    expect(only(analytics, "AWS::Athena::WorkGroup").WorkGroupConfiguration).toMatchObject({
      EnforceWorkGroupConfiguration: true,
      ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: "SSE_KMS" } },
    });
    expect(only(analytics, "AWS::Athena::NamedQuery").QueryString).toMatch(
      new RegExp(
        `^SELECT pickup_date, ${KPI_FIELDS.map((field) => field.name).join(", ")} FROM trip_kpis_db\\.daily_trip_kpis WHERE pickup_date = '\\d{4}-\\d{2}-\\d{2}'$`,
      ),
    );
  });

  test("the analytics bucket: KMS-encrypted, versioned, public access blocked, TLS only, retained in prod", () => {
    const [bucket] = Object.values(pipeline.findResources("AWS::S3::Bucket"));
    expect(bucket!.DeletionPolicy).toBe("RetainExceptOnCreate");
    expect(bucket!.Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms" } }],
      },
      VersioningConfiguration: { Status: "Enabled" },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    pipeline.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Principal: { AWS: "*" },
            Action: "s3:*",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        ]),
      },
    });
  });

  test("the outputs pnpm kpis reads: the job's name (Analytics) and the bucket (Pipeline)", () => {
    analytics.hasOutput("MetricsJobName", { Value: "prod-trip-pipeline-GenerateTripMetrics" });
    pipeline.hasOutput("BucketName", Match.anyValue());
  });
});
