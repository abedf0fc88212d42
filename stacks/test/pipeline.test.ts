import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, test } from "vitest";
import {
  CONSUMERS,
  KPI_AGGREGATOR_FILTER,
  KPI_EXPIRY_FILTER,
  kinesisEventTypeFilter,
  MATCHER_FILTER,
  streamShardCount,
} from "../../packages/core/src/platform/pipeline-spec";
import { Pipeline } from "../Pipeline";
import { type SynthesizedApp, synthesize } from "../synth";

let app: SynthesizedApp;
let template: Template;
beforeAll(async () => {
  app = await synthesize();
  template = app.template(Pipeline);
});

type Resource = { Type: string; Properties: Record<string, unknown> };
const resources = (type: string) => Object.entries(template.findResources(type) as Record<string, Resource>);
const logicalIdOf = (type: string, properties: object) => {
  const found = Object.keys(template.findResources(type, { Properties: properties }));
  expect(found).toHaveLength(1);
  return found[0]!;
};
const keyId = () => logicalIdOf("AWS::KMS::Key", {});

describe("Pipeline stack", () => {
  test("TripData: keys, on-demand, PITR, stream, TTL, per-day GSI", () => {
    app.template(Pipeline).hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [
        { AttributeName: "trip_id", KeyType: "HASH" },
        { AttributeName: "sort_key", KeyType: "RANGE" },
      ],
      BillingMode: "PAY_PER_REQUEST",
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      StreamSpecification: { StreamViewType: "NEW_AND_OLD_IMAGES" },
      TimeToLiveSpecification: { AttributeName: "expires_at", Enabled: true },
      GlobalSecondaryIndexes: [
        {
          IndexName: "byPickupDay",
          KeySchema: [
            { AttributeName: "gsi1pk", KeyType: "HASH" },
            { AttributeName: "gsi1sk", KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
    });
  });

  test("TripEventsStream is encrypted", () => {
    app
      .template(Pipeline)
      .hasResourceProperties("AWS::Kinesis::Stream", { StreamEncryption: { EncryptionType: "KMS" } });
    expect(app.template(Pipeline).findResources("AWS::Kinesis::Stream")).not.toEqual({});
  });
});

describe("encryption at rest: one customer-managed, rotated key", () => {
  test("the key rotates and is used by the stream, the table and the bucket", () => {
    template.hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
    const key = { "Fn::GetAtt": [keyId(), "Arn"] };
    template.hasResourceProperties("AWS::Kinesis::Stream", {
      ShardCount: streamShardCount("test"),
      StreamEncryption: { EncryptionType: "KMS", KeyId: key },
    });
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      SSESpecification: { SSEEnabled: true, SSEType: "KMS", KMSMasterKeyId: key },
    });
    template.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: key } },
        ],
      },
      CorsConfiguration: Match.absent(),
    });
    // Failed batches go to the bucket (with their records), not to queues that only point at a stream range.
    expect(resources("AWS::SQS::Queue")).toEqual([]);
  });

  test("prod gets 4 shards, every other stage 1", () => {
    expect([streamShardCount("prod"), streamShardCount("dev"), streamShardCount("test")]).toEqual([4, 1, 1]);
  });
});

