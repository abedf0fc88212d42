/**
 * Redrive: replays the stream batches Lambda discarded to its S3 on-failure destination
 * (aws/lambda/<mapping>/<shard>/..., the invocation record plus the payload) through the
 * function that failed them, the same handler code, with the same event.
 *
 * Idempotent: the handlers are (deterministic keys, conditional writes), and a batch is moved to
 * redriven/<its key> only once every record of it went through, so a second run replays nothing.
 * A crash between the copy and the delete leaves the batch in place: the next run replays it
 * again, harmlessly. A partial failure keeps the batch, cut down to the records at or after the
 * lowest reported sequence number (Lambda's own checkpoint rule); a thrown error keeps it whole.
 *
 * The replay carries what the mapping would have given: besides the records, the fields of a
 * tumbling-window mapping (shard, stream, window), which a handler without a window ignores.
 */
import { z } from "zod/v4";
import type { Logger } from "../platform/logger.js";
import { FAILED_BATCH_PREFIX, REDRIVEN_PREFIX } from "../platform/pipeline-spec.js";
import type { BlobStore } from "../store/blob-store.js";
import { batchVerdict, retriedRecords, type TumblingWindowFields, windowFields } from "./stream-batch.js";

/** A replay: the batch's records with the fields its mapping added. */
export type ReplayEvent = { Records: unknown[] } & TumblingWindowFields;

/** Invokes a function synchronously and returns its response; throws on a function error. */
export interface FunctionInvoker {
  invoke(functionArn: string, event: ReplayEvent): Promise<unknown>;
}

const batchInfo = z.object({
  shardId: z.string(),
  startSequenceNumber: z.string(),
  endSequenceNumber: z.string(),
  approximateArrivalOfFirstRecord: z.string().datetime({ offset: true }).optional(),
  approximateArrivalOfLastRecord: z.string().datetime({ offset: true }).optional(),
  batchSize: z.number().int().nonnegative(),
  streamArn: z.string(),
});

/** Lambda documents the payload as the whole event; accept it as an object or as its JSON text. */
const payload = z.preprocess(
  (value) => (typeof value === "string" ? safeJson(value) : value),
  z.object({ Records: z.array(z.record(z.string(), z.unknown())).min(1) }),
);

const failedBatch = z
  .object({
    requestContext: z.object({
      functionArn: z.string().min(1),
      condition: z.string(),
      approximateInvokeCount: z.number().optional(),
    }),
    timestamp: z.string().datetime({ offset: true }),
    KinesisBatchInfo: batchInfo.optional(),
    DDBStreamBatchInfo: batchInfo.optional(),
    payload,
  })
  .passthrough()
  .refine((record) => (record.KinesisBatchInfo === undefined) !== (record.DDBStreamBatchInfo === undefined), {
    message: "exactly one of KinesisBatchInfo and DDBStreamBatchInfo",
  });

type FailedBatch = z.infer<typeof failedBatch>;

export type RedriveOutcome = "would_replay" | "replayed" | "partially_replayed" | "failed" | "unreadable";

export interface RedriveBatch {
  key: string;
  outcome: RedriveOutcome;
  /** The function that failed the batch (and replays it). */
  functionArn?: string;
  source?: "kinesis" | "dynamodb";
  condition?: string;
  failedAt?: string;
  shardId?: string;
  records: number;
  /** Records that went through in this run. */
  replayed: number;
  /** Records still in the failed batch after this run. */
  remaining: number;
  /** Where the batch went once fully replayed. */
  movedTo?: string;
  reason?: string;
}

export interface RedriveReport {
  dryRun: boolean;
  batches: RedriveBatch[];
  totals: { batches: number; records: number; replayed: number; remaining: number; failedBatches: number };
}

export interface RedriveOptions {
  /** The bucket holding the on-failure destination's objects. */
  store: BlobStore;
  invoker: FunctionInvoker;
  logger: Logger;
  /** List what would be replayed; invoke nothing, move nothing. */
  dryRun?: boolean;
  /** Only batches whose key starts with this (default: every failed batch, aws/lambda/). */
  prefix?: string;
}

