/** A test file's embedded Kinesis: one emulator for the file, a fresh stream for every test. */
import { DeleteStreamCommand, type KinesisClient } from "@aws-sdk/client-kinesis";
import { createKinesisClient } from "@trip-pipeline/core/platform/aws-clients";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import type { LocalServer } from "../../src/dynamo.js";
import { createTripStream, startLocalKinesis } from "../../src/kinesis.js";

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
    streams += 1;
    local.stream = `${streamPrefix}-${streams}`;
    await createTripStream(local.kinesis, shards, local.stream);
  });
  // The emulator caps shards per account (64) like AWS: a finished test's stream gives its shards back.
  afterEach(async () => {
    await local.kinesis.send(new DeleteStreamCommand({ StreamName: local.stream }));
  });
  return local;
}
