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
   * Writes one JSON Lines object at failed/<kind>/<day>/<batchId>.jsonl. `batchId` (and `day`,
   * by default the first record's failure day) must be deterministic for the records, so a
   * retry overwrites instead of duplicating: the consumers name one object per record by its
   * stream identity.
   */
  async write(kind: FailedKind, batchId: string, records: readonly FailedRecord[], day = records[0]?.failed_at.slice(0, 10)): Promise<string | undefined> {
    if (records.length === 0) return undefined;
    const key = `${FAILED_PREFIX[kind]}${day}/${batchId.replace(/[^A-Za-z0-9._=-]/g, "_")}.jsonl`;
    await this.store.put(key, records.map((record) => JSON.stringify(record)).join("\n") + "\n");
    return key;
  }

  /** Every trailed record of a kind, in key order. */
  async *read(kind: FailedKind): AsyncGenerator<{ key: string; record: FailedRecord }> {
    for (const key of await this.store.list(FAILED_PREFIX[kind])) {
      const body = (await this.store.get(key)) ?? "";
      for (const line of body.split("\n")) if (line.trim()) yield { key, record: JSON.parse(line) as FailedRecord };
    }
  }
}
