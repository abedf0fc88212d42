/**
 * Batched DynamoDB writes that survive throttling. BatchWriteItem takes 25 requests; what
 * DynamoDB leaves unprocessed (throttling, partition limits) is retried with capped
 * exponential backoff and full jitter. What still fails is returned, never thrown, so a
 * handler can report exactly the records behind it and let the rest of its batch succeed.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { BatchWriteCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { TRIP_TABLE } from "./pipeline-spec.js";

export interface RetryPolicy {
  /** Calls per chunk, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Six calls over at most ~4 s: rides out a throttling burst well inside a 60 s function timeout. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 50, maxDelayMs: 2_000 };

const MAX_BATCH_WRITE = 25;
/** Chunks in flight at once: enough to hide latency, few enough not to self-throttle a cold partition. */
const CHUNK_CONCURRENCY = 4;

type Item = Record<string, unknown>;
export type WriteRequest = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: Item } };

export interface WriteFailure {
  request: WriteRequest;
  reason: string;
}

/** Identity of an item in TripData: one string per primary key. */
export function keyOf(item: Item): string {
  return `${String(item[TRIP_TABLE.partitionKey])}\u0000${String(item[TRIP_TABLE.sortKey])}`;
}

/** The item a request writes or deletes (for a put, the whole item: it holds the key). */
export function keyItemOf(request: WriteRequest): Item {
  return "PutRequest" in request ? request.PutRequest.Item : request.DeleteRequest.Key;
}

export function keyOfRequest(request: WriteRequest): string {
  return keyOf(keyItemOf(request));
}

/**
 * Full-jitter backoff before retry number `attempt + 1` (0-based): a uniform delay up to
 * min(max, base * 2^attempt), so throttled callers spread out. `random` is injectable for tests.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  return random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
}

/** Writes every request (at most once per key: DynamoDB rejects a batch naming a key twice). */
export async function writeAll(db: DynamoDBDocumentClient, tableName: string, requests: readonly WriteRequest[], policy: RetryPolicy): Promise<WriteFailure[]> {
  const chunks: WriteRequest[][] = [];
  for (let i = 0; i < requests.length; i += MAX_BATCH_WRITE) chunks.push(requests.slice(i, i + MAX_BATCH_WRITE));
  const failures = await mapWithConcurrency(chunks, CHUNK_CONCURRENCY, (chunk) => writeChunk(db, tableName, chunk, policy));
  return failures.flat();
}

async function writeChunk(db: DynamoDBDocumentClient, tableName: string, chunk: WriteRequest[], policy: RetryPolicy): Promise<WriteFailure[]> {
  let pending = chunk;
  for (let attempt = 0; ; attempt += 1) {
    try {
      const result = await db.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = (result.UnprocessedItems?.[tableName] ?? []) as WriteRequest[];
    } catch (error) {
      // The SDK has already retried what it considers retryable; this chunk fails as a whole.
      return pending.map((request) => ({ request, reason: errorName(error) }));
    }
    if (pending.length === 0) return [];
    if (attempt + 1 >= policy.attempts)
      return pending.map((request) => ({ request, reason: `unprocessed after ${policy.attempts} attempts` }));
    await sleep(backoffDelay(policy, attempt));
  }
}

export function errorName(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Maps with at most `limit` calls in flight; results keep input order. */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
