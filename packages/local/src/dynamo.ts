/** The embedded DynamoDB of the local AWS: dynalite in this process, the table as deployed. */

import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CreateTableCommand, type DynamoDBClient, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { TRIP_TABLE } from "@trip-pipeline/core/platform/pipeline-spec";
import dynalite from "dynalite";

export interface LocalServer {
  endpoint: string;
  close(): Promise<void>;
}

export async function listen(server: Server): Promise<LocalServer> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** `dir`: keep the tables in a LevelDB folder there instead of in memory. */
export async function startLocalDynamoDb(dir?: string): Promise<LocalServer> {
  // Zero latency for table state changes: the emulator otherwise simulates CREATING for ~500 ms.
  return listen(dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(dir && { path: dir }) }));
}

/** Creates TripData exactly as the Pipeline stack declares it (keys, the per-day GSI, the stream). */
export async function createTripTable(client: DynamoDBClient, tableName: string = TRIP_TABLE.name): Promise<void> {
  const { partitionKey, sortKey, completedByDay } = TRIP_TABLE;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [partitionKey, sortKey, completedByDay.partitionKey, completedByDay.sortKey].map(
        (name) => ({
          AttributeName: name,
          AttributeType: "S",
        }),
      ),
      KeySchema: [
        { AttributeName: partitionKey, KeyType: "HASH" },
        { AttributeName: sortKey, KeyType: "RANGE" },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: completedByDay.name,
          KeySchema: [
            { AttributeName: completedByDay.partitionKey, KeyType: "HASH" },
            { AttributeName: completedByDay.sortKey, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 0.05, maxDelay: 0.2 }, { TableName: tableName });
}
