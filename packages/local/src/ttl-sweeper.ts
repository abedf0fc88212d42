/**
 * DynamoDB TTL: items whose TTL attribute (epoch seconds) has passed are deleted by the service,
 * each delete a REMOVE stream record with the TTL service as its userIdentity. DynamoDB takes up
 * to days; here a sweep runs about every second, so a run shows it.
 *
 * The sweeper follows the captured changes (ChangeListener) to know each item's expiry instead
 * of scanning the table. Its delete is conditional on the item being expired when the delete
 * runs, under the item's lock: a write that refreshed the attribute in between wins, and a
 * delete that deleted nothing makes no record. As in DynamoDB, an attribute that is not a number,
 * or lies more than five years in the past, never expires the item. The clock can be moved
 * forward (advance) so tests can expire items without waiting.
 */
import type { CapturedTable, ChangeCapture, Item, UserIdentity } from "./dynamo-streams.js";
import { itemKey } from "./dynamo-streams.js";

/** What DynamoDB Streams puts on a TTL delete's record. */
export const TTL_IDENTITY: UserIdentity = { type: "Service", principalId: "dynamodb.amazonaws.com" };
/** DynamoDB ignores TTL values older than this. */
const MAX_AGE_SECONDS = 5 * 365 * 24 * 3600;

export interface TtlOptions {
  /** Where the TTL clock starts relative to the wall clock (default 0). */
  clockOffsetMs?: number;
  /** Time between sweeps (default 1000). */
  sweepMs?: number;
}

interface Expiring {
  table: CapturedTable;
  keys: Item;
  expiresAt: number;
}

export class TtlSweeper {
  /** Items with a numeric TTL attribute, by item key. */
  private readonly expiring = new Map<string, Expiring>();
  private offsetMs: number;
  private readonly timer: NodeJS.Timeout;
  /** Sweeps run one at a time; the next waits for the one running. */
  private sweeping: Promise<number> = Promise.resolve(0);

  constructor(
    private readonly capture: ChangeCapture,
    options: TtlOptions = {},
  ) {
    this.offsetMs = options.clockOffsetMs ?? 0;
    this.timer = setInterval(() => void this.sweep(), options.sweepMs ?? 1000);
    // Sweeping never keeps the process up by itself.
    this.timer.unref();
  }

  /** A ChangeListener: the item's expiry as of this change. */
  readonly observe = (
    table: CapturedTable,
    keys: Item,
    _oldImage: Item | undefined,
    newImage: Item | undefined,
  ): void => {
    if (!table.ttlAttribute) return;
    const key = itemKey(table, keys);
    const expiresAt = newImage?.[table.ttlAttribute]?.N;
    if (expiresAt !== undefined) this.expiring.set(key, { table, keys, expiresAt: Number(expiresAt) });
    else this.expiring.delete(key);
  };

  /** The TTL clock, epoch seconds. */
  now(): number {
    return (Date.now() + this.offsetMs) / 1000;
  }

  /** Moves the TTL clock forward and sweeps; resolves with the number of items that sweep deleted. */
  advance(ms: number): Promise<number> {
    this.offsetMs += ms;
    return this.sweep();
  }

  /** Deletes every item expired now (conditionally); resolves with how many were deleted. */
  sweep(): Promise<number> {
    this.sweeping = this.sweeping.then(() => this.deleteExpired(this.now()));
    return this.sweeping;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async deleteExpired(now: number): Promise<number> {
    const oldest = now - MAX_AGE_SECONDS;
    const expired = [...this.expiring.values()].filter(({ expiresAt }) => expiresAt <= now && expiresAt >= oldest);
    const replies = await Promise.all(
      expired.map(({ table, keys }) =>
        this.capture.run(
          "DeleteItem",
          {
            TableName: table.name,
            Key: keys,
            ConditionExpression: "#ttl BETWEEN :oldest AND :now",
            ExpressionAttributeNames: { "#ttl": table.ttlAttribute },
            ExpressionAttributeValues: { ":oldest": { N: String(oldest) }, ":now": { N: String(now) } },
          },
          { identity: TTL_IDENTITY },
        ),
      ),
    );
    // A failed condition is a refreshed item: nothing deleted, nothing to report.
    return replies.filter((reply) => reply.status === 200).length;
  }
}
