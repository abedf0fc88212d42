/**
 * DynamoDB Streams for the embedded DynamoDB (dynalite has none): every write operation passes
 * through ChangeCapture, which turns each write that actually changed an item into a stream
 * record, as DynamoDB would:
 * - INSERT (no item before), MODIFY (item changed), REMOVE (item deleted); a failed condition,
 *   a put or update that leaves the item exactly as it was, or a delete of a missing item
 *   produce no record (the DynamoDB Streams guarantee: no record when no data changed);
 * - images per the table's view type, in DynamoDB JSON;
 * - records sharded by partition key, each shard in write order, so one item's changes stay in
 *   order; sequence numbers increase across the whole stream.
 * Old images must belong to exactly the write that replaced them, so writes to one item are
 * serialised here (every client's writes pass through it): the old image is read (or returned by
 * the write itself) while the item's lock is held, and the record is appended before release.
 */
import { createHash, randomUUID } from "node:crypto";
import type { AttributeValue, DynamoDBRecord } from "aws-lambda";
import type { Throttle } from "./throttle.js";

export type Item = Record<string, AttributeValue>;
export type StreamViewType = "KEYS_ONLY" | "NEW_IMAGE" | "OLD_IMAGE" | "NEW_AND_OLD_IMAGES";

export interface CapturedTable {
  name: string;
  partitionKey: string;
  sortKey?: string;
  viewType: StreamViewType;
  /** The table's TTL attribute (epoch seconds), when TTL is enabled on it. */
  ttlAttribute?: string;
}

/** Who made a change, on its stream record: absent for a client's write, a service for a TTL delete. */
export interface UserIdentity {
  type: "Service";
  principalId: string;
}

/**
 * Told of every change that reached a stream, right after the write and under the item's lock,
 * so changes to one item arrive in write order (what GSI lag and the TTL sweeper follow).
 */
export type ChangeListener = (
  table: CapturedTable,
  keys: Item,
  oldImage: Item | undefined,
  newImage: Item | undefined,
) => void;

const ACCOUNT = "000000000000";
const BATCH_GET_LIMIT = 100;

interface StreamShard {
  shardId: string;
  /** Records not yet read by every cursor (all of them while the shard has no cursor). */
  records: DynamoDBRecord[];
  /** Records dropped from the front, once every cursor had read them. */
  trimmed: number;
  /** Records acknowledged to the writing side (see ChangeLog's acknowledge option). */
  acknowledged: number;
  cursors: { position: number }[];
}

/** Dropping read records in chunks keeps the trimming cost per record constant. */
const TRIM_CHUNK = 1_024;

/** Where a capturing log hands its records when they are read elsewhere (another thread). */
export type RecordForwarder = (shardIndex: number, record: DynamoDBRecord) => void;

/**
 * One table's stream: records in shards, read through cursors (the local pollers' shard
 * iterators). A shard keeps its records until every cursor has read them, so a long run holds
 * only what is still unread.
 *
 * With a forwarder the log keeps nothing and hands each record on as it is made (the emulator
 * thread's side); its copy on the reading side takes them in with `receive`, in the same order,
 * and acknowledges them once every cursor of their shard has read them (at once on a shard no
 * one reads yet), so that the writing side sends only a bounded window ahead of the readers.
 */
export class ChangeLog {
  readonly arn: string;
  readonly shards: StreamShard[];
  /** Records appended, by the sort key's first segment (`RAW`, `COMPLETED`, ...). */
  readonly byKind: Record<string, number> = {};
  /** Records of deletes made by the service (TTL) rather than a client. */
  serviceRemoves = 0;
  private sequence = 0n;
  private received = 0;
  /** Called with every record this log stores, in order (e.g. a progress count). */
  onRecord: ((record: DynamoDBRecord) => void) | undefined;

