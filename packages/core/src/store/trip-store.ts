/**
 * The matcher's and the consumers' view of TripData: raw events in, a trip's whole partition
 * out (one strongly consistent Query), completed trips created and replaced conditionally.
 * ElectroDB builds and parses the items, so key strings and exact numbers match the entities.
 */
import { createHash } from "node:crypto";
import { type DynamoDBDocumentClient, NumberValue, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { END_EXTRAS, type EndEvent, START_EXTRAS, type StartEvent, type TripEvent } from "../domain/events.js";
import { type CompletedTrip, canonicalValues } from "../domain/trip.js";
import { TRIP_TABLE } from "../platform/pipeline-spec.js";
import type { RetryPolicy } from "../platform/retry.js";
import { type WriteFailure, writeAll } from "./batch-write.js";
import { createTripService, type TripService } from "./entities.js";
import type { WriteRequest } from "./write-request.js";

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

  /**
   * The put of one raw event. Its key is the instant plus a digest of its values: a duplicate
   * overwrites the same item; an event of the same instant with other values is another item,
   * so no write depends on which of the two came first.
   */
  rawPut(event: TripEvent, expiresAt: number): WriteRequest {
    const { rawStart, rawEnd } = this.service.entities;
    const variant = variantOf(event);
    const params =
      event.event_type === "start"
        ? rawStart
            .put({
              trip_id: event.trip_id,
              pickup_datetime: event.pickup_datetime,
              variant,
              estimated_fare: event.estimated_fare_amount,
              expires_at: expiresAt,
              ...pick(event, START_EXTRA_NAMES),
            })
            .params()
        : rawEnd
            .put({
              trip_id: event.trip_id,
              dropoff_datetime: event.dropoff_datetime,
              variant,
              fare_amount: event.fare_amount,
              expires_at: expiresAt,
              ...pick(event, END_EXTRA_NAMES),
            })
            .params();
    return { PutRequest: { Item: params.Item as Item } };
  }

  writeAll(requests: readonly WriteRequest[], policy: RetryPolicy): Promise<WriteFailure[]> {
    return writeAll(this.db, this.tableName, requests, policy);
  }

  /**
   * Everything known about one trip, read strongly consistent (a stream record may be newer than
   * an eventually consistent read), in DESCENDING key order: a Query is no snapshot (each item is
   * read as of its own instant, page by page), and every settle moves knowledge to a lower key
   * before deleting the higher one (see matcher.ts, point 1), so reading higher keys first never
   * misses both the old holder and the new one.
   */
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
          ScanIndexForward: false,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const sortKey = String(item[TRIP_TABLE.sortKey]);
        const key = { [TRIP_TABLE.partitionKey]: tripId, [TRIP_TABLE.sortKey]: sortKey };
        if (sortKey.startsWith(SORT_KEY_PREFIX.start)) {
          const data = rawStart.parse({ Item: item }).data;
          if (data)
            trip.starts.push({
              key,
              value: {
                event_type: "start",
                trip_id: data.trip_id,
                pickup_datetime: data.pickup_datetime,
                estimated_fare_amount: data.estimated_fare,
                ...pick(data, START_EXTRA_NAMES),
              },
            });
        } else if (sortKey.startsWith(SORT_KEY_PREFIX.end)) {
          const data = rawEnd.parse({ Item: item }).data;
          if (data)
            trip.ends.push({
              key,
              value: {
                event_type: "end",
                trip_id: data.trip_id,
                dropoff_datetime: data.dropoff_datetime,
                fare_amount: data.fare_amount,
                ...pick(data, END_EXTRA_NAMES),
              },
            });
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
    return this.conditionalPut(
      this.service.entities.completed.create({ ...rest, estimated_fare: estimated_fare_amount }).params(),
    );
  }

  /**
   * Replaces COMPLETED#<pickup> with `trip` (same pickup) only if it still holds exactly the
   * values in `read` (optimistic concurrency); false when another writer changed or removed it.
   */
  async replaceCompleted(trip: CompletedTrip, read: CompletedTrip): Promise<boolean> {
    const { estimated_fare_amount, ...rest } = trip;
    const params = this.service.entities.completed
      .put({ ...rest, estimated_fare: estimated_fare_amount })
      .params() as Item;
    const names: Record<string, string> = { "#sk": TRIP_TABLE.sortKey };
    const values: Record<string, unknown> = {};
    const terms = ["attribute_exists(#sk)"];
    const stored = read as Record<string, string | undefined>;
    COMPLETED_VALUES.forEach(([field, attribute, isNumber], i) => {
      names[`#v${i}`] = attribute;
      const value = stored[field];
      if (value === undefined) terms.push(`attribute_not_exists(#v${i})`);
      else {
        terms.push(`#v${i} = :v${i}`);
        values[`:v${i}`] = isNumber ? NumberValue.from(value) : value;
      }
    });
    return this.conditionalPut({
      ...params,
      ConditionExpression: terms.join(" AND "),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
  }

  private async conditionalPut(params: object): Promise<boolean> {
    try {
      await this.db.send(new PutCommand(params as ConstructorParameters<typeof PutCommand>[0]));
      return true;
    } catch (error) {
      if ((error as { name?: string }).name === "ConditionalCheckFailedException") return false;
      throw error;
    }
  }
}

/** The value attributes of a COMPLETED item: its field, its attribute, whether a number. */
const COMPLETED_VALUES: [string, string, boolean][] = [
  ["dropoff_datetime", "dropoff_datetime", false],
  ["estimated_fare_amount", "estimated_fare", true],
  ["fare_amount", "fare_amount", true],
  ...Object.entries({ ...START_EXTRAS, ...END_EXTRAS }).map(([name, kind]): [string, string, boolean] => [
    name,
    name,
    kind !== "datetime",
  ]),
];

/** 16 hex digits of SHA-256 over the canonical values: a collision is out of reach in one trip. */
export function variantOf(event: TripEvent): string {
  return createHash("sha256").update(canonicalValues(event)).digest("hex").slice(0, 16);
}

function pick<K extends string>(source: object, names: readonly K[]): Partial<Record<K, string>> {
  const values = source as Record<string, unknown>;
  const picked: Partial<Record<K, string>> = {};
  for (const name of names) if (values[name] !== undefined) picked[name] = String(values[name]);
  return picked;
}