describe("event source mappings", () => {
  const mappings = {
    tripBegin: { source: "TripEventsStream", filters: [kinesisEventTypeFilter("start")] },
    // The catch-all: no filter, so records no filter would match (not JSON, unknown type) reach a consumer and the trail.
    tripFinish: { source: "TripEventsStream", filters: undefined },
    matcher: { source: "TripData", filters: [MATCHER_FILTER] },
    kpiAggregator: { source: "TripData", filters: [KPI_AGGREGATOR_FILTER, KPI_EXPIRY_FILTER] },
  } as const;

  test.each(Object.entries(mappings))(
    "%s: filter, batching, bisect, finite retries and age, partial batch responses, failed batches to the bucket",
    (name, expected) => {
      const spec = CONSUMERS[name as keyof typeof CONSUMERS];
      const fn = logicalIdOf("AWS::Lambda::Function", { Handler: spec.handler });
      const [, mapping] = resources("AWS::Lambda::EventSourceMapping").find(
        ([, m]) => (m.Properties.FunctionName as { Ref: string }).Ref === fn,
      )!;
      expect(mapping.Properties.FilterCriteria).toEqual(
        expected.filters && { Filters: expected.filters.map((filter) => ({ Pattern: JSON.stringify(filter) })) },
      );
      expect(mapping.Properties).toMatchObject({
        StartingPosition: "TRIM_HORIZON",
        BatchSize: spec.batchSize,
        MaximumBatchingWindowInSeconds: spec.maxBatchingWindowSeconds,
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: spec.retryAttempts,
        MaximumRecordAgeInSeconds: spec.maxRecordAgeSeconds,
        ParallelizationFactor: spec.parallelizationFactor,
        FunctionResponseTypes: ["ReportBatchItemFailures"],
      });
      // -1 would mean "retry until the record expires": a poisoned batch would block the shard for a day.
      expect(spec.retryAttempts).toBeGreaterThanOrEqual(0);
      expect(spec.maxRecordAgeSeconds).toBeGreaterThan(0);
      expect(JSON.stringify(mapping.Properties.EventSourceArn)).toContain(expected.source);
      expect(mapping.Properties.DestinationConfig).toEqual({
        OnFailure: { Destination: { "Fn::GetAtt": [logicalIdOf("AWS::S3::Bucket", {}), "Arn"] } },
      });
      // Only the aggregator has a tumbling window: it is how Lambda tells it the batch's shard.
      expect(mapping.Properties.TumblingWindowInSeconds).toBe(
        "tumblingWindowSeconds" in spec ? spec.tumblingWindowSeconds : undefined,
      );
    },
  );

  test("each consumer has a timeout, memory, log retention, and the table's and bucket's names", () => {
    for (const spec of [CONSUMERS.tripBegin, CONSUMERS.tripFinish, CONSUMERS.matcher]) {
      template.hasResourceProperties("AWS::Lambda::Function", {
        Handler: spec.handler,
        Timeout: 60,
        MemorySize: 512,
        Environment: {
          Variables: Match.objectLike({
            RAW_RETENTION_DAYS: "7",
            TRIP_TABLE_NAME: { Ref: Match.stringLikeRegexp("^TripDataTable") },
            ANALYTICS_BUCKET_NAME: { Ref: Match.stringLikeRegexp("^AnalyticsBucket") },
          }),
        },
      });
    }
    // The aggregator gets the table's name and the live KPIs' retention, no bucket.
    template.hasResourceProperties("AWS::Lambda::Function", {
      Handler: CONSUMERS.kpiAggregator.handler,
      Timeout: 60,
      MemorySize: 512,
      Environment: {
        Variables: Match.objectLike({
          KPI_TTL_DAYS: "35",
          TRIP_TABLE_NAME: { Ref: Match.stringLikeRegexp("^TripDataTable") },
        }),
      },
    });
    const aggregator = resources("AWS::Lambda::Function").find(
      ([, fn]) => fn.Properties.Handler === CONSUMERS.kpiAggregator.handler,
    )!;
    expect(Object.keys((aggregator[1].Properties.Environment as { Variables: object }).Variables)).not.toContain(
      "ANALYTICS_BUCKET_NAME",
    );
    expect(resources("Custom::LogRetention")).toEqual([]);
  });
});

