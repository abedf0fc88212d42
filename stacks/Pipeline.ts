import { RemovalPolicy } from "aws-cdk-lib";
import { StreamEncryption } from "aws-cdk-lib/aws-kinesis";
import { Bucket, KinesisStream, Table, type StackContext } from "sst/constructs";
import { TRIP_STREAM, TRIP_TABLE } from "../packages/core/src/pipeline-spec";

export function Pipeline({ stack, app }: StackContext) {
  const prod = app.stage === "prod";

  const stream = new KinesisStream(stack, TRIP_STREAM.name, {
    cdk: { stream: { shardCount: prod ? 4 : 1, encryption: StreamEncryption.MANAGED } },
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
    cdk: { table: { pointInTimeRecovery: true } },
  });

  // The data lake bucket lives here, not in Analytics: the consumers write the failed trail to
  // it, and Analytics already depends on this stack (the reverse reference would be a cycle).
  const bucket = new Bucket(stack, "AnalyticsBucket", {
    cdk: { bucket: { versioned: true, enforceSSL: true, autoDeleteObjects: !prod, removalPolicy: prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY } },
  });

  stack.addOutputs({ StreamName: stream.streamName, TableName: table.tableName, BucketName: bucket.bucketName });
  return { stream, table, bucket };
}
