/**
 * Test doubles for the local runtime's functions, built on its platform as the real handlers are
 * (handlerFor): they record what Lambda would hand them and write like the real consumers do
 * (through the SDK, the table named by the functions' configuration).
 */
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { createDynamoDbClient } from "@trip-pipeline/core/platform/aws-clients";
import { FUNCTION_ENV } from "@trip-pipeline/core/platform/config-names";
import type { Platform } from "@trip-pipeline/functions/environment";
import type { Context } from "aws-lambda";
import type { HandlerFactory } from "../../src/lambda.js";

export interface Recorded {
  events: {
    consumer: string;
    event: { Records: unknown[] };
    context: Context;
    env: Record<string, string | undefined>;
  }[];
}

/** A double's factory, typed as the runtime takes it (its events are what each consumer is handed). */
function double<E>(build: (platform: Platform) => (event: E, context: Context) => Promise<unknown>): HandlerFactory {
  return build as unknown as HandlerFactory;
}

const RECORDED: Recorded = { events: [] };

export function recorded(): Recorded {
  return RECORDED;
}

const ENV = [...Object.values(FUNCTION_ENV), "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_KINESIS", "AWS_REGION"];

function record(consumer: string, event: { Records: unknown[] }, context: Context): void {
  recorded().events.push({
    consumer,
    event,
    context,
    env: Object.fromEntries(ENV.map((name) => [name, process.env[name]])),
  });
}

/** Stores each event as a raw item, twice for "twice" ids (the second write is a MODIFY). */
async function storeRaw(
  platform: Platform,
  kind: "START" | "END",
  event: { Records: { kinesis: { data: string } }[] },
): Promise<void> {
  const db = createDynamoDbClient({ transport: platform.dynamoDbTransport });
  const TableName = process.env[FUNCTION_ENV.tripTable];
  for (const { kinesis } of event.Records) {
    const data = JSON.parse(Buffer.from(kinesis.data, "base64").toString("utf8")) as { trip_id: string; at: string };
    const item = { trip_id: { S: data.trip_id }, sort_key: { S: `RAW#${kind}#${data.at}` } };
    await db.send(new PutItemCommand({ TableName, Item: item }));
    if (data.trip_id.startsWith("twice"))
      await db.send(new PutItemCommand({ TableName, Item: { ...item, again: { BOOL: true } } }));
    await db.send(
      new PutItemCommand({ TableName, Item: { trip_id: { S: data.trip_id }, sort_key: { S: `NOTE#${kind}` } } }),
    );
  }
  db.destroy();
}

/** A start for trip "poison" always fails its batch (the runtime must isolate it and move on). */
export const tripBegin = double(
  (platform: Platform) => async (event: { Records: { kinesis: { data: string } }[] }, context: Context) => {
    record("tripBegin", event, context);
    if (event.Records.some((r) => Buffer.from(r.kinesis.data, "base64").toString().includes('"poison"')))
      throw new Error("poison record");
    await storeRaw(platform, "START", event);
    return { batchItemFailures: [] };
  },
);

/** The catch-all (no filter): like the real one, it stores only ends (the rest is tripBegin's or trailed). */
export const tripFinish = double(
  (platform: Platform) => async (event: { Records: { kinesis: { data: string } }[] }, context: Context) => {
    record("tripFinish", event, context);
    const isEnd = (data: string) => {
      try {
        return (JSON.parse(data) as { event_type?: unknown }).event_type === "end";
      } catch {
        return false;
      }
    };
    await storeRaw(platform, "END", {
      Records: event.Records.filter((r) => isEnd(Buffer.from(r.kinesis.data, "base64").toString("utf8"))),
    });
    return { batchItemFailures: [] };
  },
);

export const matcher = double(() => async (event: { Records: unknown[] }, context: Context) => {
  record("matcher", event, context);
  return { batchItemFailures: [] };
});

/** A consumer during an outage: every invocation fails (its batches end in the on-failure destination). */
export const outage = double(() => async (event: { Records: unknown[] }, context: Context) => {
  record("outage", event, context);
  throw new Error("dependency unavailable");
});
