/**
 * Torn Queries: a DynamoDB Query is read-committed per item and pages at 1 MB; it is not a
 * snapshot. A logical Query over several items (the caller's loop over pages) may see writes
 * that happen while it runs, some items before a concurrent write and some after.
 *
 * Emulated on base-table Queries: each page holds at most one or two evaluated items (seeded),
 * with a LastEvaluatedKey to continue, and the items of one page are read one at a time with
 * other operations let through in between. Every item served is a version that existed when it
 * was read; paging by LastEvaluatedKey visits each key in key order once, so a key that exists
 * throughout is neither skipped nor repeated. Limit (evaluated items, before any filter),
 * ExclusiveStartKey, ScanIndexForward and ConsistentRead mean what they mean on every read.
 */
import type { Execute, Item, Reply, Request } from "./dynamo-streams.js";
import { mulberry32, type Random } from "./generate/prng.js";

export interface TornReadOptions {
  seed: number;
}

/** Most items evaluated for one page. */
const MAX_PAGE = 2;
/** Most turns of the event loop let through between two item reads. */
const MAX_YIELDS = 3;

export class TornReads {
  private readonly random: Random;

  constructor(
    private readonly execute: Execute,
    options: TornReadOptions,
  ) {
    this.random = mulberry32(options.seed);
  }

  /** One page of a base-table Query: up to MAX_PAGE items, each read on its own. */
  async query(request: Request): Promise<Reply> {
    const asked = typeof request.Limit === "number" ? request.Limit : Infinity;
    const pageSize = Math.min(asked, 1 + Math.floor(this.random() * MAX_PAGE));
    const items: Item[] = [];
    let count = 0;
    let scanned = 0;
    let startKey = request.ExclusiveStartKey as Item | undefined;
    let last: Reply;
    do {
      if (scanned > 0)
        for (let turns = Math.floor(this.random() * (MAX_YIELDS + 1)); turns > 0; turns -= 1)
          await new Promise(setImmediate);
      last = await this.execute("Query", { ...request, Limit: 1, ...(startKey && { ExclusiveStartKey: startKey }) });
      if (last.status !== 200) return last;
      items.push(...((last.body.Items as Item[] | undefined) ?? []));
      count += Number(last.body.Count ?? 0);
      scanned += Number(last.body.ScannedCount ?? 0);
      startKey = last.body.LastEvaluatedKey as Item | undefined;
    } while (startKey && scanned < pageSize);
    const { LastEvaluatedKey: _, Items: __, ...rest } = last.body;
    return {
      status: 200,
      body: {
        ...rest,
        ...(request.Select !== "COUNT" && { Items: items }),
        Count: count,
        ScannedCount: scanned,
        ...(startKey && { LastEvaluatedKey: startKey }),
      },
    };
  }
}
