/** Real Lambda event shapes and injected dependencies for the handler tests. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, type Logger } from "@trip-pipeline/core/platform/logger";
import { FolderBlobStore } from "@trip-pipeline/core/store/blob-store";
import { type FailedKind, type FailedRecord, FailedTrail } from "@trip-pipeline/core/store/failed-trail";
import type { HandlerDeps } from "@trip-pipeline/functions/environment";
import type { Context, DynamoDBRecord, DynamoDBStreamEvent, KinesisStreamEvent } from "aws-lambda";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { startEmulator, type TestTable } from "../support/test-table.js";

export const SHARD = "shardId-000000000000";
export const NOW = new Date("2024-05-26T08:00:00Z");
let sequence = 0;

export interface WireRecord {
  data: string;
  seq?: string;
}

/** A Kinesis batch as Lambda delivers it: base64 data, increasing sequence numbers, one shard. */
export function kinesisEvent(records: readonly (string | WireRecord)[]): KinesisStreamEvent {
  return {
    Records: records.map((entry) => {
      const { data, seq } = typeof entry === "string" ? { data: entry, seq: undefined } : entry;
      const sequenceNumber = seq ?? nextSequence();
      return {
        eventSource: "aws:kinesis",
        eventVersion: "1.0",
        eventID: `${SHARD}:${sequenceNumber}`,
        eventName: "aws:kinesis:record",
        invokeIdentityArn: "arn:aws:iam::000000000000:role/consumer",
        awsRegion: "eu-north-1",
        eventSourceARN: "arn:aws:kinesis:eu-north-1:000000000000:stream/TripEventsStream",
        kinesis: {
          kinesisSchemaVersion: "1.0",
          partitionKey: tripOf(data),
          sequenceNumber,
          data: Buffer.from(data, "utf8").toString("base64"),
          approximateArrivalTimestamp: NOW.getTime() / 1000,
        },
      };
    }),
  };
}

export function nextSequence(): string {
  return `4959${String(++sequence).padStart(52, "0")}`;
}

function tripOf(data: string): string {
  try {
    return String((JSON.parse(data) as { trip_id?: unknown }).trip_id ?? "none");
  } catch {
    return "none";
  }
}

export function streamEvent(records: DynamoDBRecord[]): DynamoDBStreamEvent {
  return { Records: records };
}

export function context(requestId = "req-1"): Context {
  return { awsRequestId: requestId, functionName: "test", getRemainingTimeInMillis: () => 60_000 } as Context;
}

export const start = (trip_id: string, pickup: string, fare = "10.25", extra: Record<string, string> = {}) =>
  JSON.stringify({ event_type: "start", trip_id, pickup_datetime: pickup, estimated_fare_amount: fare, ...extra });
export const end = (trip_id: string, dropoff: string, fare = "12.5", extra: Record<string, string> = {}) =>
  JSON.stringify({ event_type: "end", trip_id, dropoff_datetime: dropoff, fare_amount: fare, ...extra });

export interface Workspace {
  dir: string;
  trail: FailedTrail;
  deps(table: TestTable, overrides?: Partial<HandlerDeps>): HandlerDeps;
  failed(kind: FailedKind): Promise<{ key: string; record: FailedRecord }[]>;
  cleanup(): Promise<void>;
}

/** A temp folder standing in for the bucket, and dependencies wired to a test table. */
export async function workspace(logger: Logger = createLogger("test")): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), "trip-fn-"));
  const trail = new FailedTrail(new FolderBlobStore(dir));
  return {
    dir,
    trail,
    deps: (table, overrides = {}) => ({
      store: table.store,
      trail,
      logger,
      now: () => NOW,
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 4 },
      rawRetentionDays: 7,
      ...overrides,
    }),
    async failed(kind) {
      const entries = [];
      for await (const entry of trail.read(kind)) entries.push(entry);
      return entries;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * The hooks of a handler suite on the emulator: one emulator per file, a fresh table and
 * workspace per test. Read `table` and `ws` inside tests (they change with each one);
 * `newTable()` gives a test more tables of its own (e.g. one per property run).
 */
export function emulatedTable(): { readonly table: TestTable; readonly ws: Workspace; newTable(): Promise<TestTable> } {
  let emulator: Awaited<ReturnType<typeof startEmulator>>;
  const current = { newTable: () => emulator.newTable() } as {
    table: TestTable;
    ws: Workspace;
    newTable(): Promise<TestTable>;
  };
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(() => emulator.close());
  beforeEach(async () => {
    current.table = await emulator.newTable();
    current.ws = await workspace();
  });
  afterEach(() => current.ws.cleanup());
  return current;
}
