/**
 * TripData on the in-process emulator (dynalite), with what dynalite lacks for these tests:
 * - the table's stream, as the matcher receives it after its event filter: one INSERT record
 *   (Keys, NewImage, SequenceNumber) per RAW item that did not exist before the write;
 * - faults on the data path: a simulated crash (after N writes every call fails, as if the
 *   process died) and throttling (chosen items come back as UnprocessedItems, every time).
 */
import { BatchGetItemCommand, type DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { createDocumentClient, createDynamoDbClient } from "@trip-pipeline/core/platform/aws-clients";
import { MATCHER_FILTER, TRIP_TABLE } from "@trip-pipeline/core/platform/pipeline-spec";
import { TripStore } from "@trip-pipeline/core/store/trip-store";
import { keyOf } from "@trip-pipeline/core/store/write-request";
import type { DynamoDBRecord } from "aws-lambda";
// The record shape is shared with core's pure matcher tests, which must not load the emulator.
import { insertRecord } from "../../../core/test/support/stream-record.js";
import { createTripTable, type LocalServer, startLocalDynamoDb } from "../../src/dynamo.js";
import { type DynamoDbBehaviours, startEmbeddedDynamoDb } from "../../src/embedded-dynamodb.js";

export class SimulatedCrash extends Error {
  override name = "SimulatedCrash";
}

type Item = Record<string, unknown>;
type Args = { input: unknown };
type Handler = (args: Args) => Promise<{ output: unknown }>;
type Middleware = (next: Handler, context: { commandName?: string }) => Handler;

const WRITE_COMMANDS = /^(BatchWriteItem|PutItem|DeleteItem|UpdateItem)Command$/;
const RAW_PREFIX = MATCHER_FILTER.dynamodb.Keys.sort_key.S[0].prefix;
let tables = 0;

export class TestTable {
  /** The client under test: faults and the stream recorder sit in its middleware. */
  readonly client: DynamoDBClient;
  readonly store: TripStore;
  /** A plain client for setup and assertions, outside every fault. */
  private readonly observer: DynamoDBClient;
  private pendingStream: DynamoDBRecord[] = [];
  private writesLeft = Infinity;
  private throttled: (item: Item) => boolean = () => false;
  private refused: (item: Item) => boolean = () => false;
  /** Called with the command name after each successful call (tests interleave work there). */
  afterCall: (commandName: string, input: Item) => Promise<void> = async () => {};

  constructor(
    private readonly endpoint: string,
    readonly tableName = `TripData_${++tables}`,
  ) {
    this.client = createDynamoDbClient({ endpoint });
    this.observer = createDynamoDbClient({ endpoint });
    // Initialize step: inputs and outputs are still document-client shaped (plain values).
    this.client.middlewareStack.add(this.middleware() as never, { step: "initialize", name: "testTable" });
    this.store = new TripStore(createDocumentClient(this.client), this.tableName);
  }

  /** Another handle on the same table with its own client, faults and hooks: a second, concurrent matcher. */
  twin(): TestTable {
    return new TestTable(this.endpoint, this.tableName);
  }

  create(): Promise<void> {
    return createTripTable(this.observer, this.tableName);
  }

  /** After `writes` more successful write calls, every call fails until `heal()`. */
  crashAfterWrites(writes: number): void {
    this.writesLeft = writes;
  }

  heal(): void {
    this.writesLeft = Infinity;
    this.throttled = () => false;
  }

  get crashed(): boolean {
    return this.writesLeft <= 0;
  }

  /** Puts and deletes of items matching `predicate` stay unprocessed in every BatchWriteItem (a hot partition that never cools). */
  throttle(predicate: (item: Item) => boolean): void {
    this.throttled = predicate;
  }

  /**
   * A write call naming an item that matches `predicate` fails as a whole with a
   * ValidationException, as DynamoDB answers an item it cannot store (nothing of the call is written).
   */
  refuse(predicate: (item: Item) => boolean): void {
    this.refused = predicate;
  }

  /** The stream records produced since the last call, in write order. */
  takeStream(): DynamoDBRecord[] {
    const records = this.pendingStream;
    this.pendingStream = [];
    return records;
  }

  /** Every item, unmarshalled (numbers as text), sorted by key. */
  async items(): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Record<string, never> | undefined;
    do {
      const page = await this.observer.send(
        new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: startKey }),
      );
      for (const item of page.Items ?? []) items.push(unmarshall(item, { wrapNumbers: (text) => text }));
      startKey = page.LastEvaluatedKey as typeof startKey;
    } while (startKey);
    return items.sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  }

  destroy(): void {
    this.client.destroy();
    this.observer.destroy();
  }

  private middleware(): Middleware {
    return (next, context) => async (args) => {
      const commandName = String(context.commandName);
      if (this.crashed) throw new SimulatedCrash(`${commandName} after the simulated crash`);
      const input = args.input as Item;
      if (writtenItems(commandName, input).some(this.refused))
        throw Object.assign(new Error("One or more parameter values were invalid (refused by the test table)"), {
          name: "ValidationException",
          $fault: "client",
        });
      const batch = commandName === "BatchWriteItemCommand" ? this.prepareBatch(input) : undefined;
      const result = batch
        ? // Existence check and write as one step, so INSERT-or-not is exact even when
          // concurrent clients put and delete the same key (DynamoDB decides that atomically).
          await serialized(this.tableName, async () => {
            const existed = await this.existingKeys(batch.puts);
            // Nothing left to send when every item is held: answer as DynamoDB would, all unprocessed.
            const sent = batch.sent === 0 ? { output: {} } : await next({ ...args, input: batch.input });
            this.finishBatch(sent.output as Item, batch, existed);
            return sent;
          })
        : await next(args);
      if (WRITE_COMMANDS.test(commandName)) this.writesLeft -= 1;
      await this.afterCall(commandName, input);
      return result;
    };
  }

  private prepareBatch(input: Item) {
    const requests = ((input.RequestItems as Record<string, Item[]>)[this.tableName] ?? []) as {
      PutRequest?: { Item: Item };
      DeleteRequest?: { Key: Item };
    }[];
    const held = requests.filter((request) =>
      this.throttled(request.PutRequest?.Item ?? request.DeleteRequest?.Key ?? {}),
    );
    const sent = requests.filter((request) => !held.includes(request));
    const puts = sent.flatMap((request) =>
      request.PutRequest && String(request.PutRequest.Item[TRIP_TABLE.sortKey]).startsWith(RAW_PREFIX)
        ? [request.PutRequest.Item]
        : [],
    );
    return { input: { ...input, RequestItems: { [this.tableName]: sent } }, held, puts, sent: sent.length };
  }

  private finishBatch(output: Item, batch: ReturnType<TestTable["prepareBatch"]>, existed: Set<string>): void {
    const unprocessed = ((output.UnprocessedItems as Record<string, Item[]> | undefined)?.[this.tableName] ??
      []) as Item[];
    output.UnprocessedItems =
      batch.held.length + unprocessed.length > 0 ? { [this.tableName]: [...unprocessed, ...batch.held] } : {};
    const skipped = new Set(
      unprocessed.map((request) => keyOf((request.PutRequest as { Item: Item } | undefined)?.Item ?? {})),
    );
    for (const item of batch.puts) {
      const key = keyOf(item);
      if (!existed.has(key) && !skipped.has(key)) this.pendingStream.push(insertRecord(this.tableName, item));
    }
  }

  private async existingKeys(items: Item[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < items.length; i += 100) {
      const keys = items.slice(i, i + 100).map((item) =>
        marshall({
          [TRIP_TABLE.partitionKey]: item[TRIP_TABLE.partitionKey],
          [TRIP_TABLE.sortKey]: item[TRIP_TABLE.sortKey],
        }),
      );
      const result = await this.observer.send(
        new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of result.Responses?.[this.tableName] ?? []) found.add(keyOf(unmarshall(item)));
    }
    return found;
  }
}

