/**
 * Shard rollover, emulated at the reader: in AWS a DynamoDB stream shard closes after a few
 * hours and a Kinesis shard closes on every reshard, and a child shard with a new id continues
 * the same keys. Consumers then see shard ids change mid-stream, while sequence numbers keep
 * increasing from parent to child. Neither emulator reshards, so each shard of a source is cut
 * into segments of `every` records (counted before event filters: a shard holds all of them),
 * each read as its own shard. Segments follow each other on one reader, so a parent is always
 * read to its end before its child, as AWS guarantees.
 *
 * Ids are stable per run and equal for every mapping of the stream (they depend only on the
 * parent, the generation and the number of shards): generation g of the shard numbered n gets
 * the number n + g x shards, in the parent id's own format, as AWS numbers new shards after the
 * existing ones.
 */
import type { KinesisStreamRecord } from "aws-lambda";
import type { PolledRecord, ShardReader, StreamSource } from "./event-source.js";

/** The source with each shard rolling over to a child after every `every` records. */
export function withShardRollover(source: StreamSource, every: number): StreamSource {
  if (!Number.isSafeInteger(every) || every < 1)
    throw new Error(`shard rollover needs a whole number of records from 1, got ${every}`);
  const count = source.shards.length;
  return { ...source, shards: source.shards.map((shard) => rollingShard(shard, every, count, source.kind)) };
}

/** The id of a shard's child in generation `generation` (0: the shard itself). */
export function childShardId(parentId: string, generation: number, shards: number): string {
  return parentId.replace(/\d+/, (digits) =>
    String(BigInt(digits) + BigInt(generation * shards)).padStart(digits.length, "0"),
  );
}

function rollingShard(parent: ShardReader, every: number, shards: number, kind: StreamSource["kind"]): ShardReader {
  let generation = 0;
  let inSegment = 0;
  return {
    shardId: parent.shardId,
    async read(limit: number): Promise<PolledRecord[]> {
      if (inSegment === every) {
        generation += 1;
        inSegment = 0;
      }
      const records = await parent.read(Math.min(limit, every - inSegment));
      inSegment += records.length;
      const shardId = childShardId(parent.shardId, generation, shards);
      for (const record of records) {
        record.shardId = shardId;
        // A Kinesis record names its shard in its eventID; a DynamoDB stream record does not.
        if (kind === "kinesis") (record.event as KinesisStreamRecord).eventID = `${shardId}:${record.sequenceNumber}`;
      }
      return records;
    },
  };
}
