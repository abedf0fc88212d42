import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  ProvisionedThroughputExceededException,
  PutRecordsCommand,
  type PutRecordsInput,
  type PutRecordsOutput,
  type PutRecordsRequestEntry,
  ResourceNotFoundException,
} from "@aws-sdk/client-kinesis";
import { DuplicateColumnError, MissingColumnsError } from "@trip-pipeline/core/domain/csv";
import { type IngestOptions, ingestFiles } from "@trip-pipeline/core/ingest/ingest";
import { KINESIS_LIMITS } from "@trip-pipeline/core/ingest/sender";
import { KinesisRecordSink } from "@trip-pipeline/core/ingest/sink";
import { createKinesisClient } from "@trip-pipeline/core/platform/aws-clients";
import { FolderBlobStore } from "@trip-pipeline/core/store/blob-store";
import { type FailedRecord, FailedTrail } from "@trip-pipeline/core/store/failed-trail";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { mulberry32 } from "../../../src/generate/prng.js";
import { END_COLUMNS, START_COLUMNS } from "../../../src/generate/trips.js";
import { groundTruth } from "../../../src/generate/truth.js";
import { writeTripFiles } from "../../../src/generate/write.js";
import { useLocalKinesis } from "../../support/local-kinesis.js";

const START_HEADER = START_COLUMNS.join(",");
const END_HEADER = END_COLUMNS.join(",");
const NOW = () => new Date("2024-06-01T12:00:00Z");
const FAST = { attempts: 20, baseDelayMs: 1, maxDelayMs: 4 };

const local = useLocalKinesis(4, "ingest-test");
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ingest-"));
});
afterEach(async () => {
  local.kinesis.middlewareStack.remove("injectThrottling");
  await rm(dir, { recursive: true, force: true });
});

async function files(start: string, end: string) {
  const startFile = join(dir, "trip_start.csv");
  const endFile = join(dir, "trip_end.csv");
  await writeFile(startFile, start);
  await writeFile(endFile, end);
  return { startFile, endFile };
}

const trailStore = () => new FolderBlobStore(join(dir, "bucket"));

function ingest(paths: { startFile: string; endFile: string }, options: Partial<IngestOptions> = {}) {
  return ingestFiles({
    ...paths,
    sink: new KinesisRecordSink(local.kinesis, local.stream),
    trail: new FailedTrail(trailStore()),
    concurrency: 8,
    backoff: FAST,
    now: NOW,
    ...options,
  });
}

/** Every record in the stream, per shard in sequence order, decoded. */
async function streamRecords(): Promise<{ shard: string; event: Record<string, string> }[]> {
  const out: { shard: string; event: Record<string, string> }[] = [];
  const { Shards = [] } = await local.kinesis.send(new ListShardsCommand({ StreamName: local.stream }));
  for (const { ShardId } of Shards) {
    let { ShardIterator } = await local.kinesis.send(
      new GetShardIteratorCommand({ StreamName: local.stream, ShardId, ShardIteratorType: "TRIM_HORIZON" }),
    );
    for (;;) {
      const page = await local.kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 10_000 }));
      for (const r of page.Records ?? [])
        out.push({ shard: ShardId!, event: JSON.parse(Buffer.from(r.Data!).toString("utf8")) });
      if (!page.Records?.length) break;
      ShardIterator = page.NextShardIterator;
    }
  }
  return out;
}

async function trailed(kind: "start" | "end"): Promise<FailedRecord[]> {
  const records: FailedRecord[] = [];
  for await (const { record } of new FailedTrail(trailStore()).read(kind)) records.push(record);
  return records;
}

/**
 * Answers the records `fail` picks as throttled, as Kinesis does in a partial failure, and
 * passes the rest to the emulator. Returns the PutRecords inputs seen.
 */
