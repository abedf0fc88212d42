/**
 * The embedded DynamoDB of `pnpm start`: dynalite's storage and operations, called in this
 * process behind one HTTP endpoint that speaks the DynamoDB JSON protocol. Every request passes
 * the stream capture (DynamoDB Streams, which dynalite lacks) and optional throttling before it
 * reaches dynalite, with no second HTTP hop: a proxy in front of dynalite's own server would
 * parse every request twice, and the capture's old-image reads are plain function calls here.
 *
 * This uses dynalite's internal modules (db, validations, actions), the same calls its HTTP
 * handler makes; the package is pinned to an exact version.
 */
import { createRequire } from "node:module";
import http from "node:http";
import { randomUUID } from "node:crypto";
import { listen, type LocalServer } from "./dynamo.js";
import { ChangeCapture, type CapturedTable, type ChangeLog, type Reply, type Request } from "./dynamo-streams.js";
import type { Throttle } from "./throttle.js";

const require = createRequire(import.meta.url);

interface DynaliteError {
  statusCode?: number;
  body?: Record<string, unknown>;
}
type Callback = (error: (Error & DynaliteError) | null, result?: Record<string, unknown>) => void;
interface DynaliteStore {
  lifecycleManager?: { gracefulClose(cb: (error?: Error) => void): void };
}
interface DynaliteValidations {
  checkTypes(data: Request, types: unknown): Request;
  checkValidations(data: Request, types: unknown, custom: unknown, store: DynaliteStore): void;
}
interface ActionValidation {
  types: unknown;
  custom?: unknown;
}

const db = require("dynalite/db") as { create(options: Record<string, number>): DynaliteStore };
const validations = require("dynalite/validations") as DynaliteValidations;

const OPERATIONS = [
  "BatchGetItem",
  "BatchWriteItem",
  "CreateTable",
  "DeleteItem",
  "DeleteTable",
  "DescribeTable",
  "DescribeTimeToLive",
  "GetItem",
  "ListTables",
  "PutItem",
  "Query",
  "Scan",
  "UpdateItem",
  "UpdateTable",
];
/** What DynamoDB calls the data plane; table management is never throttled here. */
const DATA_OPERATIONS = new Set(["GetItem", "BatchGetItem", "Query", "Scan", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"]);
const CONTENT_TYPE = "application/x-amz-json-1.0";
const THROTTLED = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException";

const handlers = new Map(
  OPERATIONS.map((operation) => {
    const name = operation[0]!.toLowerCase() + operation.slice(1);
    return [operation, { action: require(`dynalite/actions/${name}`) as (store: DynaliteStore, data: Request, cb: Callback) => void, validation: require(`dynalite/validations/${name}`) as ActionValidation }];
  }),
);

export interface EmbeddedDynamoDbOptions {
  /** Tables whose changes are captured on a stream (as the stack enables them). */
  streams: readonly CapturedTable[];
  region: string;
  /** Stream shards per table. */
  streamShards: number;
  throttle?: Throttle;
}

export interface EmbeddedDynamoDb extends LocalServer {
  /** Each captured table's stream, by table name. */
  streams: Map<string, ChangeLog>;
}

export async function startEmbeddedDynamoDb(options: EmbeddedDynamoDbOptions): Promise<EmbeddedDynamoDb> {
  // Zero latency for table state changes: dynalite otherwise simulates CREATING for ~500 ms.
  const store = db.create({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const execute = (operation: string, request: Request) => executeOn(store, operation, request);
  const capture = new ChangeCapture(execute, options.streams, options.region, options.streamShards);

  const serve = (operation: string, request: Request): Promise<Reply> => {
    const fault = options.throttle && DATA_OPERATIONS.has(operation) ? options.throttle.decide(operation === "BatchWriteItem") : "none";
    if (fault === "request") return Promise.resolve({ status: 400, body: { __type: THROTTLED, message: "The level of configured provisioned throughput for the table was exceeded." } });
    return capture.run(operation, request, fault === "items" ? options.throttle : undefined);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const operation = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
      let request: Request;
      try {
        request = JSON.parse(Buffer.concat(chunks).toString("utf8") || "null") as Request;
      } catch {
        return send(res, { status: 400, body: { __type: "com.amazon.coral.service#SerializationException" } });
      }
      if (!handlers.has(operation) || typeof request !== "object" || request === null)
        return send(res, { status: 400, body: { __type: "com.amazon.coral.service#UnknownOperationException" } });
      serve(operation, request).then(
        (reply) => send(res, reply),
        (error: unknown) => send(res, { status: 500, body: { __type: "com.amazonaws.dynamodb.v20120810#InternalServerError", message: String(error) } }),
      );
    });
  });
  const local = await listen(server);
  return {
    endpoint: local.endpoint,
    streams: capture.streams,
    close: async () => {
      await local.close();
      await new Promise<void>((resolve) => (store.lifecycleManager ? store.lifecycleManager.gracefulClose(() => resolve()) : resolve()));
    },
  };
}

/** One operation as dynalite's HTTP handler runs it: type checks, validations, then the action. */
function executeOn(store: DynaliteStore, operation: string, request: Request): Promise<Reply> {
  const { action, validation } = handlers.get(operation)!;
  return new Promise((resolve, reject) => {
    let data: Request;
    try {
      data = validations.checkTypes(request, validation.types);
      validations.checkValidations(data, validation.types, validation.custom, store);
    } catch (error) {
      const { statusCode, body } = error as DynaliteError;
      return statusCode && body ? resolve({ status: statusCode, body }) : reject(error);
    }
    action(store, data, (error, result) => {
      if (!error) return resolve({ status: 200, body: result ?? {} });
      if (error.statusCode && error.body) return resolve({ status: error.statusCode, body: error.body });
      reject(error);
    });
  });
}

function send(res: http.ServerResponse, reply: Reply): void {
  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status, { "content-type": CONTENT_TYPE, "content-length": Buffer.byteLength(body), "x-amzn-requestid": randomUUID() });
  res.end(body);
}
