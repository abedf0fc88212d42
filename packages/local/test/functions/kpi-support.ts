/**
 * The live KPI tests' world: TripData on the embedded DynamoDB, whose captured stream gives
 * the aggregator DynamoDB Streams records exactly as Lambda delivers them (images, sequence
 * numbers, several shards), filtered by the deployed KPI filter; faults on the aggregator's
 * own client.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand } from "@aws-sdk/lib-dynamodb";
import type { CompletedTrip } from "@trip-pipeline/core/domain/trip";
import type { KpiAggregatorDeps } from "@trip-pipeline/core/live/aggregator";
import { createDocumentClient, createDynamoDbClient } from "@trip-pipeline/core/platform/aws-clients";
import { createLogger } from "@trip-pipeline/core/platform/logger";
import { CONSUMERS, TRIP_TABLE } from "@trip-pipeline/core/platform/pipeline-spec";
import { TripStore } from "@trip-pipeline/core/store/trip-store";
import type { DynamoDBRecord } from "aws-lambda";
import { createTripTable } from "../../src/dynamo.js";
import { type DynamoDbBehaviours, type EmbeddedDynamoDb, startEmbeddedDynamoDb } from "../../src/embedded-dynamodb.js";
import { matchesAny } from "../../src/event-filter.js";

export class InjectedFault extends Error {
  override name = "ProvisionedThroughputExceededException";
}

type Middleware = (
  next: (args: { input: unknown }) => Promise<unknown>,
  context: { commandName?: string },
) => (args: { input: unknown }) => Promise<unknown>;

/** Faults of one client: every write fails after a budget (a crash), or chosen updates fail. */
export class Faults {
  writesLeft = Infinity;
  failing: (input: Record<string, unknown>) => boolean = () => false;
  writes = 0;

  heal(): void {
    this.writesLeft = Infinity;
    this.failing = () => false;
  }

  get crashed(): boolean {
    return this.writesLeft < 0;
  }

  middleware(): Middleware {
    return (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      const write = /^(PutItem|UpdateItem|DeleteItem|BatchWriteItem)Command$/.test(String(context.commandName));
      if (write) this.writesLeft -= 1;
      if (this.writesLeft < 0) throw new InjectedFault("simulated crash: every call fails from here on");
      if (write && this.failing(input)) throw new InjectedFault("injected write failure");
      const output = await next(args);
      if (write) this.writes += 1;
      return output;
    };
  }
}

export interface KpiWorld {
  dynamodb: EmbeddedDynamoDb;
  tableName: string;
  /** The matcher's side: writes COMPLETED items (its own client, no faults). */
  store: TripStore;
  /** The aggregator's dependencies: a client of its own, with `faults`; TTL 35 days. */
  deps: KpiAggregatorDeps;
  faults: Faults;
  /** The matcher's COMPLETED write of a trip, and a delete of that item (a re-match or a lost duplicate). */
  complete(trip: CompletedTrip): Promise<unknown>;
  remove(trip: CompletedTrip): Promise<unknown>;
  /** New COMPLETED# records per stream shard since the last call, as the KPI filter passes them. */
  takeChanges(): { shardId: string; records: DynamoDBRecord[] }[];
  close(): Promise<void>;
}

/** The table on the embedded DynamoDB, optionally behaving as DynamoDB may (index lag, TTL, torn Queries). */
export async function kpiWorld(streamShards = 2, behaviours: DynamoDbBehaviours = {}): Promise<KpiWorld> {
  const dynamodb = await startEmbeddedDynamoDb({
    region: "eu-north-1",
    streamShards,
    streams: [
      {
        name: TRIP_TABLE.name,
        partitionKey: TRIP_TABLE.partitionKey,
        sortKey: TRIP_TABLE.sortKey,
        viewType: TRIP_TABLE.streamView,
        ttlAttribute: TRIP_TABLE.ttlAttribute,
      },
    ],
    ...behaviours,
  });
  const clients: DynamoDBClient[] = [
    createDynamoDbClient({ endpoint: dynamodb.endpoint }),
    createDynamoDbClient({ endpoint: dynamodb.endpoint, maxAttempts: 1 }),
  ];
  const [plain, faulty] = clients as [DynamoDBClient, DynamoDBClient];
  await createTripTable(plain);
  const faults = new Faults();
  faulty.middlewareStack.add(faults.middleware() as never, { step: "initialize", name: "faults" });
  const log = dynamodb.streams.get(TRIP_TABLE.name)!;
  const cursors = log.shards.map((shard, index) => ({ shardId: shard.shardId, cursor: log.cursor(index) }));
  const store = new TripStore(createDocumentClient(plain), TRIP_TABLE.name);
  return {
    dynamodb,
    tableName: TRIP_TABLE.name,
    store,
    deps: {
      db: createDocumentClient(faulty),
      tableName: TRIP_TABLE.name,
      logger: createLogger("kpi-test"),
      ttlDays: 35,
      now: () => new Date(),
      indexWaitsMs: [],
    },
    faults,
    complete: (trip) => store.createCompleted(trip),
    remove: (trip) =>
      store.db.send(
        new DeleteCommand({
          TableName: TRIP_TABLE.name,
          Key: { trip_id: trip.trip_id, sort_key: `COMPLETED#${trip.pickup_datetime}` },
        }),
      ),
    takeChanges: () =>
      cursors.map(({ shardId, cursor }) => ({
        shardId,
        records: cursor.read(100_000).filter((record) => matchesAny(CONSUMERS.kpiAggregator.filters, record)),
      })),
    async close() {
      for (const client of clients) client.destroy();
      await dynamodb.close();
    },
  };
}

/** A completed trip with only what the KPI tests vary: a zero-minute ride, estimated fare 1. */
export function completedTrip(trip_id: string, pickup: string, fare_amount: string): CompletedTrip {
  return { trip_id, pickup_datetime: pickup, dropoff_datetime: pickup, estimated_fare_amount: "1", fare_amount };
}
