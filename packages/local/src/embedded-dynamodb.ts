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

import { randomUUID } from "node:crypto";
import http from "node:http";
import { createRequire } from "node:module";
import type { DynamoDBRecord } from "aws-lambda";
import { type LocalServer, listen } from "./dynamo.js";
import { type CapturedTable, ChangeCapture, type ChangeLog, type Reply, type Request } from "./dynamo-streams.js";
import { memoizeExpressionParsers } from "./expression-memo.js";
import { LaggedIndexes } from "./gsi-lag.js";
import type { Throttle } from "./throttle.js";
import { type TornReadOptions, TornReads } from "./torn-reads.js";
import { type TtlOptions, TtlSweeper } from "./ttl-sweeper.js";

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

// Zero latency for table state changes: dynalite otherwise simulates CREATING for ~500 ms.
const STORE_OPTIONS = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };
const db = require("dynalite/db") as { create(options: Record<string, number | string>): DynaliteStore };
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
/** Single-item writes; BatchWriteItem counts the items it asks for. */
const ITEM_WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem"]);
/** What DynamoDB calls the data plane; table management is never throttled here. */
const DATA_OPERATIONS = new Set([
  "GetItem",
  "BatchGetItem",
  "Query",
  "Scan",
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "BatchWriteItem",
]);
const CONTENT_TYPE = "application/x-amz-json-1.0";
const THROTTLED = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException";

const handlers = new Map(
  OPERATIONS.map((operation) => {
    const name = operation[0]!.toLowerCase() + operation.slice(1);
    return [
      operation,
      {
        action: require(`dynalite/actions/${name}`) as (store: DynaliteStore, data: Request, cb: Callback) => void,
        validation: require(`dynalite/validations/${name}`) as ActionValidation,
      },
    ];
  }),
);

/** DynamoDB behaviours beyond dynalite's that a run may switch on (each off by default). */
export interface DynamoDbBehaviours {
  /** Index reads (Query or Scan with IndexName) see a write only this many ms after it happened. */
  gsiLagMs?: number;
  /** TTL on the captured tables that name a ttlAttribute: expired items deleted about every second. */
  ttl?: TtlOptions;
  /** Base-table Queries served in small pages, item by item (seeded). */
  tornReads?: TornReadOptions;
}

export interface EmbeddedDynamoDbOptions extends DynamoDbBehaviours {
  /** Tables whose changes are captured on a stream (as the stack enables them). */
  streams: readonly CapturedTable[];
  region: string;
  /** Stream shards per table. */
  streamShards: number;
  throttle?: Throttle;
  /** Hands captured records on instead of keeping them (the emulator thread forwards them to the pollers' thread). */
  forward?: (table: string, shardIndex: number, record: DynamoDBRecord) => void;
  /** Keeps the tables in a LevelDB folder here (dynalite's own option; the binary ships prebuilt with it) instead of in memory. */
  tableDir?: string;
}

/** The clients' calls so far, as AWS would bill them: Query calls (pages), and item writes. */
export interface DynamoDbUsage {
  queries: number;
  writes: number;
}

export interface EmbeddedDynamoDb extends LocalServer {
  /** What the clients asked for so far (throttled and failed calls included, as retries cost in AWS too). */
  usage: DynamoDbUsage;
  /** One DynamoDB JSON-protocol call (the X-Amz-Target operation and the body) without HTTP: what the endpoint answers. */
  call(operation: string, body: string): Promise<Reply>;
  /** Each captured table's stream, by table name. */
  streams: Map<string, ChangeLog>;
  /** Moves the TTL clock forward and sweeps at once; resolves with the items that sweep deleted. Needs the ttl option. */
  advanceTtlClock(ms: number): Promise<number>;
}

