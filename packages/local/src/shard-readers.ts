/**
 * The shards the local event-source mappings poll: Kinesis shards through GetRecords (from
 * TRIM_HORIZON: the stream is created fresh for the run) and the captured DynamoDB stream
 * shards, each turned into the records Lambda delivers.
 */
import {
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
} from "@aws-sdk/client-kinesis";
import type { DynamoDBRecord, KinesisStreamRecord } from "aws-lambda";
import type { ChangeLog } from "./dynamo-streams.js";
import { NOT_JSON } from "./event-filter.js";
import type { PolledRecord, ShardReader, StreamSource } from "./event-source.js";

/** A Kinesis stream with fresh readers (each mapping keeps its own position). */
export async function kinesisSource(kinesis: KinesisClient, streamName: string, region: string): Promise<StreamSource> {
  // The emulator names its own default region in ARNs; the functions must see the local AWS's.
  const arn = `arn:aws:kinesis:${region}:000000000000:stream/${streamName}`;
  const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
  return {
    kind: "kinesis",
    arn,
    shards: Shards.map((shard) => new KinesisShardReader(kinesis, streamName, arn, shard.ShardId!, region)),
  };
}

class KinesisShardReader implements ShardReader {
  private iterator: string | undefined;
  private lastSequence: string | undefined;
  private closed = false;

  constructor(
    private readonly kinesis: KinesisClient,
    private readonly streamName: string,
    private readonly streamArn: string,
    readonly shardId: string,
    private readonly region: string,
  ) {}

  async read(limit: number): Promise<PolledRecord[]> {
    if (this.closed) return [];
    this.iterator ??= await this.freshIterator();
    let result: GetRecordsCommandOutput;
    try {
      result = await this.kinesis.send(
        new GetRecordsCommand({ ShardIterator: this.iterator, Limit: Math.min(limit, 10_000) }),
      );
    } catch (error) {
      // Iterators live five minutes; a long-idle shard resumes after its last record.
      if ((error as { name?: string }).name === "ExpiredIteratorException") this.iterator = undefined;
      throw error;
    }
    this.iterator = result.NextShardIterator;
    if (!this.iterator) this.closed = true;
    const records = result.Records ?? [];
    if (records.length > 0) this.lastSequence = records.at(-1)!.SequenceNumber;
    return records.map((record) => {
      const data = Buffer.from(record.Data ?? new Uint8Array());
      const kinesis = {
        kinesisSchemaVersion: "1.0",
        partitionKey: record.PartitionKey!,
        sequenceNumber: record.SequenceNumber!,
        data: data.toString("base64"),
        approximateArrivalTimestamp: (record.ApproximateArrivalTimestamp ?? new Date()).getTime() / 1000,
      };
      const event: KinesisStreamRecord = {
        kinesis,
        eventSource: "aws:kinesis",
        eventVersion: "1.0",
        eventID: `${this.shardId}:${kinesis.sequenceNumber}`,
        eventName: "aws:kinesis:record",
        invokeIdentityArn: `arn:aws:iam::000000000000:role/${this.streamName}-consumer`,
        awsRegion: this.region,
        eventSourceARN: this.streamArn,
      };
      // Filters see the record's metadata and its data decoded as JSON; other data matches no data filter.
      return {
        sequenceNumber: kinesis.sequenceNumber,
        arrivalMs: kinesis.approximateArrivalTimestamp * 1000,
        event,
        filterable: { ...kinesis, data: parseJson(data.toString("utf8")) },
      };
    });
  }

  private async freshIterator(): Promise<string> {
    const { ShardIterator } = await this.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: this.streamName,
        ShardId: this.shardId,
        ...(this.lastSequence
          ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: this.lastSequence }
          : { ShardIteratorType: "TRIM_HORIZON" }),
      }),
    );
    return ShardIterator!;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
}

/** A captured DynamoDB stream with fresh readers. */
export function changeLogSource(log: ChangeLog): StreamSource {
  const shards = log.shards.map((shard, index): ShardReader => {
    const cursor = log.cursor(index);
    return {
      shardId: shard.shardId,
      read: async (limit: number) =>
        cursor.read(limit).map((record: DynamoDBRecord) => ({
          sequenceNumber: record.dynamodb!.SequenceNumber!,
          arrivalMs: record.dynamodb!.ApproximateCreationDateTime! * 1000,
          event: record,
          filterable: record,
        })),
    };
  });
  return { kind: "dynamodb", arn: log.arn, shards };
}
