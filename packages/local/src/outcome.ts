/**
 * What a local run left behind, for the report: anomalies (trips in failed/anomalies/) and
 * pending trips (raw events but no COMPLETED item, anomalies excepted: their raw items stay on
 * purpose).
 */
import { ScanCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { BlobStore } from "@trip-pipeline/core/blob-store";
import { FailedTrail } from "@trip-pipeline/core/failed-trail";
import { TRIP_TABLE } from "@trip-pipeline/core/pipeline-spec";
import { SORT_KEY_PREFIX } from "@trip-pipeline/core/trip-store";

/** Trip ids with an anomaly in the failed trail (one object per trip, two records each). */
export async function anomalyTrips(bucket: BlobStore): Promise<Set<string>> {
  const trips = new Set<string>();
  for await (const { record } of new FailedTrail(bucket).read("anomalies")) trips.add(String((JSON.parse(record.raw) as { trip_id?: unknown }).trip_id));
  return trips;
}

/** Trips with a start or an end stored and no COMPLETED item, other than the given anomalies. */
export async function pendingTrips(db: DynamoDBDocumentClient, tableName: string, anomalies: ReadonlySet<string>): Promise<string[]> {
  const { partitionKey, sortKey } = TRIP_TABLE;
  const raw = new Set<string>();
  const completed = new Set<string>();
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({ TableName: tableName, ProjectionExpression: "#pk, #sk", ExpressionAttributeNames: { "#pk": partitionKey, "#sk": sortKey }, ExclusiveStartKey: startKey }),
    );
    for (const item of page.Items ?? []) {
      const tripId = String(item[partitionKey]);
      (String(item[sortKey]).startsWith(SORT_KEY_PREFIX.completed) ? completed : raw).add(tripId);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return [...raw].filter((tripId) => !completed.has(tripId) && !anomalies.has(tripId)).sort();
}
