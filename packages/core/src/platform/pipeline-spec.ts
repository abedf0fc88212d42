/**
 * The one definition of the pipeline's resources and event-source mappings. The SST stacks
 * deploy it and the local runtime (`pnpm start`) emulates it, so the two cannot drift.
 */
import { CONTRACT } from "../domain/contract.js";

export const TRIP_TABLE = {
  name: "TripData",
  partitionKey: "trip_id",
  sortKey: "sort_key",
  /** Epoch seconds, from the last write: on RAW items (unmatched events expire) and each day's live KPI EXTREMES; completed trips stay. */
  ttlAttribute: "expires_at",
  streamView: "NEW_AND_OLD_IMAGES",
  completedByDay: {
    name: "byPickupDay",
    partitionKey: "gsi1pk",
    sortKey: "gsi1sk",
    /**
     * A GSI partition takes ~1,000 writes/s. 10,000 completions/s on one pickup day need at
     * least 10 partitions; 16 leaves headroom for items over 1 KB and uneven hashing.
     */
    shards: CONTRACT.completed_by_day.shards,
  },
} as const;

export const TRIP_STREAM = { name: "TripEventsStream" } as const;

/** The nightly KPI job's start each day, in UTC: the Analytics stack schedules it, the page names it. */
const NIGHTLY_HOUR_UTC = 1;
export const NIGHTLY_KPI_JOB = {
  schedule: `cron(0 ${NIGHTLY_HOUR_UTC} * * ? *)`,
  time: `${String(NIGHTLY_HOUR_UTC).padStart(2, "0")}:00 UTC`,
} as const;

export const DEFAULT_RAW_RETENTION_DAYS = 7;
/** A day's live KPI aggregates (KPI#<date>) expire this many days after their last write; the nightly KPIs stay in S3. */
export const DEFAULT_KPI_TTL_DAYS = 35;
/**
 * Days each nightly KPI run recomputes, ending yesterday: late completions of the days before are
 * counted on the next runs. The stacks pass it to the job (its default argument) and to the
 * functions that start and reconcile runs; the job script has no default of its own.
 */
export const DEFAULT_DAYS_WINDOW = 3;

export const FAILED_PREFIX = { start: "failed/start/", end: "failed/end/", anomalies: "failed/anomalies/" } as const;
export const METRICS_PREFIX = CONTRACT.metrics.prefix;
/** Lambda's S3 on-failure destination writes discarded stream batches (with their records) here. */
export const FAILED_BATCH_PREFIX = "aws/lambda/";
/** `pnpm redrive` moves a failed batch here once every record of it has been replayed. */
export const REDRIVEN_PREFIX = "redriven/";

export interface EventSourceSpec {
  batchSize: number;
  maxBatchingWindowSeconds: number;
  retryAttempts: number;
  maxRecordAgeSeconds: number;
  bisectBatchOnError: true;
  reportBatchItemFailures: true;
  parallelizationFactor: number;
}

/**
 * Kinesis consumers: 500 records of ~0.5 KB stay far below Lambda's 6 MB payload and become 20
 * BatchWriteItem calls; a 1 s window trades a second of latency for ~10x fewer invocations at
 * low traffic. Records older than an hour or failing 5 retries go to the DLQ instead of
 * blocking the shard.
 */
const kinesisConsumer: EventSourceSpec = {
  batchSize: 500,
  maxBatchingWindowSeconds: 1,
  retryAttempts: 5,
  maxRecordAgeSeconds: 3600,
  bisectBatchOnError: true,
  reportBatchItemFailures: true,
  parallelizationFactor: 1,
};

/** The consumer functions' size, deployed by the Pipeline stack and given to the local runtime. */
export const CONSUMER_FUNCTION = {
  // A 500-record batch is 20 BatchWriteItem calls with throttling backoff (~4 s worst case
  // per chunk); 60 s leaves room for that without letting a stuck batch hold the shard long.
  timeoutSeconds: 60,
  // Lambda CPU scales with memory: 512 MB keeps JSON/zod work on 500 records in milliseconds.
  memoryMb: 512,
} as const;

/** The matcher only needs to hear about new raw events; completions and deletes are its own writes. */
export const MATCHER_FILTER = {
  eventName: ["INSERT"],
  dynamodb: { Keys: { sort_key: { S: [{ prefix: "RAW#" }] } } },
} as const;

/** The live KPIs change with every COMPLETED item: created, replaced, updated in place or deleted. */
export const KPI_AGGREGATOR_FILTER = {
  eventName: ["INSERT", "MODIFY", "REMOVE"],
  dynamodb: { Keys: { sort_key: { S: [{ prefix: "COMPLETED#" }] } } },
} as const;

