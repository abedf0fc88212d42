import { Duration } from "aws-cdk-lib";
import { TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { StreamEncryption } from "aws-cdk-lib/aws-kinesis";
import { Key } from "aws-cdk-lib/aws-kms";
import { EventSourceMapping, FilterCriteria, type IEventSourceDlq, StartingPosition } from "aws-cdk-lib/aws-lambda";
import type { DynamoEventSourceProps, KinesisEventSourceProps } from "aws-cdk-lib/aws-lambda-event-sources";
import { BlockPublicAccess, BucketEncryption, type IBucket, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import {
  Bucket,
  type FunctionProps,
  KinesisStream,
  type Function as SstFunction,
  type StackContext,
  Table,
} from "sst/constructs";
import { FUNCTION_ENV } from "../packages/core/src/platform/config-names";
import {
  CONSUMER_FUNCTION,
  CONSUMERS,
  DEFAULT_KPI_TTL_DAYS,
  DEFAULT_RAW_RETENTION_DAYS,
  type EventSourceSpec,
  streamShardCount,
  TRIP_STREAM,
  TRIP_TABLE,
} from "../packages/core/src/platform/pipeline-spec";
import { ACCESS, grantAccess } from "./access";
import { bucketLifecycleRules } from "./lifecycle";
import { allowLogEncryption, functionLogGroup, providersLogToGroups } from "./logs";
import { addPipelineMonitoring } from "./monitoring";
import { dataStoreRemovalPolicy } from "./removal";

type ConsumerName = keyof typeof CONSUMERS;

export function Pipeline({ stack, app }: StackContext) {
  const prod = app.stage === "prod";
  // Only the data stores outlive a failed first create or an `sst remove` (stacks/removal.ts).
  const removalPolicy = dataStoreRemovalPolicy(app.stage);

  // One customer-managed key for the pipeline's data at rest: stream, table, bucket, every log group.
  const key = new Key(stack, "PipelineKey", {
    description: `trip-pipeline ${app.stage}: stream, table, bucket, the app's log groups`,
    enableKeyRotation: true,
    removalPolicy,
  });
  allowLogEncryption(stack, key, app.stage, app.name);
  providersLogToGroups(stack, key);

  const stream = new KinesisStream(stack, TRIP_STREAM.name, {
    cdk: {
      stream: {
        shardCount: streamShardCount(app.stage),
        encryption: StreamEncryption.KMS,
        encryptionKey: key,
        removalPolicy,
      },
    },
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
      [completedByDay.name]: {
        partitionKey: completedByDay.partitionKey,
        sortKey: completedByDay.sortKey,
        projection: "all",
      },
    },
    timeToLiveAttribute: ttlAttribute,
    stream: "new_and_old_images",
    cdk: {
      table: {
        pointInTimeRecovery: true,
        encryption: TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: key,
        // A DeleteTable (console, CLI, a stack change) fails until someone turns this off first.
        deletionProtection: prod,
        removalPolicy,
      },
    },
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
        // ACLs off: every object belongs to this account, whoever wrote it (Lambda, Glue, Athena).
        objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
        encryption: BucketEncryption.KMS,
        encryptionKey: key,
        // One data key per bucket instead of a KMS call per object.
        bucketKeyEnabled: true,
        lifecycleRules: bucketLifecycleRules(),
        // Object-created events for the failed-batch alarms (stacks/monitoring.ts).
        eventBridgeEnabled: true,
        autoDeleteObjects: !prod,
        removalPolicy,
      },
    },
  });

  const consumerFunction = (name: ConsumerName): FunctionProps => ({
    handler: CONSUMERS[name].handler,
    description: `trip-pipeline ${name}`,
    timeout: CONSUMER_FUNCTION.timeoutSeconds,
    memorySize: CONSUMER_FUNCTION.memoryMb,
    logGroup: functionLogGroup(stack, name, key),
    // Names only: the grants come from ACCESS below.
    environment: {
      [FUNCTION_ENV.tripTable]: table.tableName,
      [FUNCTION_ENV.analyticsBucket]: bucket.bucketName,
      [FUNCTION_ENV.rawRetentionDays]: String(DEFAULT_RAW_RETENTION_DAYS),
    },
  });

  /** Every number comes from the pipeline spec, which the local runtime emulates too. */
  const eventSource = (
    spec: EventSourceSpec & { tumblingWindowSeconds?: number },
    filters: readonly object[],
  ): KinesisEventSourceProps & DynamoEventSourceProps => ({
    // From the oldest retained record: nothing written while a mapping is (re)created is skipped.
    startingPosition: StartingPosition.TRIM_HORIZON,
    batchSize: spec.batchSize,
    maxBatchingWindow: Duration.seconds(spec.maxBatchingWindowSeconds),
    bisectBatchOnError: spec.bisectBatchOnError,
    retryAttempts: spec.retryAttempts,
    maxRecordAge: Duration.seconds(spec.maxRecordAgeSeconds),
    reportBatchItemFailures: spec.reportBatchItemFailures,
    parallelizationFactor: spec.parallelizationFactor,
    onFailure: failedBatchesTo(bucket.cdk.bucket),
    // No filter at all (not an empty list) for the catch-all consumer: it receives every record.
    ...(filters.length > 0 && { filters: filters.map((filter) => FilterCriteria.filter(filter)) }),
    ...(spec.tumblingWindowSeconds !== undefined && { tumblingWindow: Duration.seconds(spec.tumblingWindowSeconds) }),
  });

  // The live KPI aggregator touches only KPI# items and reads the per-day GSI: the table's name,
  // no bucket; its grants (ACCESS.kpiAggregator) are limited to the keys it owns.
  const kpiAggregatorFunction: FunctionProps = {
    ...consumerFunction("kpiAggregator"),
    environment: { [FUNCTION_ENV.tripTable]: table.tableName, [FUNCTION_ENV.kpiTtlDays]: String(DEFAULT_KPI_TTL_DAYS) },
  };

  // No stream binding: the consumers never call Kinesis (Lambda polls it for them, with the
  // read grant the event source adds); a binding would grant kinesis:* on the stream.
  stream.addConsumers(stack, {
    tripBegin: {
      function: consumerFunction("tripBegin"),
      cdk: { eventSource: eventSource(CONSUMERS.tripBegin, CONSUMERS.tripBegin.filters) },
    },
    tripFinish: {
      function: consumerFunction("tripFinish"),
      cdk: { eventSource: eventSource(CONSUMERS.tripFinish, CONSUMERS.tripFinish.filters) },
    },
  });
  table.addConsumers(stack, {
    matcher: {
      function: consumerFunction("matcher"),
      cdk: { eventSource: eventSource(CONSUMERS.matcher, CONSUMERS.matcher.filters) },
    },
    kpiAggregator: {
      function: kpiAggregatorFunction,
      cdk: { eventSource: eventSource(CONSUMERS.kpiAggregator, CONSUMERS.kpiAggregator.filters) },
    },
  });

  const consumers: Record<ConsumerName, SstFunction> = {
    tripBegin: stream.getFunction("tripBegin")!,
    tripFinish: stream.getFunction("tripFinish")!,
    matcher: table.getFunction("matcher")!,
    kpiAggregator: table.getFunction("kpiAggregator")!,
  };
  const resources = { tableArn: table.tableArn, bucketArn: bucket.bucketArn, keyArn: key.keyArn };
  for (const name of CONSUMER_NAMES) grantAccess(consumers[name], ACCESS[name], resources);
  const mappings = Object.fromEntries(CONSUMER_NAMES.map((name) => [name, mappingOf(consumers[name])])) as Record<
    ConsumerName,
    EventSourceMapping
  >;

  const { topic } = addPipelineMonitoring(stack, { stream, consumers, mappings, table, key });

  stack.addOutputs({
    StreamName: stream.streamName,
    TableName: table.tableName,
    BucketName: bucket.bucketName,
    AlarmTopicArn: topic.topicArn,
  });
  return { key, stream, table, bucket, consumers, topic };
}

const CONSUMER_NAMES = Object.keys(CONSUMERS) as ConsumerName[];

/**
 * Lambda's S3 on-failure destination: a discarded batch is written with its records (the
 * invocation record plus the payload) under aws/lambda/, kept as long as the bucket keeps it,
 * not just the 24 h a stream keeps the records. The function role's grant comes from ACCESS
 * (CDK's S3OnFailureDestination would grant read and delete on the whole bucket).
 */
function failedBatchesTo(bucket: IBucket): IEventSourceDlq {
  return { bind: () => ({ destination: bucket.bucketArn }) };
}

/** The function's one event-source mapping (the SST consumer creates it inside the function). */
function mappingOf(fn: SstFunction): EventSourceMapping {
  const found = fn.node.children.filter((child): child is EventSourceMapping => child instanceof EventSourceMapping);
  if (found.length !== 1) throw new Error(`${fn.node.id}: expected one event-source mapping, found ${found.length}`);
  return found[0]!;
}