/** The items (puts) or keys (deletes) a write command names. */
function writtenItems(commandName: string, input: Item): Item[] {
  if (commandName === "BatchWriteItemCommand")
    return Object.values(
      input.RequestItems as Record<string, { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } }[]>,
    )
      .flat()
      .map((request) => request.PutRequest?.Item ?? request.DeleteRequest?.Key ?? {});
  if (commandName === "PutItemCommand") return [input.Item as Item];
  if (commandName === "DeleteItemCommand") return [input.Key as Item];
  return [];
}

const writeQueues = new Map<string, Promise<unknown>>();

/** Runs `step` after every earlier step for the same table has finished. */
function serialized<T>(tableName: string, step: () => Promise<T>): Promise<T> {
  const result = (writeQueues.get(tableName) ?? Promise.resolve()).then(step);
  writeQueues.set(
    tableName,
    result.catch(() => undefined),
  );
  return result;
}

/** One emulator per test file; a fresh table per test keeps tests independent. */
/** The emulator, optionally behaving as DynamoDB may (torn Queries, a lagging index): see DynamoDbBehaviours. */
export async function startEmulator(
  behaviours?: DynamoDbBehaviours,
): Promise<{ newTable(): Promise<TestTable>; close(): Promise<void> }> {
  const server: LocalServer = behaviours
    ? await startEmbeddedDynamoDb({ region: "eu-north-1", streamShards: 1, streams: [], ...behaviours })
    : await startLocalDynamoDb();
  const opened: TestTable[] = [];
  return {
    async newTable() {
      const table = new TestTable(server.endpoint);
      await table.create();
      opened.push(table);
      return table;
    },
    async close() {
      for (const table of opened) table.destroy();
      await server.close();
    },
  };
}
