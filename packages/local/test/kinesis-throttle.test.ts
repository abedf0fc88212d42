import { GetRecordsCommand, GetShardIteratorCommand, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { createKinesisClient } from "@trip-pipeline/core/platform/aws-clients";
import { expect, test } from "vitest";
import { createTripStream, startLocalKinesis } from "../src/kinesis.js";
import { startKinesisThrottle } from "../src/kinesis-throttle.js";
import { Throttle } from "../src/throttle.js";

test("the Kinesis throttle fails whole calls or single records with ProvisionedThroughputExceededException; what it lets through is written", async () => {
  const server = await startLocalKinesis();
  const throttle = new Throttle({ rate: 1, seed: 9 });
  const proxy = await startKinesisThrottle(server.endpoint, throttle);
  const direct = createKinesisClient({ endpoint: server.endpoint });
  const throttled = createKinesisClient({ endpoint: proxy.endpoint, maxAttempts: 1 });
  try {
    await createTripStream(direct, 1);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, call) =>
        throttled.send(
          new PutRecordsCommand({
            StreamName: "TripEventsStream",
            Records: [0, 1, 2, 3].map((i) => ({ PartitionKey: "k", Data: Buffer.from(`${call}-${i}`) })),
          }),
        ),
      ),
    );
    const rejected = outcomes.filter((o) => o.status === "rejected");
    const partial = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
    expect(rejected.length).toBeGreaterThan(0);
    expect(
      rejected.every((o) => (o as PromiseRejectedResult).reason.name === "ProvisionedThroughputExceededException"),
    ).toBe(true);
    expect(partial.length).toBeGreaterThan(0);
    const accepted = partial.reduce(
      (sum, result) => sum + result.Records!.filter((entry) => !entry.ErrorCode).length,
      0,
    );
    for (const result of partial) {
      expect(result.FailedRecordCount).toBe(
        result.Records!.filter((entry) => entry.ErrorCode === "ProvisionedThroughputExceededException").length,
      );
      expect(result.FailedRecordCount).toBeGreaterThan(0);
    }
    const { ShardIterator } = await direct.send(
      new GetShardIteratorCommand({
        StreamName: "TripEventsStream",
        ShardId: "shardId-000000000000",
        ShardIteratorType: "TRIM_HORIZON",
      }),
    );
    const { Records = [] } = await direct.send(new GetRecordsCommand({ ShardIterator }));
    expect(Records).toHaveLength(accepted);
    expect(throttle.counts.requests).toBe(rejected.length);
  } finally {
    direct.destroy();
    throttled.destroy();
    await proxy.close();
    await server.close();
  }
});
