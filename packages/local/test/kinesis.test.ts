import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  PutRecordsCommand,
} from "@aws-sdk/client-kinesis";
import { createKinesisClient } from "@trip-pipeline/core/platform/aws-clients";
import { expect, test } from "vitest";
import { createTripStream, startLocalKinesis } from "../src/kinesis.js";

test("the embedded Kinesis takes records and gives them back per shard, in order", async () => {
  const server = await startLocalKinesis();
  const kinesis = createKinesisClient({ endpoint: server.endpoint });
  try {
    await createTripStream(kinesis, 2);
    const put = await kinesis.send(
      new PutRecordsCommand({
        StreamName: "TripEventsStream",
        Records: ["a", "b", "c"].map((v) => ({ Data: Buffer.from(v), PartitionKey: "trip-1" })),
      }),
    );
    expect(put.FailedRecordCount).toBe(0);
    const shards = (await kinesis.send(new ListShardsCommand({ StreamName: "TripEventsStream" }))).Shards!;
    expect(shards).toHaveLength(2);
    const shardId = put.Records![0]!.ShardId!;
    const { ShardIterator } = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: "TripEventsStream",
        ShardId: shardId,
        ShardIteratorType: "TRIM_HORIZON",
      }),
    );
    const { Records } = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
    expect(Records!.map((r) => Buffer.from(r.Data!).toString())).toEqual(["a", "b", "c"]);
  } finally {
    kinesis.destroy();
    await server.close();
  }
});
