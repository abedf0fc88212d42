import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { StreamEncryption } from "aws-cdk-lib/aws-kinesis";
import { Key } from "aws-cdk-lib/aws-kms";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { FilterCriteria, StartingPosition } from "aws-cdk-lib/aws-lambda";
import { SqsDlq, type DynamoEventSourceProps, type KinesisEventSourceProps } from "aws-cdk-lib/aws-lambda-event-sources";
import { BlockPublicAccess, BucketEncryption } from "aws-cdk-lib/aws-s3";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Bucket, KinesisStream, Table, type Function as SstFunction, type FunctionProps, type StackContext } from "sst/constructs";
import {
  CONSUMER_FUNCTION,
  CONSUMERS,
  DEFAULT_KPI_TTL_DAYS,
  DEFAULT_RAW_RETENTION_DAYS,
  KPI_AGGREGATOR_FILTER,
  MATCHER_FILTER,
  TRIP_STREAM,
  TRIP_TABLE,
  kinesisEventTypeFilter,
  streamShardCount,
  type EventSourceSpec,
} from "../packages/core/src/pipeline-spec";
import { addPipelineMonitoring } from "./monitoring";

type ConsumerName = keyof typeof CONSUMERS;

export function Pipeline({ stack, app }: StackContext) {
  const prod = app.stage === "prod";
  const removalPolicy = prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

  // One customer-managed key for the pipeline's data at rest: stream, table, DLQs, bucket.
  const key = new Key(stack, "PipelineKey", {
    description: `trip-pipeline ${app.stage}: stream, table, dead-letter queues, bucket`,
    enableKeyRotation: true,
    removalPolicy,
  });

  const stream = new KinesisStream(stack, TRIP_STREAM.name, {
    cdk: { stream: { shardCount: streamShardCount(app.stage), encryption: StreamEncryption.KMS, encryptionKey: key } },
  });

  const { partitionKey, sortKey, completedByDay, ttlAttribute } = TRIP_TABLE;
  const table = new Table(stack, TRIP_TABLE.name, {
    fields: {
      [partitionKey]: "string",
      [sortKey]: "string",
      [completedByDay.partitionKey]: "string",
      [completedByDay.sortKey]: "string",
    },
    primaryIndex: { partitionKey, sortKey },
    globalIndexes: {
      [completedByDay.name]: { partitionKey: completedByDay.partitionKey, sortKey: completedByDay.sortKey, projection: "all" },
    },
    timeToLiveAttribute: ttlAttribute,
    stream: "new_and_old_images",
    cdk: { table: { pointInTimeRecovery: true, encryption: TableEncryption.CUSTOMER_MANAGED, encryptionKey: key } },
  });

  // The data lake bucket lives here, not in Analytics: the consumers write the failed trail to
  // it, and Analytics already depends on this stack (the reverse reference would be a cycle).
  const bucket = new Bucket(stack, "AnalyticsBucket", {
    // Only services read and write it; SST's default would allow every browser origin.
    cors: false,
    cdk: {
      bucket: {
        versioned: true,
        enforceSSL: true,
        // SST's default only half-blocks public access; nothing here is ever public.
        blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
        encryption: BucketEncryption.KMS,
        encryptionKey: key,
        // One data key per bucket instead of a KMS call per object.
        bucketKeyEnabled: true,
        autoDeleteObjects: !prod,
        removalPolicy,
      },
    },
  });

  // Where a stream batch goes once retries or record age run out (Lambda sends the batch's
  // shard and sequence range, so it can be re-read while the stream still retains it).
  const dlqs = Object.fromEntries(
    (Object.keys(CONSUMERS) as ConsumerName[]).map((name) => [
      name,
      new Queue(stack, `${name}Dlq`, {
        encryption: QueueEncryption.KMS,
        encryptionMasterKey: key,
        retentionPeriod: Duration.days(14),
        enforceSSL: true,
        removalPolicy,
      }),
    ]),
  ) as Record<ConsumerName, Queue>;

  const consumerFunction = (name: ConsumerName): FunctionProps => ({
    handler: CONSUMERS[name].handler,
    description: `trip-pipeline ${name}`,
    timeout: CONSUMER_FUNCTION.timeoutSeconds,
    memorySize: CONSUMER_FUNCTION.memoryMb,
    logRetention: "one_month",
    bind: [table, bucket],
    environment: { RAW_RETENTION_DAYS: String(DEFAULT_RAW_RETENTION_DAYS) },
  });

  /** Every number comes from the pipeline spec, which the local runtime emulates too. */
  const eventSource = (name: ConsumerName, spec: EventSourceSpec & { tumblingWindowSeconds?: number }, filter: object): KinesisEventSourceProps & DynamoEventSourceProps => ({
    // From the oldest retained record: nothing written while a mapping is (re)created is skipped.
    startingPosition: StartingPosition.TRIM_HORIZON,
    batchSize: spec.batchSize,
    maxBatchingWindow: Duration.seconds(spec.maxBatchingWindowSeconds),
    bisectBatchOnError: spec.bisectBatchOnError,
    retryAttempts: spec.retryAttempts,
    maxRecordAge: Duration.seconds(spec.maxRecordAgeSeconds),
    reportBatchItemFailures: spec.reportBatchItemFailures,
    parallelizationFactor: spec.parallelizationFactor,
    onFailure: new SqsDlq(dlqs[name]),
    filters: [FilterCriteria.filter(filter)],
    ...(spec.tumblingWindowSeconds !== undefined && { tumblingWindow: Duration.seconds(spec.tumblingWindowSeconds) }),
  });

  // The live KPI aggregator touches only KPI# items and reads the per-day GSI: no binding (that
  // would grant dynamodb:* on the table and the bucket), the table's name in the variable the
  // binding would set, and grants limited to the keys it owns.
  const kpiAggregatorFunction: FunctionProps = {
    ...consumerFunction("kpiAggregator"),
    bind: [],
    environment: { SST_Table_tableName_TripData: table.tableName, KPI_TTL_DAYS: String(DEFAULT_KPI_TTL_DAYS) },
    permissions: [
      new PolicyStatement({
        actions: ["dynamodb:Query", "dynamodb:UpdateItem"],
        resources: [table.tableArn],
        conditions: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["KPI#*"] } },
      }),
      // Max/min recomputed from the day's completed trips when the extreme one is removed.
      new PolicyStatement({
        actions: ["dynamodb:Query"],
        resources: [`${table.tableArn}/index/${completedByDay.name}`],
        conditions: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["DAY#*"] } },
      }),
    ],
  };

  // No stream binding: the consumers never call Kinesis (Lambda polls it for them, with the
  // read grant the event source adds); a binding would grant kinesis:* on the stream.
  stream.addConsumers(stack, {
    tripBegin: { function: consumerFunction("tripBegin"), cdk: { eventSource: eventSource("tripBegin", CONSUMERS.tripBegin, kinesisEventTypeFilter("start")) } },
    tripFinish: { function: consumerFunction("tripFinish"), cdk: { eventSource: eventSource("tripFinish", CONSUMERS.tripFinish, kinesisEventTypeFilter("end")) } },
  });
  table.addConsumers(stack, {
    matcher: { function: consumerFunction("matcher"), cdk: { eventSource: eventSource("matcher", CONSUMERS.matcher, MATCHER_FILTER) } },
    kpiAggregator: { function: kpiAggregatorFunction, cdk: { eventSource: eventSource("kpiAggregator", CONSUMERS.kpiAggregator, KPI_AGGREGATOR_FILTER) } },
  });

  const consumers: Record<ConsumerName, SstFunction> = {
    tripBegin: stream.getFunction("tripBegin")!,
    tripFinish: stream.getFunction("tripFinish")!,
    matcher: table.getFunction("matcher")!,
    kpiAggregator: table.getFunction("kpiAggregator")!,
  };
  // The table and the bucket are encrypted with the pipeline key: reading and writing them needs it.
  for (const fn of Object.values(consumers)) key.grantEncryptDecrypt(fn);

  const { topic } = addPipelineMonitoring(stack, { stream, consumers, dlqs, table, key });

  stack.addOutputs({ StreamName: stream.streamName, TableName: table.tableName, BucketName: bucket.bucketName, AlarmTopicArn: topic.topicArn });
  return { key, stream, table, bucket, consumers, dlqs, topic };
}