describe("least privilege", () => {
  const DATA_PLANE = /^(dynamodb|kinesis|s3|sqs|kms):/;
  /**
   * Data-plane actions AWS only defines on "*": the DynamoDB event source must list the
   * account's streams to find the table's current stream ARN (CDK's grantStreamRead).
   */
  const LIST_ONLY_ON_WILDCARD = new Set(["dynamodb:ListStreams"]);

  const identityStatements = () =>
    [
      ...resources("AWS::IAM::Policy").map(([, p]) => p.Properties.PolicyDocument),
      ...resources("AWS::IAM::Role").flatMap(([, r]) =>
        ((r.Properties.Policies ?? []) as { PolicyDocument: unknown }[]).map((p) => p.PolicyDocument),
      ),
    ].flatMap(
      (document) =>
        (document as { Statement: { Action: string | string[]; Resource: unknown; Effect: string }[] }).Statement,
    );

  test("no identity policy grants a data-plane action on Resource *", () => {
    const statements = identityStatements();
    expect(statements.length).toBeGreaterThan(10);
    const wildcard = statements.flatMap((statement) => {
      const all = [statement.Resource].flat();
      if (!all.includes("*")) return [];
      return [statement.Action]
        .flat()
        .filter((action) => DATA_PLANE.test(action) && !LIST_ONLY_ON_WILDCARD.has(action));
    });
    expect(wildcard).toEqual([]);
  });

  test("the consumers' grants name the table, the bucket, the stream and the key; nothing grants service:*", () => {
    const statements = identityStatements().filter((s) => [s.Action].flat().some((a) => DATA_PLANE.test(a)));
    const granted = (action: string) =>
      statements.filter((s) => [s.Action].flat().includes(action)).map((s) => JSON.stringify(s.Resource));
    for (const resource of granted("dynamodb:BatchWriteItem")) expect(resource).toContain("TripDataTable");
    expect(granted("dynamodb:BatchWriteItem")).toHaveLength(4); // tripBegin, tripFinish, matcher; the aggregator deletes an expired day's parts (KPI# only)
    for (const resource of granted("s3:PutObject")) expect(resource).toContain("AnalyticsBucket");
    for (const resource of granted("kinesis:GetRecords")) expect(resource).toContain("TripEventsStream");
    expect(granted("kms:GenerateDataKey")).toEqual(Array(4).fill(JSON.stringify({ "Fn::GetAtt": [keyId(), "Arn"] })));
    for (const service of ["dynamodb", "s3", "kinesis", "kms"]) expect(granted(`${service}:*`)).toEqual([]);
  });

  test("the KPI aggregator may write and query only KPI# partitions, read items by key, and query the per-day GSI", () => {
    const fn = logicalIdOf("AWS::Lambda::Function", { Handler: CONSUMERS.kpiAggregator.handler });
    const role = (template.findResources("AWS::Lambda::Function")[fn] as Resource).Properties.Role as {
      "Fn::GetAtt": [string, string];
    };
    const policies = resources("AWS::IAM::Policy").filter(([, p]) =>
      JSON.stringify(p.Properties.Roles).includes(role["Fn::GetAtt"][0]),
    );
    const statements = policies.flatMap(
      ([, p]) =>
        (
          p.Properties.PolicyDocument as {
            Statement: { Action: string | string[]; Resource: unknown; Condition?: unknown }[];
          }
        ).Statement,
    );
    const dynamodb = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith("dynamodb:")));
    const writes = dynamodb.filter((s) =>
      [s.Action]
        .flat()
        .some((a) => !/^dynamodb:(Query|DescribeStream|GetRecords|GetShardIterator|ListStreams)$/.test(a)),
    );
    expect(writes.map((s) => s.Action)).toEqual([
      ["dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
      "dynamodb:BatchGetItem",
    ]);
    expect(writes[0]).toMatchObject({
      Resource: { "Fn::GetAtt": [expect.stringMatching(/^TripDataTable/), "Arn"] },
      Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["KPI#*"] } },
    });
    // Reads of the trips a batch touched: any partition, the table only (never the index), nothing else.
    expect(writes[1]).toEqual({
      Action: "dynamodb:BatchGetItem",
      Effect: "Allow",
      Resource: { "Fn::GetAtt": [expect.stringMatching(/^TripDataTable/), "Arn"] },
    });
    const indexQuery = dynamodb.find((s) => JSON.stringify(s.Resource).includes("/index/byPickupDay"));
    expect(indexQuery).toMatchObject({
      Action: "dynamodb:Query",
      Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["DAY#*"] } },
    });
    // S3 only for Lambda's on-failure destination (its failed batches), nothing of the data.
    const s3 = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith("s3:")));
    expect(s3.map((s) => [[s.Action].flat().join(","), JSON.stringify(s.Resource).includes("/aws/lambda/*")])).toEqual([
      ["s3:PutObject", true],
      ["s3:ListBucket", false],
    ]);
  });
});