  constructor(
    readonly table: CapturedTable,
    readonly region: string,
    shardCount: number,
    options: { arn?: string; forward?: RecordForwarder; acknowledge?: (records: number) => void } = {},
  ) {
    const label = new Date().toISOString().slice(0, 23);
    this.arn = options.arn ?? `arn:aws:dynamodb:${region}:${ACCOUNT}:table/${table.name}/stream/${label}`;
    this.forward = options.forward;
    this.acknowledge = options.acknowledge;
    this.shards = Array.from({ length: shardCount }, (_, i) => ({
      shardId: `shardId-${String(i + 1).padStart(20, "0")}-local`,
      records: [],
      trimmed: 0,
      acknowledged: 0,
      cursors: [],
    }));
  }

  private readonly forward: RecordForwarder | undefined;
  private readonly acknowledge: ((records: number) => void) | undefined;

  /** Records on the stream so far, over all shards. */
  get size(): number {
    return Number(this.sequence) + this.received;
  }

  /** Records made by a forwarding log elsewhere, in the order it made them. */
  receive(shardIndex: number, records: readonly DynamoDBRecord[]): void {
    this.received += records.length;
    for (const record of records) this.store(shardIndex, record);
    const shard = this.shards[shardIndex]!;
    if (shard.cursors.length === 0) this.acknowledgeUpTo(shard, shard.trimmed + shard.records.length);
  }

  private acknowledgeUpTo(shard: StreamShard, position: number): void {
    if (position <= shard.acknowledged) return;
    this.acknowledge?.(position - shard.acknowledged);
    shard.acknowledged = position;
  }

  private store(shardIndex: number, record: DynamoDBRecord): void {
    const sortKey = this.table.sortKey && record.dynamodb?.Keys?.[this.table.sortKey];
    const kind = String(Object.values(sortKey ?? {})[0] ?? "").split("#")[0]!;
    this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
    if (record.userIdentity) this.serviceRemoves += 1;
    this.shards[shardIndex]!.records.push(record);
    this.onRecord?.(record);
  }

  /** A reader of one shard from its first record on (TRIM_HORIZON). */
  cursor(shardIndex: number): { read(limit: number): DynamoDBRecord[] } {
    const shard = this.shards[shardIndex]!;
    const cursor = { position: shard.trimmed };
    shard.cursors.push(cursor);
    return {
      read: (limit) => {
        const start = cursor.position - shard.trimmed;
        const records = shard.records.slice(start, start + limit);
        cursor.position += records.length;
        const readByAllUpTo = Math.min(...shard.cursors.map((c) => c.position));
        this.acknowledgeUpTo(shard, readByAllUpTo);
        const readByAll = readByAllUpTo - shard.trimmed;
        if (readByAll >= TRIM_CHUNK) {
          shard.records.splice(0, readByAll);
          shard.trimmed += readByAll;
        }
        return records;
      },
    };
  }

  append(keys: Item, oldImage: Item | undefined, newImage: Item | undefined, userIdentity?: UserIdentity): void {
    const eventName = !oldImage ? "INSERT" : !newImage ? "REMOVE" : "MODIFY";
    this.sequence += 1n;
    // Fixed width, so sequence numbers also compare correctly as text.
    const SequenceNumber = `1${this.sequence.toString().padStart(20, "0")}`;
    const view = this.table.viewType;
    const images = {
      ...(newImage && (view === "NEW_IMAGE" || view === "NEW_AND_OLD_IMAGES") && { NewImage: newImage }),
      ...(oldImage && (view === "OLD_IMAGE" || view === "NEW_AND_OLD_IMAGES") && { OldImage: oldImage }),
    };
    const record: DynamoDBRecord = {
      eventID: randomUUID().replaceAll("-", ""),
      eventName,
      eventVersion: "1.1",
      eventSource: "aws:dynamodb",
      awsRegion: this.region,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        Keys: keys,
        ...images,
        SequenceNumber,
        SizeBytes: Buffer.byteLength(JSON.stringify(keys)) + Buffer.byteLength(JSON.stringify(images)),
        StreamViewType: view,
      },
      eventSourceARN: this.arn,
      ...(userIdentity && { userIdentity }),
    };
    const shard = shardOf(JSON.stringify(keys[this.table.partitionKey]), this.shards.length);
    if (this.forward) this.forward(shard, record);
    else this.store(shard, record);
  }
}

function shardOf(partitionKey: string, shards: number): number {
  return createHash("md5").update(partitionKey).digest().readUInt32BE(0) % shards;
}

