/**
 * Replaying the failed trail: after a fix (data or rules), re-validates the trail's start and end
 * records and re-sends the now-valid ones to the trip stream with the ingest sender.
 *
 * Idempotent: the sent records of a trail object move to failed/replayed/<kind>/<day>/<name>
 * and the object keeps only the records still invalid or undelivered (it is deleted when none
 * are left), so a second run sends nothing again. Re-sending would be harmless anyway: raw
 * writes are idempotent by key.
 *
 * Records come in two shapes: the consumers trail the wire JSON (with a sequence_number); ingest
 * trails the CSV row text without its header, so the header is read again from the record's
 * source file, which must still be readable where this runs.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { readCsvRows } from "../domain/csv.js";
import {
  type EventType,
  encodeWireEvent,
  parseWireEvent,
  REQUIRED_FIELDS,
  type ReasonCode,
  type TripEvent,
  type Validated,
  validateEvent,
} from "../domain/events.js";
import type { Logger } from "../platform/logger.js";
import type { BlobStore } from "../store/blob-store.js";
import { type FailedRecord, FailedTrail } from "../store/failed-trail.js";
import { defaultConcurrency } from "./ingest.js";
import { BatchSender } from "./sender.js";
import type { RecordSink } from "./sink.js";

/** Where sent records go; outside failed/start/ and failed/end/, so they are never read again. */
export const REPLAYED_PREFIX = "failed/replayed/";

export interface KindSummary {
  /** Trailed records read. */
  read: number;
  /** Valid now: sent (or, in a dry run, would be). */
  valid: number;
  sent: number;
  /** Valid but not taken by the stream: still in the trail, a later run may deliver them. */
  failed: number;
  /** Still invalid, by reason (record_too_large: over Kinesis's 1 MiB, found only when sending): still in the trail. */
  invalid: number;
  reasons: Partial<Record<ReasonCode | "header_unknown", number>>;
}
export type ReplaySummary = Partial<Record<EventType, KindSummary>>;

export interface ReplayOptions {
  store: BlobStore;
  kinds: readonly EventType[];
  /** Where valid records go; unused by a dry run. */
  sink?: RecordSink;
  dryRun?: boolean;
  concurrency?: number;
  logger?: Logger;
  /** The CSV header of an ingest record's source file; default: the file's first line. */
  readHeader?: (source: string) => Promise<string | undefined>;
}

interface Pending {
  key: string;
  index: number;
  kind: EventType;
}

type Checked = Validated<TripEvent> | { ok: false; rejection: { code: "header_unknown"; message: string } };

export async function replayFailed(options: ReplayOptions): Promise<ReplaySummary> {
  const { store, dryRun = false, logger } = options;
  if (!dryRun && !options.sink) throw new TypeError("replayFailed needs a sink unless dryRun is set");
  const trail = new FailedTrail(store);
  const headers = new Map<string, Promise<string | undefined>>();
  const headerOf = (source: string) => {
    if (!headers.has(source)) headers.set(source, (options.readHeader ?? firstLine)(source));
    return headers.get(source)!;
  };

  const summary: ReplaySummary = {};
  /** Per trail object: which of its records (line numbers) the stream took. */
  const sentLines = new Map<string, Set<number>>();
  let sender: BatchSender<Pending> | undefined;
  if (!dryRun) {
    const concurrency = options.concurrency ?? defaultConcurrency(await options.sink!.shardCount());
    sender = new BatchSender<Pending>({
      sink: options.sink!,
      concurrency,
      logger,
      onDelivered: (metas) => {
        for (const { key, index, kind } of metas) {
          sentLines.set(key, (sentLines.get(key) ?? new Set<number>()).add(index));
          summary[kind]!.sent += 1;
        }
      },
      onFailed: async (failures) => {
        for (const { meta, code } of failures) {
          const counts = summary[meta.kind]!;
          if (code === "record_too_large") {
            // Valid by the rules but over Kinesis's record limit: no retry can deliver it.
            counts.valid -= 1;
            counts.invalid += 1;
            counts.reasons[code] = (counts.reasons[code] ?? 0) + 1;
          } else counts.failed += 1;
          logger?.warn({ key: meta.key, index: meta.index, reason: code }, "record not re-sent; it stays in the trail");
        }
      },
    });
  }

  for (const kind of options.kinds) {
    const counts: KindSummary = { read: 0, valid: 0, sent: 0, failed: 0, invalid: 0, reasons: {} };
    summary[kind] = counts;
    let lastKey: string | undefined;
    let index = 0;
    for await (const { key, record } of trail.read(kind)) {
      // Records arrive object by object, in line order: the index is the record's line.
      index = key === lastKey ? index + 1 : 0;
      lastKey = key;
      counts.read += 1;
      const checked = await rebuild(kind, record, headerOf);
      if (!checked.ok) {
        counts.invalid += 1;
        counts.reasons[checked.rejection.code] = (counts.reasons[checked.rejection.code] ?? 0) + 1;
        continue;
      }
      counts.valid += 1;
      const wait = sender?.push({
        partitionKey: checked.value.trip_id,
        data: Buffer.from(encodeWireEvent(checked.value)),
        meta: { key, index, kind },
      });
      if (wait) await wait;
    }
  }
  await sender?.finish();
  if (!dryRun) await settleObjects(store, sentLines, logger);
  return summary;
}