export async function redrive({
  store,
  invoker,
  logger,
  dryRun = false,
  prefix = FAILED_BATCH_PREFIX,
}: RedriveOptions): Promise<RedriveReport> {
  if (!prefix.startsWith(FAILED_BATCH_PREFIX))
    throw new Error(`--prefix must start with ${FAILED_BATCH_PREFIX}, got ${JSON.stringify(prefix)}`);
  const batches: RedriveBatch[] = [];
  for (const key of await store.list(prefix)) {
    const body = await store.get(key);
    const parsed = failedBatch.safeParse(body === undefined ? undefined : safeJson(body));
    if (!parsed.success) {
      // Not ours to judge: left in place for a person to look at.
      const reason = parsed.error.issues
        .map((issue) => `${issue.path.join(".") || "object"}: ${issue.message}`)
        .join("; ");
      logger.warn({ key, reason }, "failed batch unreadable; left in place");
      batches.push({ key, outcome: "unreadable", records: 0, replayed: 0, remaining: 0, reason });
      continue;
    }
    batches.push(await redriveOne(key, parsed.data, { store, invoker, logger, dryRun }));
  }
  const sum = (pick: (batch: RedriveBatch) => number) => batches.reduce((total, batch) => total + pick(batch), 0);
  return {
    dryRun,
    batches,
    totals: {
      batches: batches.length,
      records: sum((b) => b.records),
      replayed: sum((b) => b.replayed),
      remaining: sum((b) => b.remaining),
      failedBatches: batches.filter(
        (b) => b.outcome === "failed" || b.outcome === "partially_replayed" || b.outcome === "unreadable",
      ).length,
    },
  };
}

async function redriveOne(
  key: string,
  batch: FailedBatch,
  { store, invoker, logger, dryRun }: Required<Omit<RedriveOptions, "prefix">>,
): Promise<RedriveBatch> {
  const info = (batch.KinesisBatchInfo ?? batch.DDBStreamBatchInfo)!;
  const records = batch.payload.Records;
  const base = {
    key,
    functionArn: batch.requestContext.functionArn,
    source: batch.KinesisBatchInfo ? ("kinesis" as const) : ("dynamodb" as const),
    condition: batch.requestContext.condition,
    failedAt: batch.timestamp,
    shardId: info.shardId,
    records: records.length,
  };
  if (dryRun) return { ...base, outcome: "would_replay", replayed: 0, remaining: records.length };

  let response: unknown;
  try {
    response = await invoker.invoke(base.functionArn, { Records: records, ...replayWindow(info, batch.timestamp) });
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    logger.warn({ key, functionArn: base.functionArn, reason }, "replay failed; batch kept");
    return { ...base, outcome: "failed", replayed: 0, remaining: records.length, reason };
  }

  const verdict = batchVerdict(
    response,
    records.map((record) => sequenceNumberOf(record, base.source)),
  );
  if (verdict.ok) {
    const movedTo = `${REDRIVEN_PREFIX}${key}`;
    // Copy first, then delete: a crash in between leaves the batch to be replayed again.
    await store.put(movedTo, JSON.stringify(batch));
    await store.delete(key);
    logger.info({ key, functionArn: base.functionArn, records: records.length, movedTo }, "failed batch replayed");
    return { ...base, outcome: "replayed", replayed: records.length, remaining: 0, movedTo };
  }
  const rest = retriedRecords(records, (record) => sequenceNumberOf(record, base.source), verdict.retryFrom);
  const replayed = records.length - rest.length;
  if (replayed > 0) await store.put(key, JSON.stringify({ ...batch, payload: { Records: rest } }));
  logger.warn(
    { key, functionArn: base.functionArn, replayed, remaining: rest.length },
    "replay partly failed; the rest kept",
  );
  return {
    ...base,
    outcome: replayed > 0 ? "partially_replayed" : "failed",
    replayed,
    remaining: rest.length,
    reason: "the function reported batch item failures",
  };
}

/**
 * The window fields the mapping gave the batch: its shard and stream from the batch info; as
 * window, the span of the records' arrival (or the failure's time when the info has none).
 */
function replayWindow(info: z.infer<typeof batchInfo>, failedAt: string): TumblingWindowFields {
  const start = info.approximateArrivalOfFirstRecord ?? failedAt;
  return windowFields(
    info.shardId,
    info.streamArn,
    new Date(start),
    new Date(info.approximateArrivalOfLastRecord ?? start),
  );
}

function sequenceNumberOf(record: Record<string, unknown>, source: "kinesis" | "dynamodb"): string | undefined {
  const inner = (source === "kinesis" ? record.kinesis : record.dynamodb) as
    | { sequenceNumber?: unknown; SequenceNumber?: unknown }
    | undefined;
  const sequenceNumber = source === "kinesis" ? inner?.sequenceNumber : inner?.SequenceNumber;
  return typeof sequenceNumber === "string" ? sequenceNumber : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