function injectThrottling(fail: (entry: PutRecordsRequestEntry) => boolean): PutRecordsRequestEntry[][] {
  const calls: PutRecordsRequestEntry[][] = [];
  local.kinesis.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== "PutRecordsCommand") return next(args);
      const input = args.input as PutRecordsInput;
      const records = input.Records ?? [];
      calls.push(records);
      const failing = records.map(fail);
      const passed = records.filter((_, i) => !failing[i]);
      type Result = Awaited<ReturnType<typeof next>>;
      const result: Result =
        passed.length > 0
          ? await next({ ...args, input: { ...input, Records: passed } })
          : { output: { $metadata: {}, Records: [] }, response: {} };
      const answers = [...((result.output as PutRecordsOutput).Records ?? [])];
      const merged = records.map((_, i) =>
        failing[i]
          ? { ErrorCode: "ProvisionedThroughputExceededException", ErrorMessage: "Rate exceeded for shard" }
          : answers.shift()!,
      );
      return {
        ...result,
        output: {
          ...(result.output as PutRecordsOutput),
          FailedRecordCount: failing.filter(Boolean).length,
          Records: merged,
        },
      } as Result;
    },
    { step: "initialize", name: "injectThrottling" },
  );
  return calls;
}

const startRow = (trip: string, minute: number, fare = "10.5") =>
  `${trip},93,93,1,2024-05-25 ${String(10 + Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}:00,,${fare}`;
const endRow = (trip: string, minute: number, fare = "11.25") =>
  `2024-05-25 ${String(11 + Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}:00,1.0,1.0,2.5,${fare},0.0,1.0,1.0,${trip}`;

