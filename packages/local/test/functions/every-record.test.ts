/**
 * Every Kinesis record ends in exactly one place (a consumer's store or the failed trail with a
 * reason), and no single record, whatever its content, makes another one lost, retried or
 * dead-lettered. Run through the real handlers on the in-process DynamoDB emulator.
 */

import { CONSUMERS, matchesEventTypeFilter } from "@trip-pipeline/core/platform/pipeline-spec";
import { createTripEventHandler } from "@trip-pipeline/functions/trip-events";
import type { KinesisStreamEvent } from "aws-lambda";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { context, emulatedTable, end, kinesisEvent, start, type Workspace, workspace } from "./support.js";

const env = emulatedTable();

const seqsOf = (batch: KinesisStreamEvent) => batch.Records.map((r) => r.kinesis.sequenceNumber);
const deployed = () => ({
  begin: createTripEventHandler(CONSUMERS.tripBegin.eventType, env.ws.deps(env.table), CONSUMERS.tripBegin.leaveTo),
  finish: createTripEventHandler(CONSUMERS.tripFinish.eventType, env.ws.deps(env.table), CONSUMERS.tripFinish.leaveTo),
});
const trailed = async () => [...(await env.ws.failed("start")), ...(await env.ws.failed("end"))].map((f) => f.record);

/** A fare validation used to accept and DynamoDB cannot store: 1E-131. */
const TOO_SMALL = `0.${"0".repeat(130)}1`;

describe("every record ends in exactly one place", () => {
  test("with the deployed filters, records no filter matches (not JSON, unknown or missing type, not an object) are trailed by the catch-all, the rest stored once", async () => {
    const { begin, finish } = deployed();
    const batch = kinesisEvent([
      start("s1", "2024-05-25 10:00:00"),
      end("s1", "2024-05-25 10:30:00"),
      "not json",
      JSON.stringify({ event_type: "cancel", trip_id: "x" }),
      JSON.stringify({ trip_id: "y" }),
      JSON.stringify([{ event_type: "end" }]),
      // A list holding "start" matches tripBegin's filter: tripBegin trails it, the catch-all leaves it.
      JSON.stringify({ event_type: ["start"], trip_id: "z" }),
    ]);
    const seqs = seqsOf(batch);
    // What Lambda delivers: tripBegin what its filter passes, tripFinish (no filter) everything.
    const toBegin = { Records: batch.Records.filter((_, i) => i === 0 || i === 6) };
    expect(await begin(toBegin, context())).toEqual({ batchItemFailures: [] });
    expect(await finish(batch, context())).toEqual({ batchItemFailures: [] });

    // Raw keys end with a digest of the values (same-instant rule): compare kind and instant.
    expect(
      (await env.table.items()).map((item) => String(item.sort_key).split("#").slice(0, 3).join("#")).sort(),
    ).toEqual(["RAW#END#2024-05-25 10:30:00", "RAW#START#2024-05-25 10:00:00"]);
    const reasons = (await trailed()).map((r) => [r.sequence_number, r.reason]).sort();
    expect(reasons).toEqual(
      [
        [seqs[2], "invalid_json"],
        [seqs[3], "invalid_event_type"],
        [seqs[4], "invalid_event_type"],
        [seqs[5], "invalid_json"],
        [seqs[6], "invalid_event_type"],
      ].sort(),
    );
  });

  test("a retried batch, re-split by bisection, does not trail its rejected records twice (objects named by record identity)", async () => {
    const { finish } = deployed();
    const batch = kinesisEvent([
      end("e1", "2024-05-25 10:30:00"),
      "bad 1",
      end("e2", "not a date"),
      "bad 3",
      end("e3", "2024-05-25 10:40:00", "1,5"),
    ]);
    await finish(batch, context());
    await finish({ Records: batch.Records.slice(2) }, context());
    await finish({ Records: batch.Records.slice(1, 3) }, context());
    const records = await trailed();
    expect(records.map((r) => r.sequence_number).sort()).toEqual(seqsOf(batch).slice(1).sort());
  });
});