export async function startEmbeddedDynamoDb(options: EmbeddedDynamoDbOptions): Promise<EmbeddedDynamoDb> {
  // Here rather than at import: the benchmark's ceiling runs dynalite's own server, as shipped.
  memoizeExpressionParsers();
  const store = db.create(options.tableDir ? { ...STORE_OPTIONS, path: options.tableDir } : STORE_OPTIONS);
  const execute = (operation: string, request: Request) => executeOn(store, operation, request);
  const capture = new ChangeCapture(execute, options.streams, options.region, options.streamShards, options.forward);
  const captured = new Set(options.streams.map((table) => table.name));
  // The tables as they were gsiLagMs ago, in a store of their own that no client sees.
  const replica = options.gsiLagMs ? db.create(STORE_OPTIONS) : undefined;
  const lagged =
    replica && new LaggedIndexes(options.gsiLagMs!, (operation, request) => executeOn(replica, operation, request));
  const sweeper = options.ttl && new TtlSweeper(capture, options.ttl);
  const torn = options.tornReads && new TornReads(execute, options.tornReads);
  for (const behaviour of [lagged, sweeper]) if (behaviour) capture.listeners.push(behaviour.observe);

  const serve = async (operation: string, request: Request): Promise<Reply> => {
    const fault =
      options.throttle && DATA_OPERATIONS.has(operation)
        ? options.throttle.decide(operation === "BatchWriteItem")
        : "none";
    if (fault === "request")
      return {
        status: 400,
        body: {
          __type: THROTTLED,
          message: "The level of configured provisioned throughput for the table was exceeded.",
        },
      };
    const table = String(request.TableName);
    if (captured.has(table)) {
      if (lagged && (operation === "Query" || operation === "Scan") && request.IndexName !== undefined)
        return lagged.read(operation, request);
      if (torn && operation === "Query" && request.IndexName === undefined) return torn.query(request);
      if (lagged && (operation === "CreateTable" || operation === "DeleteTable")) {
        const reply = await execute(operation, request);
        if (reply.status === 200) await lagged.mirror(operation, request);
        return reply;
      }
    }
    return capture.run(operation, request, { throttle: fault === "items" ? options.throttle : undefined });
  };

  const usage: DynamoDbUsage = { queries: 0, writes: 0 };
  const call = async (operation: string, body: string): Promise<Reply> => {
    let request: Request;
    try {
      request = JSON.parse(body || "null") as Request;
    } catch {
      return { status: 400, body: { __type: "com.amazon.coral.service#SerializationException" } };
    }
    if (!handlers.has(operation) || typeof request !== "object" || request === null)
      return { status: 400, body: { __type: "com.amazon.coral.service#UnknownOperationException" } };
    if (operation === "Query") usage.queries += 1;
    else if (ITEM_WRITES.has(operation)) usage.writes += 1;
    else if (operation === "BatchWriteItem")
      for (const requests of Object.values((request.RequestItems ?? {}) as Record<string, unknown[]>))
        usage.writes += requests.length;
    return serve(operation, request).catch((error: unknown) => ({
      status: 500,
      body: { __type: "com.amazonaws.dynamodb.v20120810#InternalServerError", message: String(error) },
    }));
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const operation = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
      void call(operation, Buffer.concat(chunks).toString("utf8")).then((reply) => send(res, reply));
    });
  });
  const local = await listen(server);
  return {
    call,
    usage,
    endpoint: local.endpoint,
    streams: capture.streams,
    advanceTtlClock: (ms) =>
      sweeper ? sweeper.advance(ms) : Promise.reject(new Error("advanceTtlClock needs the ttl option")),
    close: async () => {
      sweeper?.close();
      await local.close();
      await Promise.all(
        [store, replica].map(
          (closing) =>
            new Promise<void>((resolve) =>
              closing?.lifecycleManager ? closing.lifecycleManager.gracefulClose(() => resolve()) : resolve(),
            ),
        ),
      );
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
  res.writeHead(reply.status, {
    "content-type": CONTENT_TYPE,
    "content-length": Buffer.byteLength(body),
    "x-amzn-requestid": randomUUID(),
  });
  res.end(body);
}
