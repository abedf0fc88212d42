/**
 * The emulators' ceiling for a data set: how long the operations the pipeline cannot do without
 * take on fresh emulators, with nothing else running, on one thread. By default DynamoDB is
 * reached over HTTP with the SDK's whole stack; `in-process`
 * makes the same calls the way the local AWS makes them (localDynamoDb: no HTTP, no signature,
 * no wire headers), so a run can also be compared with a minimum that shares its per-call cuts. For every valid event a PutRecords entry
 * and a GetRecords read; for every raw item a BatchWriteItem put; per trip with a start and an
 * end one Query, the COMPLETED put and the deletes of its raw items. Requests are built before
 * the clock starts, so (but for the COMPLETED put, built by the trip store) only the calls are timed. `pnpm bench` compares a whole run against it.
 */
import { createReadStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  PutRecordsCommand,
} from "@aws-sdk/client-kinesis";
import { BatchWriteCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { readCsvRows } from "@trip-pipeline/core/domain/csv";
import {
  type EndEvent,
  type EventType,
  encodeWireEvent,
  REQUIRED_FIELDS,
  type StartEvent,
  type TripEvent,
  validateEvent,
} from "@trip-pipeline/core/domain/events";
import { matchTrip } from "@trip-pipeline/core/domain/trip";
import { KINESIS_LIMITS } from "@trip-pipeline/core/ingest/sender";
import { DEFAULT_REGION } from "@trip-pipeline/core/platform/app";
import {
  createDocumentClient,
  createDynamoDbClient,
  createKinesisClient,
} from "@trip-pipeline/core/platform/aws-clients";
import { mapWithConcurrency } from "@trip-pipeline/core/platform/concurrency";
import { streamShardCount, TRIP_STREAM, TRIP_TABLE } from "@trip-pipeline/core/platform/pipeline-spec";
import { TripStore } from "@trip-pipeline/core/store/trip-store";
import { keyItemOf, keyOfRequest, type WriteRequest } from "@trip-pipeline/core/store/write-request";
import { createTripTable, startLocalDynamoDb } from "./dynamo.js";
import { localDynamoDb } from "./dynamodb-transport.js";
import { startEmbeddedDynamoDb } from "./embedded-dynamodb.js";
import { createTripStream, startLocalKinesis } from "./kinesis.js";
import { LOCAL_STAGE } from "./runtime.js";

export interface CeilingResult {
  events: number;
  trips: number;
  seconds: number;
  /** Seconds per kind of operation. */
  phases: Record<"putRecords" | "getRecords" | "rawWrites" | "queries" | "completedPuts" | "deletes", number>;
}

/** Calls in flight: as many as the matcher kept when this ceiling was set (8); on one thread 16 measure the same (13.2-13.5 s here). */
const CONCURRENCY = 8;
const BATCH_WRITE = 25;

export interface CeilingOptions {
  kinesisShards?: number;
  /** How DynamoDB is reached: over HTTP with the SDK's whole stack (default), or in process with the local clients' configuration. */
  dynamodb?: "http" | "in-process";
  /** Keep the table and the stream in LevelDB folders under this one, as a run on disk does (`pnpm start --on-disk`): the same emulators as the run compared. */
  storageDir?: string;
}

export async function measureCeiling(
  startFile: string,
  endFile: string,
  options: CeilingOptions = {},
): Promise<CeilingResult> {
  const events = [...(await validEvents("start", startFile)), ...(await validEvents("end", endFile))];
  // LevelDB creates its own folder, not the ones above it.
  if (options.storageDir) await mkdir(options.storageDir, { recursive: true });
  const folder = (name: string) => options.storageDir && join(options.storageDir, name);
  const { dynamo, transport } =
    options.dynamodb === "in-process"
      ? await inProcessDynamoDb(folder("table"))
      : { dynamo: await startLocalDynamoDb(folder("table")), transport: undefined };
  const kinesisServer = await startLocalKinesis(folder("stream"));
  const raw = createDynamoDbClient({ endpoint: dynamo.endpoint, transport });
  const db = createDocumentClient(raw);
  const kinesis = createKinesisClient({ endpoint: kinesisServer.endpoint });
  try {
    await createTripTable(raw);
    await createTripStream(kinesis, options.kinesisShards ?? streamShardCount(LOCAL_STAGE));
    const store = new TripStore(db, TRIP_TABLE.name);

    // Everything sent is built first (a duplicate event is the same raw item).
    const records = events.map((event) => ({ PartitionKey: event.trip_id, Data: Buffer.from(encodeWireEvent(event)) }));
    const requests = events.map((event) => store.rawPut(event, 0));
    const rawPuts = new Map(requests.map((request) => [keyOfRequest(request), request]));
    const byTrip = new Map<
      string,
      { starts: StartEvent[]; ends: EndEvent[]; keys: Map<string, Record<string, unknown>> }
    >();
    events.forEach((event, i) => {
      const trip = byTrip.get(event.trip_id) ?? {
        starts: [] as StartEvent[],
        ends: [] as EndEvent[],
        keys: new Map<string, Record<string, unknown>>(),
      };
      if (event.event_type === "start") trip.starts.push(event);
      else trip.ends.push(event);
      const item = keyItemOf(requests[i]!);
      trip.keys.set(keyOfRequest(requests[i]!), {
        [TRIP_TABLE.partitionKey]: item[TRIP_TABLE.partitionKey],
        [TRIP_TABLE.sortKey]: item[TRIP_TABLE.sortKey],
      });
      byTrip.set(event.trip_id, trip);
    });
    const paired = [...byTrip].filter(([, trip]) => trip.starts.length > 0 && trip.ends.length > 0);
    const completed = paired.flatMap(([, trip]) => {
      const outcome = matchTrip(trip.starts, trip.ends);
      return outcome.kind === "completed" ? [outcome.trip] : [];
    });
    const deletes = paired.flatMap(([, trip]) => [...trip.keys.values()].map((Key) => ({ DeleteRequest: { Key } })));

    const phases = {} as CeilingResult["phases"];
    const timed = async (phase: keyof CeilingResult["phases"], work: () => Promise<unknown>) => {
      const started = performance.now();
      await work();
      phases[phase] = (performance.now() - started) / 1000;
    };
    await timed("putRecords", () =>
      mapWithConcurrency(chunks(records, KINESIS_LIMITS.recordsPerCall), 2, (chunk) =>
        kinesis.send(new PutRecordsCommand({ StreamName: TRIP_STREAM.name, Records: chunk })),
      ),
    );
    await timed("getRecords", async () => {
      const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: TRIP_STREAM.name }));
      await Promise.all(
        Shards.map(async ({ ShardId }) => {
          let { ShardIterator } = await kinesis.send(
            new GetShardIteratorCommand({ StreamName: TRIP_STREAM.name, ShardId, ShardIteratorType: "TRIM_HORIZON" }),
          );
          for (;;) {
            const page = await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 10_000 }));
            if (!page.Records?.length) break;
            ShardIterator = page.NextShardIterator;
          }
        }),
      );
    });
    const table = TRIP_TABLE.name;
    const batchWrite = (requests: readonly WriteRequest[]) =>
      mapWithConcurrency(chunks(requests, BATCH_WRITE), CONCURRENCY, (chunk) =>
        db.send(new BatchWriteCommand({ RequestItems: { [table]: chunk } })),
      );
    await timed("rawWrites", () => batchWrite([...rawPuts.values()]));
    await timed("queries", () =>
      mapWithConcurrency(paired, CONCURRENCY, ([tripId]) =>
        db.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: "#pk = :trip",
            ExpressionAttributeNames: { "#pk": TRIP_TABLE.partitionKey },
            ExpressionAttributeValues: { ":trip": tripId },
            ConsistentRead: true,
          }),
        ),
      ),
    );
    await timed("completedPuts", () =>
      mapWithConcurrency(completed, CONCURRENCY, (trip) => store.createCompleted(trip)),
    );
    await timed("deletes", () => batchWrite(deletes));
    return {
      events: events.length,
      trips: paired.length,
      seconds: Object.values(phases).reduce((a, b) => a + b, 0),
      phases,
    };
  } finally {
    kinesis.destroy();
    raw.destroy();
    await Promise.all([dynamo.close(), kinesisServer.close()]);
  }
}

/** dynalite in this thread and the transport the local AWS gives its clients (no stream capture: the ceiling writes no stream). */
async function inProcessDynamoDb(tableDir: string | undefined) {
  const dynamo = await startEmbeddedDynamoDb({ region: DEFAULT_REGION, streamShards: 1, streams: [], tableDir });
  const transport = localDynamoDb({
    dynamodbEndpoint: dynamo.endpoint,
    callDynamoDb: async (operation, body) => {
      const reply = await dynamo.call(operation, body);
      return { status: reply.status, body: JSON.stringify(reply.body) };
    },
  });
  return { dynamo, transport };
}

async function validEvents(type: EventType, file: string): Promise<TripEvent[]> {
  const events: TripEvent[] = [];
  for await (const row of readCsvRows(createReadStream(file), REQUIRED_FIELDS[type], file)) {
    if (row.malformed) continue;
    const checked = validateEvent(type, row.record);
    if (checked.ok) events.push(checked.value);
  }
  return events;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
