/**
 * The local SDK configuration for DynamoDB: the clients of the local AWS hand each call to the
 * emulator thread as a message instead of an HTTP request. No sockets, no HTTP parsing on either
 * side: that per-call work was ours, not the pipeline's. The SDK still serialises, retries and
 * parses errors as it does against AWS. Crash injection sees every call (admitRequest), as it
 * sees every HTTP request.
 */
import { randomUUID } from "node:crypto";
import type { LocalDynamoDb } from "@trip-pipeline/core/aws/clients";
import type { EmulatorThread } from "./emulator-host.js";
import { admitRequest } from "./lambda.js";

interface SdkRequest {
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

const DECODER = new TextDecoder();

export function dynamoDbTransport(emulators: EmulatorThread): LocalDynamoDb["requestHandler"] {
  const handler = {
    async handle(request: SdkRequest) {
      const refused = admitRequest();
      if (refused) throw refused;
      const operation = (request.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
      // Decoded as bytes: the SDK's body warns on string methods (Buffer.from would call them).
      const body = typeof request.body === "string" ? request.body : DECODER.decode(request.body ?? new Uint8Array());
      const reply = await emulators.callDynamoDb(operation, body);
      return {
        response: {
          statusCode: reply.status,
          headers: { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": randomUUID() },
          body: Buffer.from(reply.body),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  };
  return handler as unknown as LocalDynamoDb["requestHandler"];
}