describe("ingest into the embedded Kinesis", () => {
  test("with a third of the records throttled, every valid row arrives exactly once and in file order per trip_id", async () => {
    // 40 trips, each with many conflicting rows: per trip, the pickup minute gives the file order.
    const starts = Array.from({ length: 1200 }, (_, i) => startRow(`trip-${i % 40}`, Math.floor(i / 40)));
    const ends = Array.from({ length: 1200 }, (_, i) => endRow(`trip-${i % 40}`, Math.floor(i / 40)));
    const paths = await files([START_HEADER, ...starts].join("\n"), [END_HEADER, ...ends].join("\n"));
    const random = mulberry32(5);
    const calls = injectThrottling(() => random() < 0.33);

    const summary = await ingest(paths);

    expect(summary).toEqual({
      start: { read: 1200, valid: 1200, rejected: 0, sent: 1200, failed: 0, reasons: {} },
      end: { read: 1200, valid: 1200, rejected: 0, sent: 1200, failed: 0, reasons: {} },
    });
    expect(calls.flat().length).toBeGreaterThan(2400 * 1.3);
    const records = await streamRecords();
    expect(records).toHaveLength(2400);
    for (let t = 0; t < 40; t += 1) {
      const trip = records.filter((r) => r.event.trip_id === `trip-${t}`);
      expect(new Set(trip.map((r) => r.shard)).size).toBe(1);
      const expected = [
        ...Array.from({ length: 30 }, (_, m) => `start ${m}`),
        ...Array.from({ length: 30 }, (_, m) => `end ${m}`),
      ];
      expect(
        trip.map(
          (r) =>
            `${r.event.event_type} ${r.event.event_type === "start" ? Number(r.event.pickup_datetime!.slice(14, 16)) : Number(r.event.dropoff_datetime!.slice(14, 16))}`,
        ),
      ).toEqual(expected);
    }
  });

  test("sends wire events (event_type, snake_case, decimal strings) with the trip_id as partition key", async () => {
    const paths = await files(
      `${START_HEADER}\n${startRow("abc", 5, "34.18595283806629")}\n`,
      `${END_HEADER}\n2024-05-25 14:05:00,,,0.1,40.09620692463166,0.0,,,abc\n`,
    );
    const calls = injectThrottling(() => false);
    await ingest(paths);
    expect(calls.flat().map((r) => [r.PartitionKey, JSON.parse(Buffer.from(r.Data!).toString())])).toEqual([
      [
        "abc",
        {
          event_type: "start",
          trip_id: "abc",
          pickup_location_id: "93",
          dropoff_location_id: "93",
          vendor_id: "1",
          pickup_datetime: "2024-05-25 10:05:00",
          estimated_fare_amount: "34.18595283806629",
        },
      ],
      [
        "abc",
        {
          event_type: "end",
          trip_id: "abc",
          dropoff_datetime: "2024-05-25 14:05:00",
          trip_distance: "0.1",
          fare_amount: "40.09620692463166",
          tip_amount: "0.0",
        },
      ],
    ]);
  });

  test("interleaved, the two files go out in proportion: each trip's end within a call or two of its start, not after every start", async () => {
    const trips = Array.from({ length: 1_500 }, (_, i) => `t${i}`);
    const paths = await files(
      `${START_HEADER}\n${trips.map((trip, i) => startRow(trip, i % 600)).join("\n")}\n`,
      `${END_HEADER}\n${trips.map((trip, i) => endRow(trip, i % 600)).join("\n")}\n`,
    );
    const calls = injectThrottling(() => false);
    const summary = await ingest(paths, { interleave: true, concurrency: 1 });
    expect(summary.start.sent + summary.end.sent).toBe(3_000);
    const sent = calls
      .flat()
      .map((r) => JSON.parse(Buffer.from(r.Data!).toString()) as { event_type: string; trip_id: string });
    const position = new Map(sent.map((event, i) => [`${event.event_type}:${event.trip_id}`, i]));
    const gaps = trips.map((trip) => position.get(`end:${trip}`)! - position.get(`start:${trip}`)!);
    // One file after the other, the gap would be about 1,500 records for every trip.
    expect(Math.min(...gaps)).toBeGreaterThan(0);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(2 * KINESIS_LIMITS.recordsPerCall);
  });

  test("a generated sample: the valid rows are sent, the rest trailed, matching the generator's ground truth", async () => {
    const options = { trips: 1500, days: 2, seed: 9, startDate: "2024-02-28" };
    const paths = await writeTripFiles({ ...options, outDir: dir });
    const truth = groundTruth(options);

    const summary = await ingest(paths);

    for (const kind of ["start", "end"] as const) {
      const f = truth.files[kind];
      expect(summary[kind]).toEqual({
        read: f.rows,
        valid: f.valid,
        rejected: f.rejected,
        sent: f.valid,
        failed: 0,
        reasons: f.reasons,
      });
      const trail = await trailed(kind);
      expect(trail).toHaveLength(f.rejected);
      expect(
        trail.every(
          (r) => r.source === paths[kind === "start" ? "startFile" : "endFile"] && r.row! > 0 && r.raw.length > 0,
        ),
      ).toBe(true);
    }
    expect(await streamRecords()).toHaveLength(truth.files.start.valid + truth.files.end.valid);
  });

  const realData = join(__dirname, "../../../../../shared/data/lab7");
  test.skipIf(!existsSync(realData))(
    "the real sample (when ../shared/data/lab7 is present): every row valid and sent",
    async () => {
      const summary = await ingest({
        startFile: join(realData, "trip_start.csv"),
        endFile: join(realData, "trip_end.csv"),
      });
      const all = { read: 4999, valid: 4999, rejected: 0, sent: 4999, failed: 0, reasons: {} };
      expect(summary).toEqual({ start: all, end: all });
      expect(await streamRecords()).toHaveLength(9998);
    },
  );

  test("ingesting the same files again overwrites the trail instead of duplicating it", async () => {
    const paths = await writeTripFiles({ trips: 3000, days: 1, seed: 3, startDate: "2024-05-25", outDir: dir });
    const first = await ingest(paths);
    const keys = await trailStore().list("failed/");
    await ingest(paths);
    expect(await trailStore().list("failed/")).toEqual(keys);
    expect((await trailed("start")).length + (await trailed("end")).length).toBe(
      first.start.rejected + first.end.rejected,
    );
    expect(
      keys.every((key) => /^failed\/(start|end)\/2024-06-01\/trip_(start|end)\.csv-rows-\d+-\d+\.jsonl$/.test(key)),
    ).toBe(true);
  });

  test("wide and oversized rows: calls stay within 500 records and 5 MiB, a row over 1 MiB is trailed as too large", async () => {
    // Large records: fares padded with zeros stay valid (one significant digit) and make ~300 KB events;
    // wide rows: an unknown 100 KB column, read by name and left out of the event.
    const header = `${START_HEADER},comment`;
    const large = (i: number) => `${startRow(`large-${i}`, i, `17.${"0".repeat(300_000)}`)},${"c".repeat(100_000)}`;
    const starts = [
      ...Array.from({ length: 1100 }, (_, i) => `${startRow(`small-${i}`, i % 600)},`),
      ...Array.from({ length: 40 }, (_, i) => large(i)),
      `${startRow("huge", 1, `2.${"0".repeat(1_100_000)}`)},`,
    ];
    const paths = await files([header, ...starts].join("\n"), END_HEADER);
    const calls = injectThrottling(() => false);

    const summary = await ingest(paths);

    expect(summary.start).toEqual({
      read: 1141,
      valid: 1141,
      rejected: 0,
      sent: 1140,
      failed: 1,
      reasons: { record_too_large: 1 },
    });
    const sizes = calls.map((call) =>
      call.reduce((sum, r) => sum + Buffer.byteLength(r.PartitionKey!) + r.Data!.byteLength, 0),
    );
    expect(Math.max(...calls.map((call) => call.length))).toBeLessThanOrEqual(KINESIS_LIMITS.recordsPerCall);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(KINESIS_LIMITS.bytesPerCall);
    expect(Math.max(...sizes)).toBeGreaterThan(4_500_000);
    expect(await streamRecords()).toHaveLength(1140);
    const [huge] = await trailed("start");
    expect(huge).toMatchObject({ row: 1141, line: 1142, reason: "record_too_large" });
    expect(huge!.message).toMatch(/too large for Kinesis: \d+ bytes .* at most 1048576/);
    expect(huge!.raw.length).toBeGreaterThan(1_100_000);
  });

  test("records the stream keeps refusing are trailed as delivery_failed after the bound; the rest arrive", async () => {
    const starts = Array.from({ length: 600 }, (_, i) => startRow(`t${i}`, i % 60));
    const paths = await files([START_HEADER, ...starts].join("\n"), END_HEADER);
    const doomed = new Set(["t7", "t300", "t599"]);
    const calls = injectThrottling((r) => doomed.has(r.PartitionKey!));

    const summary = await ingest(paths, { backoff: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });

    expect(summary.start).toMatchObject({
      read: 600,
      sent: 597,
      rejected: 0,
      failed: 3,
      reasons: { delivery_failed: 3 },
    });
    expect(calls.flat().filter((r) => r.PartitionKey === "t300")).toHaveLength(3);
    const trail = await trailed("start");
    expect(trail.map((r) => [r.row, r.reason, r.raw])).toEqual(
      [8, 301, 600].map((row) => [row, "delivery_failed", starts[row - 1]]),
    );
    expect(trail[0]!.message).toBe(
      "ProvisionedThroughputExceededException: Rate exceeded for shard (gave up after 3 attempts)",
    );
    expect(await trailStore().list("failed/start/")).toEqual([
      "failed/start/2024-06-01/trip_start.csv-delivery-rows-8-600.jsonl",
    ]);
    expect(await streamRecords()).toHaveLength(597);
  });
});

