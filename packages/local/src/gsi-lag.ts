/**
 * GSI lag: DynamoDB updates a global secondary index asynchronously, so an index read may miss
 * a recent write, still show an item deleted a moment ago, or show its previous version.
 * Emulated with a delayed replica: a second dynalite store holds the captured tables as they
 * were `lagMs` ago, and every Query or Scan with an IndexName is served from it. Each captured
 * change that concerns an index (its old or new image has an index's partition key) is queued
 * with the time it was made and applied to the replica once it is `lagMs` old, just before an
 * index read. The replica's own indexes then answer the read, so key conditions, filters,
 * projections, Limit and paging behave exactly as on the table.
 */
import type { CapturedTable, Execute, Item, Reply, Request } from "./dynamo-streams.js";
import { itemKey } from "./dynamo-streams.js";

const BATCH_WRITE_LIMIT = 25;

interface Change {
  at: number;
  table: string;
  key: string;
  keys: Item;
  image: Item | undefined;
}

type KeySchema = { AttributeName: string; KeyType: string }[];

export class LaggedIndexes {
  /** Changes not on the replica yet, oldest first. */
  private readonly queue: Change[] = [];
  /** Each table's index partition keys: an item without any of them is on no index. */
  private readonly indexKeys = new Map<string, string[]>();
  /** Catching up and reading one at a time, so a read sees the replica exactly `lagMs` behind. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly lagMs: number,
    /** Runs an operation on the replica's store. */
    private readonly replica: Execute,
  ) {}

  /** Table management runs on the replica too, so it has the same tables and indexes. */
  async mirror(operation: "CreateTable" | "DeleteTable", request: Request): Promise<void> {
    const reply = await this.replica(operation, request);
    if (reply.status !== 200)
      throw new Error(`the GSI lag replica refused ${operation}: ${JSON.stringify(reply.body)}`);
    const table = String(request.TableName);
    if (operation === "DeleteTable") return void this.indexKeys.delete(table);
    const indexes = (request.GlobalSecondaryIndexes ?? []) as { KeySchema: KeySchema }[];
    this.indexKeys.set(
      table,
      indexes.map((index) => index.KeySchema.find((key) => key.KeyType === "HASH")!.AttributeName),
    );
  }

  /** A ChangeListener: queues the change if an index shows the item before or after it. */
  readonly observe = (
    table: CapturedTable,
    keys: Item,
    oldImage: Item | undefined,
    newImage: Item | undefined,
  ): void => {
    const indexKeys = this.indexKeys.get(table.name);
    if (!indexKeys?.some((name) => (oldImage && name in oldImage) || (newImage && name in newImage))) return;
    this.queue.push({ at: performance.now(), table: table.name, key: itemKey(table, keys), keys, image: newImage });
  };

  /** A Query or Scan of an index, as the index was `lagMs` ago. */
  read(operation: string, request: Request): Promise<Reply> {
    const reply = this.turn.then(async () => {
      await this.catchUp(performance.now() - this.lagMs);
      return this.replica(operation, request);
    });
    this.turn = reply.catch(() => undefined);
    return reply;
  }

  /** Applies every change made up to `until`; an item changed several times gets its last image. */
  private async catchUp(until: number): Promise<void> {
    let due = 0;
    while (due < this.queue.length && this.queue[due]!.at <= until) due += 1;
    const latest = new Map(this.queue.splice(0, due).map((change) => [change.key, change]));
    const byTable = new Map<string, Change[]>();
    for (const change of latest.values()) {
      const changes = byTable.get(change.table);
      if (changes) changes.push(change);
      else byTable.set(change.table, [change]);
    }
    for (const [table, changes] of byTable) {
      for (let i = 0; i < changes.length; i += BATCH_WRITE_LIMIT) {
        const requests = changes
          .slice(i, i + BATCH_WRITE_LIMIT)
          .map((change) =>
            change.image ? { PutRequest: { Item: change.image } } : { DeleteRequest: { Key: change.keys } },
          );
        const reply = await this.replica("BatchWriteItem", { RequestItems: { [table]: requests } });
        if (reply.status !== 200 || Object.keys((reply.body.UnprocessedItems as object | undefined) ?? {}).length > 0)
          throw new Error(`the GSI lag replica refused a write: ${JSON.stringify(reply.body)}`);
      }
    }
  }
}
