/** Stream records as Lambda delivers them, for pure tests of the matcher (no emulator needed). */
import { marshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import { TRIP_TABLE } from "../../src/platform/pipeline-spec.js";

type Item = Record<string, unknown>;
let sequence = 0;

/** A DynamoDB Streams INSERT record exactly as Lambda delivers it (NEW_AND_OLD_IMAGES view). */
export function insertRecord(tableName: string, item: Item): DynamoDBRecord {
  const newImage = marshall(item, { removeUndefinedValues: true });
  const seq = String(++sequence).padStart(21, "0");
  return {
    eventID: `evt-${seq}`,
    eventName: "INSERT",
    eventVersion: "1.1",
    eventSource: "aws:dynamodb",
    awsRegion: "eu-north-1",
    eventSourceARN: `arn:aws:dynamodb:eu-north-1:000000000000:table/${tableName}/stream/2024-05-25T00:00:00.000`,
    dynamodb: {
      ApproximateCreationDateTime: 1_716_595_200,
      Keys: {
        [TRIP_TABLE.partitionKey]: newImage[TRIP_TABLE.partitionKey]!,
        [TRIP_TABLE.sortKey]: newImage[TRIP_TABLE.sortKey]!,
      } as never,
      NewImage: newImage as never,
      SequenceNumber: seq,
      SizeBytes: JSON.stringify(newImage).length,
      StreamViewType: "NEW_AND_OLD_IMAGES",
    },
  };
}
