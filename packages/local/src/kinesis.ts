/** The embedded Kinesis of the local AWS: kinesalite in this process, the stream as deployed. */
import { CreateStreamCommand, type KinesisClient, waitUntilStreamExists } from "@aws-sdk/client-kinesis";
import { TRIP_STREAM } from "@trip-pipeline/core/platform/pipeline-spec";
import kinesalite from "kinesalite";
import { type LocalServer, listen } from "./dynamo.js";

/** `dir`: the records in a LevelDB folder there (kinesalite's own option; the binary ships prebuilt with it) instead of in memory. */
export async function startLocalKinesis(dir?: string): Promise<LocalServer> {
  return listen(
    kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 64, ...(dir && { path: dir }) }),
  );
}

export async function createTripStream(
  client: KinesisClient,
  shardCount: number,
  streamName: string = TRIP_STREAM.name,
): Promise<void> {
  await client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
  await waitUntilStreamExists({ client, maxWaitTime: 30, minDelay: 0.05, maxDelay: 0.2 }, { StreamName: streamName });
}
