/** One item write of a BatchWriteItem call, and the identity of the TripData item it touches. */
import { TRIP_TABLE } from "../platform/pipeline-spec.js";

type Item = Record<string, unknown>;
export type WriteRequest = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: Item } };

/** Identity of an item in TripData: one string per primary key. */
export function keyOf(item: Item): string {
  return `${String(item[TRIP_TABLE.partitionKey])}\u0000${String(item[TRIP_TABLE.sortKey])}`;
}

/** The item a request writes or deletes (for a put, the whole item: it holds the key). */
export function keyItemOf(request: WriteRequest): Item {
  return "PutRequest" in request ? request.PutRequest.Item : request.DeleteRequest.Key;
}

export function keyOfRequest(request: WriteRequest): string {
  return keyOf(keyItemOf(request));
}