/** A DynamoDB API call's JSON body, and the emulator's answer. */
export type Request = Record<string, unknown>;
export interface Reply {
  status: number;
  body: Record<string, unknown>;
}
/** Runs one DynamoDB operation on the emulator. */
export type Execute = (operation: string, request: Request) => Promise<Reply>;

type WriteRequest = { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } };

/** Wraps the emulator's write operations so that each change lands on its table's stream. */
export class ChangeCapture {
  readonly streams: Map<string, ChangeLog>;
  private readonly locks = new KeyLocks();
  /** Called with every change captured (see ChangeListener). */
  readonly listeners: ChangeListener[] = [];

  constructor(
    private readonly execute: Execute,
    tables: readonly CapturedTable[],
    region: string,
    shards: number,
    /** Hands each table's records on instead of keeping them (see ChangeLog). */
    forward?: (table: string, shardIndex: number, record: DynamoDBRecord) => void,
  ) {
    this.streams = new Map(
      tables.map((table) => [
        table.name,
        new ChangeLog(
          table,
          region,
          shards,
          forward && { forward: (shard, record) => forward(table.name, shard, record) },
        ),
      ]),
    );
  }

  /**
   * Runs an operation; `throttle` may leave some batch-write requests unprocessed; `identity`
   * goes on the records of a put or delete made by a service rather than a client (TTL).
   */
  run(
    operation: string,
    request: Request,
    options: { throttle?: Throttle; identity?: UserIdentity } = {},
  ): Promise<Reply> {
    try {
      return this.capture(operation, request, options.throttle, options.identity);
    } catch {
      // Its keys cannot be read (a key attribute or a write request is missing): an invalid
      // request writes nothing, and dynalite answers it as DynamoDB does, with a ValidationException.
      return this.execute(operation, request);
    }
  }

  private capture(operation: string, request: Request, throttle?: Throttle, identity?: UserIdentity): Promise<Reply> {
    if (operation === "BatchWriteItem") return this.batchWrite(request, throttle);
    const stream = this.streams.get(String(request.TableName));
    if (!stream) return this.execute(operation, request);
    switch (operation) {
      case "PutItem":
      case "DeleteItem":
        return this.putOrDelete(stream, operation, request, identity);
      case "UpdateItem":
        return this.update(stream, request);
      default:
        return this.execute(operation, request);
    }
  }

  /** PutItem and DeleteItem return the old item atomically when asked: no extra read needed. */
  private putOrDelete(
    stream: ChangeLog,
    operation: "PutItem" | "DeleteItem",
    request: Request,
    identity?: UserIdentity,
  ): Promise<Reply> {
    const item = (operation === "PutItem" ? request.Item : request.Key) as Item;
    const keys = keyOf(item, stream.table);
    return this.locks.run([itemKey(stream.table, keys)], async () => {
      const reply = await this.execute(operation, { ...request, ReturnValues: "ALL_OLD" });
      if (reply.status !== 200) return reply;
      const before = reply.body.Attributes as Item | undefined;
      this.record(stream, keys, before, operation === "PutItem" ? storedItem(item) : undefined, identity);
      return withAttributes(reply, request.ReturnValues === "ALL_OLD" ? before : undefined);
    });
  }

  private update(stream: ChangeLog, request: Request): Promise<Reply> {
    const keys = keyOf(request.Key as Item, stream.table);
    return this.locks.run([itemKey(stream.table, keys)], async () => {
      const before = await this.getItem(stream.table.name, keys);
      const asked = request.ReturnValues ?? "NONE";
      if (asked === "UPDATED_OLD" || asked === "UPDATED_NEW") {
        const reply = await this.execute("UpdateItem", request);
        if (reply.status === 200) this.record(stream, keys, before, await this.getItem(stream.table.name, keys));
        return reply;
      }
      const reply = await this.execute("UpdateItem", { ...request, ReturnValues: "ALL_NEW" });
      if (reply.status !== 200) return reply;
      const after = reply.body.Attributes as Item | undefined;
      this.record(stream, keys, before, after);
      return withAttributes(reply, asked === "ALL_NEW" ? after : asked === "ALL_OLD" ? before : undefined);
    });
  }

