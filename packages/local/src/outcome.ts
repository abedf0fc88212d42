/**
 * What a local run left behind, for the report: anomalies (trips in failed/anomalies/) and
 * pending trips (raw events but no COMPLETED item, anomalies excepted: their raw items stay on
 * purpose).
 */
import { type DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { TRIP_TABLE } from "@trip-pipeline/core/platform/pipeline-spec";
import type { BlobStore } from "@trip-pipeline/core/store/blob-store";
import { FailedTrail } from "@trip-pipeline/core/store/failed-trail";
import { SORT_KEY_PREFIX } from "@trip-pipeline/core/store/trip-store";
import type { DynamoDBRecord } from "aws-lambda";

/** Trip ids with an anomaly in the failed trail (one object per trip, two records each). */
export async function anomalyTrips(bucket: BlobStore): Promise<Set<string>> {
  const trips = new Set<string>();
  for await (const { record } of new FailedTrail(bucket).read("anomalies"))
    trips.add(String((JSON.parse(record.raw) as { trip_id?: unknown }).trip_id));
  return trips;
}

/**
 * Trips with a start or an end stored and no COMPLETED item, other than the given anomalies. A
 * scan returns a trip's items together, so only the trip being read is held: a table of a
 * million completed trips costs no more memory than one of ten.
 */
export async function pendingTrips(
  db: DynamoDBDocumentClient,
  tableName: string,
  anomalies: ReadonlySet<string>,
): Promise<string[]> {
  const { partitionKey, sortKey } = TRIP_TABLE;
  const pending: string[] = [];
  let trip = { id: "", raw: false, completed: false };
  const closeTrip = () => {
    if (trip.raw && !trip.completed && !anomalies.has(trip.id)) pending.push(trip.id);
  };
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: tableName,
        ProjectionExpression: "#pk, #sk",
        ExpressionAttributeNames: { "#pk": partitionKey, "#sk": sortKey },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const tripId = String(item[partitionKey]);
      const key = String(item[sortKey]);
      if (tripId !== trip.id) {
        closeTrip();
        trip = { id: tripId, raw: false, completed: false };
      }
      // Only trip partitions count: the live KPI rows share the table.
      if (key.startsWith(SORT_KEY_PREFIX.completed)) trip.completed = true;
      else if (key.startsWith(SORT_KEY_PREFIX.start) || key.startsWith(SORT_KEY_PREFIX.end)) trip.raw = true;
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  closeTrip();
  return pending.sort();
}

/**
 * Trips waiting for a partner while a run goes on, from the table's stream: trips with raw
 * items stored (an anomaly's stay until the report tells them apart).
 */
export class LivePending {
  private readonly rawItems = new Map<string, number>();

  get count(): number {
    return this.rawItems.size;
  }

  observe(record: DynamoDBRecord): void {
    const keys = record.dynamodb?.Keys;
    const tripId = keys?.[TRIP_TABLE.partitionKey]?.S;
    const sortKey = keys?.[TRIP_TABLE.sortKey]?.S ?? "";
    if (!tripId || !(sortKey.startsWith(SORT_KEY_PREFIX.start) || sortKey.startsWith(SORT_KEY_PREFIX.end))) return;
    const count =
      (this.rawItems.get(tripId) ?? 0) + (record.eventName === "INSERT" ? 1 : record.eventName === "REMOVE" ? -1 : 0);
    if (count > 0) this.rawItems.set(tripId, count);
    else this.rawItems.delete(tripId);
  }
}