/** Who DynamoDB Streams names in `userIdentity` when TTL deleted an item. */
export const TTL_IDENTITY = { type: "Service", principalId: "dynamodb.amazonaws.com" } as const;

/** TTL's delete of a day's EXTREMES item: the aggregator then retires the day's live items. */
export const KPI_EXPIRY_FILTER = {
  eventName: ["REMOVE"],
  userIdentity: { type: [TTL_IDENTITY.type], principalId: [TTL_IDENTITY.principalId] },
  dynamodb: { Keys: { sort_key: { S: ["EXTREMES"] } } },
} as const;

/** What the reconciliation after each nightly run publishes (CloudWatch embedded metric format). */
export const KPI_DRIFT_METRIC = { namespace: "TripPipeline", name: "KpiDrift", unsettled: "KpiUnsettledDays" } as const;

/** Lambda event filter on the decoded Kinesis data: `event_type` equals this type. */
export function kinesisEventTypeFilter(eventType: "start" | "end") {
  return { data: { event_type: [eventType] } } as const;
}

/**
 * Whether a decoded wire object passes kinesisEventTypeFilter(eventType) as Lambda matches it: a
 * field holding a list matches when one of its elements does. The catch-all consumer uses it to
 * leave exactly the records the filtered consumer receives.
 */
export function matchesEventTypeFilter(eventType: "start" | "end", data: Record<string, unknown>): boolean {
  const value = data.event_type;
  return value === eventType || (Array.isArray(value) && value.includes(eventType));
}

/**
 * Every Kinesis record must end in a consumer's store or the failed trail. Lambda drops a record
 * that matches no filter, and a filter on `data` never matches data that is not JSON (nor an
 * unknown or missing event_type), so two filtered consumers would silently drop exactly the
 * records that need a reason. Hence tripBegin keeps its filter (event_type "start") and
 * tripFinish has none: it is the catch-all that stores ends, leaves the records tripBegin's
 * filter takes, and trails everything else (invalid_json, invalid_event_type, ...) under
 * failed/end/. Cost: tripFinish is invoked for every record instead of half (docs/cost.md).
 */
export const CONSUMERS = {
  tripBegin: {
    source: "kinesis",
    eventType: "start",
    handler: "packages/functions/src/trip-begin.handler",
    filters: [kinesisEventTypeFilter("start")],
    leaveTo: [],
    ...kinesisConsumer,
  },
  tripFinish: {
    source: "kinesis",
    eventType: "end",
    handler: "packages/functions/src/trip-finish.handler",
    filters: [],
    leaveTo: ["start"],
    ...kinesisConsumer,
  },
  /**
   * Each matcher record costs a Query and a few writes: 100 records keep a batch well inside
   * the function timeout; parallelization stays 1 so one trip's records are handled in order.
   */
  matcher: {
    source: "dynamodb",
    handler: "packages/functions/src/matcher.handler",
    filters: [MATCHER_FILTER],
    batchSize: 100,
    maxBatchingWindowSeconds: 1,
    retryAttempts: 10,
    maxRecordAgeSeconds: 3600,
    bisectBatchOnError: true,
    reportBatchItemFailures: true,
    parallelizationFactor: 1,
  },
  /**
   * Live KPIs: one conditional write per (day, shard, batch), so big batches are cheap ones. A
   * 5 s window gathers ~20+ completions per day and shard at moderate traffic (writes per trip
   * <= 0.05). The tumbling window is there for the shard id Lambda then puts in each event
   * (DynamoDB stream records carry none); its state is not used.
   */
  kpiAggregator: {
    source: "dynamodb",
    handler: "packages/functions/src/kpi-aggregator.handler",
    filters: [KPI_AGGREGATOR_FILTER, KPI_EXPIRY_FILTER],
    batchSize: 1000,
    maxBatchingWindowSeconds: 5,
    tumblingWindowSeconds: 900,
    retryAttempts: 10,
    maxRecordAgeSeconds: 3600,
    bisectBatchOnError: true,
    reportBatchItemFailures: true,
    parallelizationFactor: 1,
  },
} as const;

/**
 * Kinesis shards per stage: a shard takes 1,000 records/s or 1 MB/s of writes, so prod's 4
 * carry ~4,000 events/s (both kinds) with headroom for bursts; every other stage needs one.
 */
export function streamShardCount(stage: string): number {
  return stage === "prod" ? 4 : 1;
}
