/**
 * Test doubles for the local runtime's functions: they record what Lambda would hand them and
 * write like the real consumers do (through the SDK, configured from the environment contract).
 * The runtime loads them as separate module instances, so they report through globalThis.
 */
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import type { Context } from "aws-lambda";
import { createDynamoDbClient } from "@trip-pipeline/core/aws/clients";

export interface Recorded {
  events: { consumer: string; event: { Records: unknown[] }; context: Context; env: Record<string, string | undefined> }[];
}

export function recorded(): Recorded {
  const global = globalThis as { __localHandlers?: Recorded };
  return (global.__localHandlers ??= { events: [] });
}

const ENV = ["SST_APP", "SST_STAGE", "SST_Table_tableName_TripData", "SST_Bucket_bucketName_AnalyticsBucket", "TRIP_PIPELINE_LOCAL_BUCKET_DIR", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_KINESIS", "AWS_REGION"];

function record(consumer: string, event: { Records: unknown[] }, context: Context): void {
  recorded().events.push({ consumer, event, context, env: Object.fromEntries(ENV.map((name) => [name, process.env[name]])) });
}

/** Stores each event as a raw item, twice for "twice" ids (the second write is a MODIFY). */
async function storeRaw(kind: "START" | "END", event: { Records: { kinesis: { data: string } }[] }): Promise<void> {
  const db = createDynamoDbClient();
  for (const { kinesis } of event.Records) {
    const data = JSON.parse(Buffer.from(kinesis.data, "base64").toString("utf8")) as { trip_id: string; at: string };
    const item = { trip_id: { S: data.trip_id }, sort_key: { S: `RAW#${kind}#${data.at}` } };
    await db.send(new PutItemCommand({ TableName: process.env.SST_Table_tableName_TripData, Item: item }));
    if (data.trip_id.startsWith("twice")) await db.send(new PutItemCommand({ TableName: process.env.SST_Table_tableName_TripData, Item: { ...item, again: { BOOL: true } } }));
    await db.send(new PutItemCommand({ TableName: process.env.SST_Table_tableName_TripData, Item: { trip_id: { S: data.trip_id }, sort_key: { S: `NOTE#${kind}` } } }));
  }
  db.destroy();
}

/** A start for trip "poison" always fails its batch (the runtime must isolate it and move on). */
export async function tripBegin(event: { Records: { kinesis: { data: string } }[] }, context: Context) {
  record("tripBegin", event, context);
  if (event.Records.some((r) => Buffer.from(r.kinesis.data, "base64").toString().includes('"poison"'))) throw new Error("poison record");
  await storeRaw("START", event);
  return { batchItemFailures: [] };
}

/** The catch-all (no filter): like the real one, it stores only ends (the rest is tripBegin's or trailed). */
export async function tripFinish(event: { Records: { kinesis: { data: string } }[] }, context: Context) {
  record("tripFinish", event, context);
  const isEnd = (data: string) => {
    try {
      return (JSON.parse(data) as { event_type?: unknown }).event_type === "end";
    } catch {
      return false;
    }
  };
  await storeRaw("END", { Records: event.Records.filter((r) => isEnd(Buffer.from(r.kinesis.data, "base64").toString("utf8"))) });
  return { batchItemFailures: [] };
}

export async function matcher(event: { Records: unknown[] }, context: Context) {
  record("matcher", event, context);
  return { batchItemFailures: [] };
}

/** A consumer during an outage: every invocation fails (its batches end in the on-failure destination). */
export async function outage(event: { Records: unknown[] }, context: Context) {
  record("outage", event, context);
  throw new Error("dependency unavailable");
}
