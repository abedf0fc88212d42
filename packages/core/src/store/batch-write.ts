/**
 * Batched DynamoDB writes that survive throttling and isolate bad items. BatchWriteItem takes 25
 * requests; what DynamoDB leaves unprocessed (throttling, partition limits) is retried with
 * capped exponential backoff and full jitter. A call that DynamoDB refuses as a whole for the
 * content of one item (ValidationException: nothing of the call is written) is retried item by
 * item, so the offender is named and its neighbours are stored. What still fails is returned,
 * never thrown, so a handler can report exactly the records behind it.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { BatchWriteCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { errorName, isValidationError } from "../domain/errors.js";
import { mapWithConcurrency } from "../platform/concurrency.js";
import { backoffDelay, type RetryPolicy } from "../platform/retry.js";
import type { WriteRequest } from "./write-request.js";

const MAX_BATCH_WRITE = 25;
/** Chunks in flight at once: enough to hide latency, few enough not to self-throttle a cold partition. */
const CHUNK_CONCURRENCY = 4;

export interface WriteFailure {
  request: WriteRequest;
  reason: string;
  /** DynamoDB refused this item's content: retrying cannot help, the record belongs in the failed trail. */
  rejected?: true;
}

/** Writes every request (at most once per key: DynamoDB rejects a batch naming a key twice). */
export async function writeAll(
  db: DynamoDBDocumentClient,
  tableName: string,
  requests: readonly WriteRequest[],
  policy: RetryPolicy,
): Promise<WriteFailure[]> {
  const chunks: WriteRequest[][] = [];
  for (let i = 0; i < requests.length; i += MAX_BATCH_WRITE) chunks.push(requests.slice(i, i + MAX_BATCH_WRITE));
  const failures = await mapWithConcurrency(chunks, CHUNK_CONCURRENCY, (chunk) =>
    writeChunk(db, tableName, chunk, policy),
  );
  return failures.flat();
}

async function writeChunk(
  db: DynamoDBDocumentClient,
  tableName: string,
  chunk: WriteRequest[],
  policy: RetryPolicy,
): Promise<WriteFailure[]> {
  let pending = chunk;
  for (let attempt = 0; ; attempt += 1) {
    try {
      const result = await db.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = (result.UnprocessedItems?.[tableName] ?? []) as WriteRequest[];
    } catch (error) {
      if (isValidationError(error)) {
        if (pending.length === 1) return [{ request: pending[0]!, reason: errorName(error), rejected: true }];
        // One call per item (in sequence: a rare path, and the partition stays cool).
        const failures: WriteFailure[] = [];
        for (const request of pending) failures.push(...(await writeChunk(db, tableName, [request], policy)));
        return failures;
      }
      // The SDK has already retried what it considers retryable; this chunk fails as a whole.
      return pending.map((request) => ({ request, reason: errorName(error) }));
    }
    if (pending.length === 0) return [];
    if (attempt + 1 >= policy.attempts)
      return pending.map((request) => ({ request, reason: `unprocessed after ${policy.attempts} attempts` }));
    await sleep(backoffDelay(policy, attempt));
  }
}