describe("bad input", () => {
  test("every validation rule, BOM, CRLF and quoted commas: bad rows trailed with their reason, good rows sent", async () => {
    const long = "x".repeat(129);
    const start = [
      `\uFEFF${START_HEADER}`,
      "leap,93,93,1,2024-02-29 23:50:00,2024-03-01 00:10:00,12.5",
      '"quoted",93,93,1,2024-05-25 10:00:00,,"8"',
      ",93,93,1,2024-05-25 10:00:00,,10",
      `${long},93,93,1,2024-05-25 10:00:00,,10`,
      "f1,93,93,1,2024/05/25 10:00:00,,10",
      "f2,93,93,1,2024-02-30 10:00:00,,10",
      "f3,93,93,1,2023-02-29 10:00:00,,10",
      'f4,93,93,1,2024-05-25 10:00:00,,"12,50"',
      "f5,93,93,1,2024-05-25 10:00:00,,-3",
      "f6,93,93,1,2024-05-25 10:00:00,,",
      "f7,9.5,93,1,2024-05-25 10:00:00,,10",
      "f8,93,93,1,2024-05-25 10:00:00,2024-05-25 25:00:00,10",
      "f9,93,93,1,2024-05-25 10:00:00,10",
      "f10,93,93,1,2024-05-25 10:00:00,,10,extra",
      `f11,93,93,1,2024-05-25 10:00:00,,1.${"0".repeat(37)}1`,
    ].join("\r\n");
    const end = `${[
      `${END_HEADER},note`,
      '2024-03-01 00:10:00,,,3.1,14.0,0.0,,,leap,"late, rainy"',
      "2024-05-25 10:30:00,1.0,x,2.5,9,0.0,1.0,1.0,g1,",
      "2024-05-25T10:30:00,1.0,1.0,2.5,9,0.0,1.0,1.0,g2,",
    ].join("\r\n")}\r\n`;
    const paths = await files(start, end);

    const summary = await ingest(paths);

    expect(summary).toEqual({
      start: {
        read: 15,
        valid: 2,
        rejected: 13,
        sent: 2,
        failed: 0,
        reasons: {
          invalid_trip_id: 2,
          invalid_datetime_format: 1,
          invalid_calendar_datetime: 3,
          invalid_fare: 4,
          invalid_extra: 1,
          malformed_row: 2,
        },
      },
      end: {
        read: 3,
        valid: 1,
        rejected: 2,
        sent: 1,
        failed: 0,
        reasons: { invalid_extra: 1, invalid_datetime_format: 1 },
      },
    });
    expect((await trailed("start")).map((r) => [r.source, r.row, r.line, r.reason, r.field, r.raw])).toEqual([
      [paths.startFile, 3, 4, "invalid_trip_id", "trip_id", ",93,93,1,2024-05-25 10:00:00,,10"],
      [paths.startFile, 4, 5, "invalid_trip_id", "trip_id", `${long},93,93,1,2024-05-25 10:00:00,,10`],
      [paths.startFile, 5, 6, "invalid_datetime_format", "pickup_datetime", "f1,93,93,1,2024/05/25 10:00:00,,10"],
      [paths.startFile, 6, 7, "invalid_calendar_datetime", "pickup_datetime", "f2,93,93,1,2024-02-30 10:00:00,,10"],
      [paths.startFile, 7, 8, "invalid_calendar_datetime", "pickup_datetime", "f3,93,93,1,2023-02-29 10:00:00,,10"],
      [paths.startFile, 8, 9, "invalid_fare", "estimated_fare_amount", 'f4,93,93,1,2024-05-25 10:00:00,,"12,50"'],
      [paths.startFile, 9, 10, "invalid_fare", "estimated_fare_amount", "f5,93,93,1,2024-05-25 10:00:00,,-3"],
      [paths.startFile, 10, 11, "invalid_fare", "estimated_fare_amount", "f6,93,93,1,2024-05-25 10:00:00,,"],
      [paths.startFile, 11, 12, "invalid_extra", "pickup_location_id", "f7,9.5,93,1,2024-05-25 10:00:00,,10"],
      [
        paths.startFile,
        12,
        13,
        "invalid_calendar_datetime",
        "estimated_dropoff_datetime",
        "f8,93,93,1,2024-05-25 10:00:00,2024-05-25 25:00:00,10",
      ],
      [paths.startFile, 13, 14, "malformed_row", undefined, "f9,93,93,1,2024-05-25 10:00:00,10"],
      [paths.startFile, 14, 15, "malformed_row", undefined, "f10,93,93,1,2024-05-25 10:00:00,,10,extra"],
      [
        paths.startFile,
        15,
        16,
        "invalid_fare",
        "estimated_fare_amount",
        `f11,93,93,1,2024-05-25 10:00:00,,1.${"0".repeat(37)}1`,
      ],
    ]);
    expect((await trailed("end")).map((r) => [r.row, r.reason, r.field])).toEqual([
      [2, "invalid_extra", "passenger_count"],
      [3, "invalid_datetime_format", "dropoff_datetime"],
    ]);
    const sent = (await streamRecords()).map((r) => r.event);
    expect(sent).toEqual(
      expect.arrayContaining([
        {
          event_type: "start",
          trip_id: "leap",
          pickup_location_id: "93",
          dropoff_location_id: "93",
          vendor_id: "1",
          pickup_datetime: "2024-02-29 23:50:00",
          estimated_dropoff_datetime: "2024-03-01 00:10:00",
          estimated_fare_amount: "12.5",
        },
        {
          event_type: "start",
          trip_id: "quoted",
          pickup_location_id: "93",
          dropoff_location_id: "93",
          vendor_id: "1",
          pickup_datetime: "2024-05-25 10:00:00",
          estimated_fare_amount: "8",
        },
        {
          event_type: "end",
          trip_id: "leap",
          dropoff_datetime: "2024-03-01 00:10:00",
          trip_distance: "3.1",
          fare_amount: "14.0",
          tip_amount: "0.0",
        },
      ]),
    );
    expect(sent).toHaveLength(3);
  });

  test("header-only files: nothing read, sent or trailed", async () => {
    const summary = await ingest(await files(`${START_HEADER}\r\n`, END_HEADER));
    const zero = { read: 0, valid: 0, rejected: 0, sent: 0, failed: 0, reasons: {} };
    expect(summary).toEqual({ start: zero, end: zero });
    expect(await streamRecords()).toEqual([]);
    expect(await trailStore().list("failed/")).toEqual([]);
  });

  test("an empty file has no header: a clear error naming the required columns, nothing sent", async () => {
    const paths = await files("", `${END_HEADER}\n${endRow("a", 1)}\n`);
    await expect(ingest(paths)).rejects.toThrow(
      new MissingColumnsError(paths.startFile, ["trip_id", "pickup_datetime", "estimated_fare_amount"]),
    );
    expect(await streamRecords()).toEqual([]);
  });

  test("a missing required column in the end file stops the run before the start file's rows are sent", async () => {
    const paths = await files(
      `${START_HEADER}\n${startRow("a", 1)}\n`,
      `${END_HEADER.replace("fare_amount,", "")}\n2024-05-25 11:00:00,1.0,1.0,2.5,0.0,1.0,1.0,a\n`,
    );
    await expect(ingest(paths)).rejects.toThrow(`${paths.endFile}: missing required column fare_amount`);
    expect(await streamRecords()).toEqual([]);
    expect(await trailStore().list("failed/")).toEqual([]);
  });

  test("a duplicated header column is an error naming it: nothing sent, nothing trailed", async () => {
    const paths = await files(
      `${START_HEADER}\n${startRow("a", 1)}\n`,
      `${END_HEADER},fare_amount\n${endRow("a", 1)},99\n`,
    );
    await expect(ingest(paths)).rejects.toThrow(new DuplicateColumnError(paths.endFile, "fare_amount"));
    expect(await streamRecords()).toEqual([]);
    expect(await trailStore().list("failed/")).toEqual([]);
  });

  test("an unclosed quote costs one malformed_row: the rows after it are sent and read = sent + rejected + failed", async () => {
    const rows = Array.from({ length: 50 }, (_, i) => startRow(`t${i}`, i));
    rows[10] = `"broken,93,93,1,2024-05-25 10:10:00,,10.5`;
    const summary = await ingest(await files(`${START_HEADER}\n${rows.join("\n")}\n`, `${END_HEADER}\n`));
    expect(summary.start).toMatchObject({ read: 50, sent: 49, rejected: 1, failed: 0, reasons: { malformed_row: 1 } });
    expect((await streamRecords()).map((r) => r.event.trip_id)).toContain("t49");
    expect(await trailed("start")).toEqual([
      expect.objectContaining({ row: 11, line: 12, raw: rows[10], reason: "malformed_row" }),
    ]);
  });

  test("a missing file fails before anything is read or sent", async () => {
    const paths = await files(`${START_HEADER}\n${startRow("a", 1)}\n`, END_HEADER);
    await expect(ingest({ ...paths, endFile: join(dir, "nope.csv") })).rejects.toThrow(/ENOENT.*nope\.csv/);
    expect(await streamRecords()).toEqual([]);
  });

  test("a dry run counts like a real run but sends and writes nothing", async () => {
    const options = { trips: 800, days: 1, seed: 4, startDate: "2024-05-25" };
    const paths = await writeTripFiles({ ...options, outDir: dir });
    const truth = groundTruth(options);
    const progress: number[] = [];
    const summary = await ingestFiles({
      ...paths,
      dryRun: true,
      onProgress: (p) => progress.push(p.bytesRead / p.totalBytes),
    });
    for (const kind of ["start", "end"] as const) {
      const f = truth.files[kind];
      expect(summary[kind]).toEqual({
        read: f.rows,
        valid: f.valid,
        rejected: f.rejected,
        sent: 0,
        failed: 0,
        reasons: f.reasons,
      });
    }
    expect(progress.at(-1)).toBe(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(await streamRecords()).toEqual([]);
    expect(await trailStore().list("")).toEqual([]);
  });
});

describe("delivery against a mocked Kinesis (no local implementation of throttling)", () => {
  const throttledCall = () =>
    new ProvisionedThroughputExceededException({ message: "Rate exceeded for stream", $metadata: {} });

  async function mocked() {
    const client = createKinesisClient({ endpoint: "http://127.0.0.1:9" });
    const mock = mockClient(client);
    mock.on(DescribeStreamSummaryCommand).resolves({ StreamDescriptionSummary: { OpenShardCount: 3 } as never });
    const paths = await files(
      [START_HEADER, ...Array.from({ length: 700 }, (_, i) => startRow(`t${i}`, i % 60))].join("\n"),
      `${END_HEADER}\n${endRow("t1", 5)}\n`,
    );
    return { client, mock, paths };
  }

  test("a throttling storm: every record is tried the bounded number of times with jittered backoff, then trailed", async () => {
    const { client, mock, paths } = await mocked();
    mock.on(PutRecordsCommand).callsFake((input: PutRecordsInput) => ({
      FailedRecordCount: input.Records!.length,
      Records: input.Records!.map(() => ({
        ErrorCode: "ProvisionedThroughputExceededException",
        ErrorMessage: "Rate exceeded for shard",
      })),
    }));
    const waits: number[] = [];
    const summary = await ingestFiles({
      ...paths,
      sink: new KinesisRecordSink(client, "TripEventsStream"),
      trail: new FailedTrail(trailStore()),
      backoff: { attempts: 8, baseDelayMs: 100, maxDelayMs: 5_000 },
      random: mulberry32(1),
      sleep: async (ms) => void waits.push(ms),
      now: NOW,
    });

    expect(summary.start).toEqual({
      read: 700,
      valid: 700,
      rejected: 0,
      sent: 0,
      failed: 700,
      reasons: { delivery_failed: 700 },
    });
    expect(summary.end).toEqual({
      read: 1,
      valid: 1,
      rejected: 0,
      sent: 0,
      failed: 1,
      reasons: { delivery_failed: 1 },
    });
    const attempts = new Map<string, number>();
    for (const call of mock.commandCalls(PutRecordsCommand))
      for (const r of call.args[0].input.Records!)
        attempts.set(
          `${r.PartitionKey}:${Buffer.from(r.Data!).toString().length}`,
          (attempts.get(`${r.PartitionKey}:${Buffer.from(r.Data!).toString().length}`) ?? 0) + 1,
        );
    expect(new Set(attempts.values())).toEqual(new Set([8]));
    // Concurrency from the shards: 2 per shard.
    expect(Math.max(...mock.commandCalls(PutRecordsCommand).map((c) => c.args[0].input.Records!.length))).toBe(500);
    expect(waits.length).toBeGreaterThan(0);
    expect(waits.every((ms) => ms >= 0 && ms <= 5_000)).toBe(true);
    expect(new Set(waits.map(Math.round)).size).toBeGreaterThan(3);
    const trail = await trailed("start");
    expect(trail).toHaveLength(700);
    expect(new Set(trail.map((r) => r.message))).toEqual(
      new Set(["ProvisionedThroughputExceededException: Rate exceeded for shard (gave up after 8 attempts)"]),
    );
  });

  test("a throttled call as a whole is retried; the records then arrive", async () => {
    const { client, mock, paths } = await mocked();
    mock
      .on(PutRecordsCommand)
      .rejectsOnce(throttledCall())
      .rejectsOnce(throttledCall())
      .callsFake((input: PutRecordsInput) => ({
        FailedRecordCount: 0,
        Records: input.Records!.map((_, i) => ({ ShardId: "shardId-000000000000", SequenceNumber: String(i) })),
      }));
    const summary = await ingestFiles({
      ...paths,
      sink: new KinesisRecordSink(client, "TripEventsStream"),
      trail: new FailedTrail(trailStore()),
      backoff: FAST,
      now: NOW,
    });
    expect(summary.start).toMatchObject({ sent: 700, failed: 0 });
    expect(summary.end).toMatchObject({ sent: 1, failed: 0 });
    expect(await trailStore().list("failed/")).toEqual([]);
  });

  test("a missing stream stops the run with the service's error instead of trailing every row", async () => {
    const { client, mock, paths } = await mocked();
    mock
      .on(PutRecordsCommand)
      .rejects(
        new ResourceNotFoundException({ message: "Stream TripEventsStream under account 1 not found.", $metadata: {} }),
      );
    await expect(
      ingestFiles({
        ...paths,
        sink: new KinesisRecordSink(client, "TripEventsStream"),
        trail: new FailedTrail(trailStore()),
        now: NOW,
      }),
    ).rejects.toThrow("Stream TripEventsStream under account 1 not found.");
    expect(await trailStore().list("failed/")).toEqual([]);
  });
});