describe("no record can take its neighbours down", () => {
  test("a fare DynamoDB cannot store is rejected by validation with a reason; its batch is stored", async () => {
    const { finish } = deployed();
    const batch = kinesisEvent([
      end("a", "2024-05-25 10:30:00"),
      end("b", "2024-05-25 10:30:00", TOO_SMALL),
      end("c", "2024-05-25 10:30:00", `1${"0".repeat(126)}`),
    ]);
    expect(await finish(batch, context())).toEqual({ batchItemFailures: [] });
    expect((await env.table.items()).map((item) => item.trip_id)).toEqual(["a"]);
    expect((await trailed()).map((r) => [JSON.parse(r.raw).trip_id, r.reason]).sort()).toEqual([
      ["b", "invalid_fare"],
      ["c", "invalid_fare"],
    ]);
  });

  test("a record DynamoDB refuses for a reason validation did not foresee: store_rejected in the trail, handled; the other 29 stored, nothing retried", async () => {
    env.table.refuse((item) => item.trip_id === "t7");
    const { finish } = deployed();
    const batch = kinesisEvent(Array.from({ length: 30 }, (_, i) => end(`t${i}`, "2024-05-25 10:30:00")));
    expect(await finish(batch, context())).toEqual({ batchItemFailures: [] });
    const stored = (await env.table.items()).map((item) => item.trip_id);
    expect(stored).toHaveLength(29);
    expect(stored).not.toContain("t7");
    const records = await trailed();
    expect(records).toEqual([
      expect.objectContaining({
        sequence_number: seqsOf(batch)[7],
        reason: "store_rejected",
        message: expect.stringContaining("ValidationException"),
      }),
    ]);
  });

  test("invariant: one record of any content among valid ones: every valid one stored, none reported for retry, the odd one in exactly one place", async () => {
    const valid = Array.from({ length: 12 }, (_, i) => end(`v${i}`, "2024-05-25 10:30:00", `${i}.5`));
    const oddArb = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json(),
      fc
        .constantFrom(TOO_SMALL, `1${"0".repeat(126)}`, `1.${"0".repeat(37)}1`, "9".repeat(39))
        .map((fare) => end("odd", "2024-05-25 10:30:00", fare)),
      fc.string({ minLength: 1, maxLength: 300 }).map((id) => end(id, "2024-05-25 10:30:00")),
      fc
        .dictionary(fc.string({ maxLength: 20 }), fc.oneof(fc.string(), fc.integer(), fc.constant(null)))
        .map((extra) => JSON.stringify({ ...JSON.parse(end("odd2", "2024-05-25 10:30:00")), ...extra })),
    );
    await fc.assert(
      fc.asyncProperty(oddArb, fc.nat(12), fc.boolean(), async (odd, position, refusedByStore) => {
        const t = await env.newTable();
        const w = await workspace();
        try {
          // Sometimes DynamoDB also refuses the odd record if it gets that far (a limit nobody foresaw).
          if (refusedByStore) t.refuse((item) => !String(item.trip_id).startsWith("v"));
          const finish = createTripEventHandler("end", w.deps(t), CONSUMERS.tripFinish.leaveTo);
          const records = [...valid];
          records.splice(position, 0, odd);
          const batch = kinesisEvent(records);
          expect(await finish(batch, context())).toEqual({ batchItemFailures: [] });
          const stored = (await t.items()).map((item) => String(item.trip_id));
          for (let i = 0; i < valid.length; i += 1) expect(stored).toContain(`v${i}`);
          const failed = [...(await collect(w, "end"))];
          const oddSeq = batch.Records[position]!.kinesis.sequenceNumber;
          const oddStored = stored.length - valid.length;
          // Stored or trailed here, once; or neither when tripBegin's filter takes it.
          expect(oddStored + failed.filter((r) => r.sequence_number === oddSeq).length).toBe(forTripBegin(odd) ? 0 : 1);
          expect(failed.every((r) => r.sequence_number === oddSeq)).toBe(true);
        } finally {
          await w.cleanup();
        }
      }),
      { numRuns: 40 },
    );
  });
});

function forTripBegin(data: string): boolean {
  try {
    const value: unknown = JSON.parse(data);
    return (
      typeof value === "object" &&
      value !== null &&
      !Array.isArray(value) &&
      matchesEventTypeFilter("start", value as Record<string, unknown>)
    );
  } catch {
    return false;
  }
}

async function collect(w: Workspace, kind: "start" | "end") {
  return (await w.failed(kind)).map((f) => f.record);
}