/**
 * Sent records to failed/replayed/, the rest back in place (or the object gone when nothing is
 * left). Objects are read again here rather than kept: memory stays small for a large trail.
 */
async function settleObjects(store: BlobStore, sentLines: Map<string, Set<number>>, logger?: Logger): Promise<void> {
  const jsonl = (lines: string[]) => `${lines.join("\n")}\n`;
  for (const [key, sent] of sentLines) {
    // The same line split as FailedTrail.read, so line numbers match.
    const records = ((await store.get(key)) ?? "").split("\n").filter((line) => line.trim());
    const replayedKey = REPLAYED_PREFIX + key.slice("failed/".length);
    // Written before the original shrinks: a crash in between re-sends (harmless), never loses.
    const earlier = (await store.get(replayedKey)) ?? "";
    await store.put(replayedKey, earlier + jsonl(records.filter((_, i) => sent.has(i))));
    const left = records.filter((_, i) => !sent.has(i));
    if (left.length > 0) await store.put(key, jsonl(left));
    else await store.delete(key);
    logger?.info({ key, replayedKey, sent: sent.size, left: left.length }, "trail object replayed");
  }
}

/** The event a trailed record stands for, validated by today's rules. */
async function rebuild(
  kind: EventType,
  record: FailedRecord,
  headerOf: (source: string) => Promise<string | undefined>,
): Promise<Checked> {
  if (record.sequence_number !== undefined || record.row === undefined) {
    // A consumer's record: the wire JSON as it came off the stream.
    const parsed = parseWireEvent(record.raw);
    if (parsed.ok && parsed.value.event_type !== kind)
      return {
        ok: false,
        rejection: {
          code: "invalid_event_type",
          field: "event_type",
          message: `a ${parsed.value.event_type} event in the ${kind} trail`,
        },
      };
    return parsed;
  }
  const header = await headerOf(record.source);
  if (header === undefined)
    return {
      ok: false,
      rejection: {
        code: "header_unknown",
        message: `${record.source} is not readable here: its CSV header is needed to read the row`,
      },
    };
  // The same reader ingest uses, on the header and this one row.
  const rows = readCsvRows(Readable.from([`${header}\n${record.raw}\n`]), REQUIRED_FIELDS[kind], record.source);
  try {
    const { value: row } = await rows.next();
    if (!row) return { ok: false, rejection: { code: "malformed_row", message: "the trailed row is empty" } };
    if (row.malformed) return { ok: false, rejection: { code: "malformed_row", message: row.malformed } };
    return validateEvent(kind, row.record);
  } catch (error) {
    // The source file's header lacks a required column (MissingColumnsError).
    return { ok: false, rejection: { code: "missing_field", message: (error as Error).message } };
  } finally {
    await rows.return(undefined);
  }
}

async function firstLine(path: string): Promise<string | undefined> {
  const stream = createReadStream(path);
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of lines) return line;
    return undefined;
  } catch {
    return undefined;
  } finally {
    lines.close();
    stream.destroy();
  }
}