  /** BatchWriteItem returns no old items, so they are read first (one BatchGetItem per 100 keys). */
  private batchWrite(request: Request, throttle?: Throttle): Promise<Reply> {
    const unprocessed: Record<string, WriteRequest[]> = {};
    const sent: Record<string, WriteRequest[]> = {};
    for (const [table, requests] of Object.entries(request.RequestItems as Record<string, WriteRequest[]>)) {
      const { kept, throttled } = throttle ? throttle.split(requests) : { kept: requests, throttled: [] };
      if (kept.length > 0) sent[table] = kept;
      if (throttled.length > 0) unprocessed[table] = throttled;
    }
    const writes = Object.entries(sent).flatMap(([table, requests]) => {
      const stream = this.streams.get(table);
      if (!stream) return [];
      return requests.map((write) => {
        const keys = keyOf(write.PutRequest?.Item ?? write.DeleteRequest!.Key, stream.table);
        return {
          stream,
          keys,
          lock: itemKey(stream.table, keys),
          newImage: write.PutRequest && storedItem(write.PutRequest.Item),
        };
      });
    });
    return this.locks.run(
      writes.map((write) => write.lock),
      async () => {
        const before = await this.getItems(writes);
        const reply =
          Object.keys(sent).length > 0
            ? await this.execute("BatchWriteItem", { ...request, RequestItems: sent })
            : { status: 200, body: {} };
        if (reply.status !== 200) return reply;
        const leftOver = reply.body.UnprocessedItems as Record<string, WriteRequest[]> | undefined;
        const notWritten = new Set(
          Object.entries(leftOver ?? {}).flatMap(([table, requests]) => {
            const stream = this.streams.get(table);
            return stream
              ? requests.map((write) =>
                  itemKey(stream.table, keyOf(write.PutRequest?.Item ?? write.DeleteRequest!.Key, stream.table)),
                )
              : [];
          }),
        );
        for (const write of writes)
          if (!notWritten.has(write.lock))
            this.record(write.stream, write.keys, before.get(write.lock), write.newImage);
        for (const [table, requests] of Object.entries(leftOver ?? {}))
          unprocessed[table] = [...(unprocessed[table] ?? []), ...requests];
        return { status: 200, body: { ...reply.body, UnprocessedItems: unprocessed } };
      },
    );
  }

  private record(
    stream: ChangeLog,
    keys: Item,
    oldImage: Item | undefined,
    newImage: Item | undefined,
    identity?: UserIdentity,
  ): void {
    if (!oldImage && !newImage) return;
    if (oldImage && newImage && sameItem(oldImage, newImage)) return;
    stream.append(keys, oldImage, newImage, identity);
    for (const listener of this.listeners) listener(stream.table, keys, oldImage, newImage);
  }

  private async getItem(table: string, keys: Item): Promise<Item | undefined> {
    const reply = await this.execute("GetItem", { TableName: table, Key: keys, ConsistentRead: true });
    if (reply.status !== 200) throw new Error(`reading the old image failed: ${JSON.stringify(reply.body)}`);
    return reply.body.Item as Item | undefined;
  }

  /** Current items by lock key (absent: no item). */
  private async getItems(
    wanted: readonly { stream: ChangeLog; keys: Item; lock: string }[],
  ): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    for (let i = 0; i < wanted.length; i += BATCH_GET_LIMIT) {
      let pending: Record<string, { Keys: Item[]; ConsistentRead: boolean }> | undefined = {};
      for (const { stream, keys } of wanted.slice(i, i + BATCH_GET_LIMIT)) {
        pending[stream.table.name] ??= { Keys: [], ConsistentRead: true };
        pending[stream.table.name]!.Keys.push(keys);
      }
      while (pending && Object.keys(pending).length > 0) {
        const reply = await this.execute("BatchGetItem", { RequestItems: pending });
        if (reply.status !== 200) throw new Error(`reading old images failed: ${JSON.stringify(reply.body)}`);
        for (const [table, items] of Object.entries(reply.body.Responses as Record<string, Item[]>)) {
          const stream = this.streams.get(table)!;
          for (const item of items) found.set(itemKey(stream.table, keyOf(item, stream.table)), item);
        }
        pending = reply.body.UnprocessedKeys as typeof pending;
      }
    }
    return found;
  }
}

