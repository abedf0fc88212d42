/**
 * The port ingest sends through, and its Kinesis adapter. The port reports one outcome per
 * record, so the sender above it can retry exactly the records that failed.
 */
import {
  DescribeStreamSummaryCommand,
  type KinesisClient,
  PutRecordsCommand,
  type PutRecordsCommandOutput,
} from "@aws-sdk/client-kinesis";

export interface SinkRecord {
  partitionKey: string;
  data: Uint8Array;
}

export type PutOutcome = { ok: true } | { ok: false; retryable: boolean; reason: string };

export interface RecordSink {
  /** Puts records in one call; outcomes in record order. Throws only when the call cannot succeed on a retry. */
  put(records: readonly SinkRecord[]): Promise<PutOutcome[]>;
  /** Open shards: how much parallel writing the destination takes. */
  shardCount(): Promise<number>;
}

/** Per-record and per-call errors that go away on their own (Kinesis answers them for a busy shard or key). */
const TRANSIENT = new Set([
  "ProvisionedThroughputExceededException",
  "InternalFailure",
  "KMSThrottlingException",
  "LimitExceededException",
  "ThrottlingException",
]);

/**
 * A call error is worth retrying unless the service blamed the request (missing stream, access
 * denied, bad input): those fail every later call too, so they stop the run instead of
 * trailing every remaining row. Network errors carry no fault and are retried.
 */
function isTransientCallError(error: unknown): boolean {
  const { name, $fault } = (error ?? {}) as { name?: string; $fault?: string };
  return $fault !== "client" || TRANSIENT.has(name ?? "");
}

export class KinesisRecordSink implements RecordSink {
  constructor(
    private readonly kinesis: KinesisClient,
    readonly streamName: string,
  ) {}

  async put(records: readonly SinkRecord[]): Promise<PutOutcome[]> {
    let response: PutRecordsCommandOutput;
    try {
      response = await this.kinesis.send(
        new PutRecordsCommand({
          StreamName: this.streamName,
          Records: records.map((r) => ({ PartitionKey: r.partitionKey, Data: r.data })),
        }),
      );
    } catch (error) {
      if (!isTransientCallError(error)) throw error;
      const reason = `PutRecords failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
      return records.map(() => ({ ok: false, retryable: true, reason }));
    }
    // Outcomes in record order; the sender treats a record the answer leaves out as not taken.
    return (response.Records ?? []).map((result) =>
      result.ErrorCode
        ? {
            ok: false,
            retryable: TRANSIENT.has(result.ErrorCode),
            reason: `${result.ErrorCode}: ${result.ErrorMessage ?? ""}`.trim(),
          }
        : { ok: true },
    );
  }

  async shardCount(): Promise<number> {
    const summary = await this.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: this.streamName }));
    return summary.StreamDescriptionSummary?.OpenShardCount ?? 1;
  }
}
