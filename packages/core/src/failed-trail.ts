/**
 * The failed trail: every record the pipeline could not use, with why, as JSON Lines under
 * failed/start/, failed/end/ (and failed/anomalies/ for dropoff-before-pickup pairs). Nothing
 * is dropped silently; `pnpm replay-failed` reads it back.
 */
import type { BlobStore } from "./blob-store.js";
import type { ReasonCode } from "./events.js";
import { FAILED_PREFIX } from "./pipeline-spec.js";

export type FailedKind = keyof typeof FAILED_PREFIX;

export interface FailedRecord {
  /** Where the record came from: a CSV file path, or the stream/shard it was read from. */
  source: string;
  /** CSV data row and line (ingest), or the stream sequence number (consumers). */
  row?: number;
  line?: number;
  sequence_number?: string;
  /** The record exactly as received: the CSV row text or the decoded stream data. */
  raw: string;
  reason: ReasonCode;
  field?: string;
  message: string;
  failed_at: string;
}

export class FailedTrail {
  constructor(private readonly store: BlobStore) {}

  /**
   * Writes one JSON Lines object. `batchId` must be deterministic for the batch (for example
   * the first and last sequence numbers), so a retried batch overwrites instead of duplicating.
   */
  async write(kind: FailedKind, batchId: string, records: readonly FailedRecord[]): Promise<string | undefined> {
    if (records.length === 0) return undefined;
    const key = this.keyOf(kind, batchId, records);
    await this.store.put(key, bodyOf(records));
    return key;
  }

  private keyOf(kind: FailedKind, batchId: string, records: readonly FailedRecord[]): string {
    const day = records[0]!.failed_at.slice(0, 10);
    return `${FAILED_PREFIX[kind]}${day}/${batchId.replace(/[^A-Za-z0-9._=-]/g, "_")}.jsonl`;
  }

  /**
   * Like write, but leaves an object that already holds these records (failed_at aside) alone:
   * "exists" tells a retried or re-delivered batch that it was trailed before, so that it is
   * reported once, not once per try.
   */
  async writeOnce(kind: FailedKind, batchId: string, records: readonly FailedRecord[]): Promise<"written" | "exists"> {
    const key = this.keyOf(kind, batchId, records);
    const stored = await this.store.get(key);
    const timeless = (record: FailedRecord) => JSON.stringify({ ...record, failed_at: undefined });
    if (stored !== undefined && stored.trim().split("\n").map((line) => timeless(JSON.parse(line) as FailedRecord)).join("\n") === records.map(timeless).join("\n")) return "exists";
    await this.store.put(key, bodyOf(records));
    return "written";
  }

  /** Every trailed record of a kind, in key order. */
  async *read(kind: FailedKind): AsyncGenerator<{ key: string; record: FailedRecord }> {
    for (const key of await this.store.list(FAILED_PREFIX[kind])) {
      const body = (await this.store.get(key)) ?? "";
      for (const line of body.split("\n")) if (line.trim()) yield { key, record: JSON.parse(line) as FailedRecord };
    }
  }
}

function bodyOf(records: readonly FailedRecord[]): string {
  return records.map((record) => JSON.stringify(record)).join("\n") + "\n";
}
