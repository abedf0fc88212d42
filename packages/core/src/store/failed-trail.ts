/**
 * The failed trail: every record the pipeline could not use, with why, as JSON Lines under
 * failed/start/, failed/end/ (and failed/anomalies/ for dropoff-before-pickup pairs). Nothing
 * is dropped silently; `pnpm replay-failed` reads it back.
 */

import type { ReasonCode } from "../domain/events.js";
import { FAILED_PREFIX } from "../platform/pipeline-spec.js";
import type { BlobStore } from "./blob-store.js";

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
  async write(
    kind: FailedKind,
    batchId: string,
    records: readonly FailedRecord[],
    day = records[0]?.failed_at.slice(0, 10),
  ): Promise<string | undefined> {
    if (records.length === 0) return undefined;
    const key = `${FAILED_PREFIX[kind]}${day}/${batchId.replace(/[^A-Za-z0-9._=-]/g, "_")}.jsonl`;
    await this.store.put(key, `${records.map((record) => JSON.stringify(record)).join("\n")}\n`);
    return key;
  }

  /**
   * The current state of one subject (a trip's anomaly): a fixed key without a day folder, so
   * it can be found again, replaced and removed. False when it already held these records
   * (failed_at aside), so a re-detected anomaly is reported once.
   */
  async putCurrent(kind: FailedKind, subject: string, records: readonly FailedRecord[]): Promise<boolean> {
    const key = currentKey(kind, subject);
    const withoutTime = (lines: readonly FailedRecord[]) =>
      JSON.stringify(lines.map(({ failed_at: _, ...rest }) => rest));
    const stored = await this.store.get(key);
    if (stored !== undefined && withoutTime(parseLines(stored)) === withoutTime(records)) return false;
    await this.store.put(key, `${records.map((record) => JSON.stringify(record)).join("\n")}\n`);
    return true;
  }

  /** Removes a subject's current object (idempotent). */
  removeCurrent(kind: FailedKind, subject: string): Promise<void> {
    return this.store.delete(currentKey(kind, subject));
  }

  /** Every trailed record of a kind, in key order. */
  async *read(kind: FailedKind): AsyncGenerator<{ key: string; record: FailedRecord }> {
    for (const key of await this.store.list(FAILED_PREFIX[kind])) {
      const body = (await this.store.get(key)) ?? "";
      for (const record of parseLines(body)) yield { key, record };
    }
  }
}

function parseLines(body: string): FailedRecord[] {
  return body.split("\n").flatMap((line) => (line.trim() ? [JSON.parse(line) as FailedRecord] : []));
}

/** Percent-encodes every byte outside [A-Za-z0-9._-]: distinct subjects never share a key. */
function currentKey(kind: FailedKind, subject: string): string {
  const safe = [...Buffer.from(subject, "utf8")]
    .map((byte) =>
      /[A-Za-z0-9._-]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`,
    )
    .join("");
  return `${FAILED_PREFIX[kind]}${safe}.jsonl`;
}
