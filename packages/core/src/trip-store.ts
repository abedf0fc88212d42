/**
 * The matcher's and the consumers' view of TripData: raw events in, a trip's whole partition
 * out (one strongly consistent Query), completed trips created conditionally. ElectroDB
 * builds and parses the items, so key strings and exact numbers match the entities.
 */
import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { writeAll, type WriteFailure } from "./batch-write.js";
import type { RetryPolicy } from "./retry.js";
import type { WriteRequest } from "./write-request.js";
import { DECIMAL_PATTERN, Decimal } from "./decimal.js";
import { createTripService, type TripService } from "./entities.js";
import { END_EXTRAS, START_EXTRAS, type EndEvent, type StartEvent, type TripEvent } from "./events.js";
import { TRIP_TABLE } from "./pipeline-spec.js";
import type { CompletedTrip } from "./trip.js";

type Item = Record<string, unknown>;

export interface Stored<T> {
  /** The primary key, as DynamoDB wants it for a delete. */
  key: Item;
  value: T;
}

export interface TripItems {
  starts: Stored<StartEvent>[];
  ends: Stored<EndEvent>[];
  completed: Stored<CompletedTrip>[];
}

export const SORT_KEY_PREFIX = { start: "RAW#START#", end: "RAW#END#", completed: "COMPLETED#" } as const;

const START_EXTRA_NAMES = Object.keys(START_EXTRAS) as (keyof typeof START_EXTRAS)[];
const END_EXTRA_NAMES = Object.keys(END_EXTRAS) as (keyof typeof END_EXTRAS)[];

export class TripStore {
  private readonly service: TripService;

  constructor(
    readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {
    this.service = createTripService(db, tableName);
  }

  /** The put of one raw event: its key is deterministic, so a duplicate overwrites the same item. */
  rawPut(event: TripEvent, expiresAt: number): WriteRequest {
    const { rawStart, rawEnd } = this.service.entities;
    const params =
      event.event_type === "start"
        ? rawStart
            .put({ trip_id: event.trip_id, pickup_datetime: event.pickup_datetime, estimated_fare: event.estimated_fare_amount, expires_at: expiresAt, ...pick(event, START_EXTRA_NAMES) })
            .params()
        : rawEnd.put({ trip_id: event.trip_id, dropoff_datetime: event.dropoff_datetime, fare_amount: event.fare_amount, expires_at: expiresAt, ...pick(event, END_EXTRA_NAMES) }).params();
    return { PutRequest: { Item: params.Item as Item } };
  }

  writeAll(requests: readonly WriteRequest[], policy: RetryPolicy): Promise<WriteFailure[]> {
    return writeAll(this.db, this.tableName, requests, policy);
  }

  /** Everything known about one trip, read strongly consistent (a stream record may be newer than an eventually consistent read). */
  async readTrip(tripId: string): Promise<TripItems> {
    const trip: TripItems = { starts: [], ends: [], completed: [] };
    const { rawStart, rawEnd, completed } = this.service.entities;
    let startKey: Item | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "#pk = :trip",
          ExpressionAttributeNames: { "#pk": TRIP_TABLE.partitionKey },
          ExpressionAttributeValues: { ":trip": tripId },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const sortKey = String(item[TRIP_TABLE.sortKey]);
        const key = { [TRIP_TABLE.partitionKey]: tripId, [TRIP_TABLE.sortKey]: sortKey };
        if (sortKey.startsWith(SORT_KEY_PREFIX.start)) {
          const data = rawStart.parse({ Item: item }).data;
          if (data) trip.starts.push({ key, value: { event_type: "start", trip_id: data.trip_id, pickup_datetime: data.pickup_datetime, estimated_fare_amount: data.estimated_fare, ...pick(data, START_EXTRA_NAMES) } });
        } else if (sortKey.startsWith(SORT_KEY_PREFIX.end)) {
          const data = rawEnd.parse({ Item: item }).data;
          if (data) trip.ends.push({ key, value: { event_type: "end", trip_id: data.trip_id, dropoff_datetime: data.dropoff_datetime, fare_amount: data.fare_amount, ...pick(data, END_EXTRA_NAMES) } });
        } else if (sortKey.startsWith(SORT_KEY_PREFIX.completed)) {
          const data = completed.parse({ Item: item }).data;
          if (data)
            trip.completed.push({
              key,
              value: {
                trip_id: data.trip_id,
                pickup_datetime: data.pickup_datetime,
                dropoff_datetime: data.dropoff_datetime,
                estimated_fare_amount: data.estimated_fare,
                fare_amount: data.fare_amount,
                ...pick(data, [...START_EXTRA_NAMES, ...END_EXTRA_NAMES]),
              },
            });
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return trip;
  }

  /** Creates COMPLETED#<pickup> only if that key is free; false when it already exists. */
  async createCompleted(trip: CompletedTrip): Promise<boolean> {
    const { estimated_fare_amount, ...rest } = trip;
    const params = this.service.entities.completed.create({ ...rest, estimated_fare: estimated_fare_amount }).params();
    try {
      await this.db.send(new PutCommand(params as ConstructorParameters<typeof PutCommand>[0]));
      return true;
    } catch (error) {
      if ((error as { name?: string }).name === "ConditionalCheckFailedException") return false;
      throw error;
    }
  }
}

/** Same values, numbers compared by value ("12.50" equals "12.5": DynamoDB normalises stored numbers). */
export function sameValues(a: object, b: object): boolean {
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const names = new Set([...Object.keys(left), ...Object.keys(right)]);
  return [...names].every((name) => canonical(left[name]) === canonical(right[name]));
}

function canonical(value: unknown): unknown {
  return typeof value === "string" && DECIMAL_PATTERN.test(value) ? Decimal.parse(value).toString() : value;
}

function pick<K extends string>(source: object, names: readonly K[]): Partial<Record<K, string>> {
  const values = source as Record<string, unknown>;
  const picked: Partial<Record<K, string>> = {};
  for (const name of names) if (values[name] !== undefined) picked[name] = String(values[name]);
  return picked;
}

/** Whether an event carries exactly the values a completed trip took from an event of its kind (a replay, not a conflict). */
export function isReplayOf(event: TripEvent, trip: CompletedTrip): boolean {
  const { event_type, ...values } = event;
  const names = event_type === "start" ? ["trip_id", "pickup_datetime", "estimated_fare_amount", ...START_EXTRA_NAMES] : ["trip_id", "dropoff_datetime", "fare_amount", ...END_EXTRA_NAMES];
  return sameValues(values, pick(trip, names));
}
