/** A test file's embedded Kinesis: one emulator for the file, a fresh stream for every test. */
import type { KinesisClient } from "@aws-sdk/client-kinesis";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { createKinesisClient } from "../../src/aws/clients.js";
import type { LocalServer } from "@trip-pipeline/local/dynamo";
import { createTripStream, startLocalKinesis } from "@trip-pipeline/local/kinesis";

export interface LocalKinesis {
  server: LocalServer;
  kinesis: KinesisClient;
  /** The current test's stream. */
  stream: string;
}

export function useLocalKinesis(shards: number, streamPrefix: string): LocalKinesis {
  const local = {} as LocalKinesis;
  let streams = 0;
  beforeAll(async () => {
    local.server = await startLocalKinesis();
    local.kinesis = createKinesisClient({ endpoint: local.server.endpoint });
  });
  afterAll(async () => {
    local.kinesis.destroy();
    await local.server.close();
  });
  beforeEach(async () => {
    local.stream = `${streamPrefix}-${(streams += 1)}`;
    await createTripStream(local.kinesis, shards, local.stream);
  });
  return local;
}