/** The reply with only the attributes the caller asked for. */
function withAttributes(reply: Reply, attributes: Item | undefined): Reply {
  const { Attributes: _, ...body } = reply.body;
  return { status: reply.status, body: attributes ? { ...body, Attributes: attributes } : body };
}

/** The item's primary key as stored (a numeric key written "1.0" is the item "1"). */
function keyOf(item: Item, table: CapturedTable): Item {
  const keys: Item = { [table.partitionKey]: item[table.partitionKey]! };
  if (table.sortKey) keys[table.sortKey] = item[table.sortKey]!;
  return storedItem(keys);
}

/** One item's identity across tables: its table and its primary key as stored. */
export function itemKey(table: CapturedTable, keys: Item): string {
  return `${table.name}\u0000${JSON.stringify(keys)}`;
}

/** DynamoDB's notion of equal items: numbers by value, sets and maps regardless of order. */
export function sameItem(a: Item, b: Item): boolean {
  const names = Object.keys(a);
  return names.length === Object.keys(b).length && names.every((name) => name in b && sameValue(a[name]!, b[name]!));
}

function sameValue(a: AttributeValue, b: AttributeValue): boolean {
  if (a.S !== undefined) return a.S === b.S;
  if (a.N !== undefined) return b.N !== undefined && normalizeNumber(a.N) === normalizeNumber(b.N);
  if (a.B !== undefined) return b.B !== undefined && String(a.B) === String(b.B);
  if (a.BOOL !== undefined) return a.BOOL === b.BOOL;
  if (a.NULL !== undefined) return b.NULL !== undefined;
  if (a.SS) return b.SS !== undefined && sameSet(a.SS, b.SS);
  if (a.NS) return b.NS !== undefined && sameSet(a.NS.map(normalizeNumber), b.NS.map(normalizeNumber));
  if (a.BS) return b.BS !== undefined && sameSet(a.BS.map(String), b.BS.map(String));
  if (a.L) return b.L !== undefined && a.L.length === b.L.length && a.L.every((value, i) => sameValue(value, b.L![i]!));
  if (a.M) return b.M !== undefined && sameItem(a.M, b.M);
  return false;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  return left.size === new Set(b).size && b.every((value) => left.has(value));
}

/** A number as DynamoDB (and dynalite) store it: plain decimal text, no redundant zeros ("5.0" and "5E0" are "5"). */
export function normalizeNumber(text: string): string {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!match) return text;
  const [, sign, whole = "", fraction = "", exponent = "0"] = match;
  const all = whole + fraction;
  const significant = all.replace(/^0+/, "");
  // The value is 0.<digits> x 10^point.
  const point = whole.length + Number(exponent) - (all.length - significant.length);
  const digits = significant.replace(/0+$/, "");
  if (digits === "") return "0";
  const plain =
    point <= 0
      ? `0.${"0".repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + "0".repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return sign === "-" ? `-${plain}` : plain;
}

/** An item as it is stored: numbers normalised, at any depth. */
export function storedItem(item: Item): Item {
  return Object.fromEntries(Object.entries(item).map(([name, value]) => [name, storedValue(value)]));
}

function storedValue(value: AttributeValue): AttributeValue {
  if (value.N !== undefined) return { N: normalizeNumber(value.N) };
  if (value.NS) return { NS: value.NS.map(normalizeNumber) };
  if (value.L) return { L: value.L.map(storedValue) };
  if (value.M) return { M: storedItem(value.M) };
  return value;
}

/**
 * Per-item write locks. A call registers on all of its keys at once (synchronously), so every
 * key's queue is in registration order and two batches sharing keys can never deadlock.
 */
export class KeyLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const unique = [...new Set(keys)];
    const waits = unique.map((key) => this.tails.get(key));
    for (const key of unique) this.tails.set(key, held);
    await Promise.all(waits);
    try {
      return await fn();
    } finally {
      release();
      for (const key of unique) if (this.tails.get(key) === held) this.tails.delete(key);
    }
  }
}
