/**
 * The emulator thread: dynalite with its stream capture and kinesalite (with the throttling
 * proxy on fault runs) serve here, on their own core, while the handlers and their SDK clients
 * run on the main thread (see emulator-host.ts for the protocol). Captured stream records and
 * replies are forwarded in the order they are made, one message per turn of the event loop.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { DynamoDBRecord } from "aws-lambda";
import type { LocalServer } from "./dynamo.js";
import { startEmbeddedDynamoDb } from "./embedded-dynamodb.js";
import {
  type EmulatorThreadOptions,
  type HostMessage,
  STREAM_WINDOW,
  type ThreadMessage,
  type ThreadOutput,
} from "./emulator-host.js";
import { startLocalKinesis } from "./kinesis.js";
import { startKinesisThrottle } from "./kinesis-throttle.js";
import { HeapAfterGc } from "./memory.js";
import { StreamWindow } from "./stream-window.js";
import { Throttle } from "./throttle.js";

const port = parentPort!;
const options = workerData as EmulatorThreadOptions;
const post = (message: ThreadMessage) => port.postMessage(message);

let outbox: ThreadOutput[] = [];
function send(item: ThreadOutput): void {
  if (outbox.length === 0) setImmediate(flush);
  outbox.push(item);
}
function flush(): void {
  if (outbox.length === 0) return;
  post({ type: "output", items: outbox, heldBack: heldBack() });
  outbox = [];
}

const heap = new HeapAfterGc((bytes) => send({ type: "heap", bytes }));
const throttle = options.throttle && new Throttle(options.throttle);
/** Each captured table's records beyond the window the pollers' side has room for wait here. */
const windows = new Map(
  options.streams.map((table) => [
    table.name,
    new StreamWindow<Extract<ThreadOutput, { type: "record" }>>(options.streamWindow ?? STREAM_WINDOW, send),
  ]),
);
const heldBack = () => [...windows.values()].reduce((sum, window) => sum + window.heldBack, 0);
const servers: LocalServer[] = [];
const dynamodb = await startEmbeddedDynamoDb({
  // Region, streams and the DynamoDB behaviours as asked; the throttle is the one both emulators share.
  ...options,
  throttle,
  // As text: a record waiting in the stream takes a fraction of the memory of its object form.
  forward: (table, shard, record: DynamoDBRecord) =>
    windows.get(table)!.offer({ type: "record", table, shard, record: JSON.stringify(record) }),
});
servers.push(dynamodb);
const kinesalite = await startLocalKinesis(options.streamDir);
servers.push(kinesalite);
const proxy = throttle && (await startKinesisThrottle(kinesalite.endpoint, throttle));
if (proxy) servers.push(proxy);

/** Calls not answered yet: a close waits for them, so no call asked before it goes unanswered. */
const answering = new Set<Promise<void>>();
function answer(work: Promise<ThreadOutput>): void {
  const answered: Promise<void> = work.then((output) => {
    send(output);
    answering.delete(answered);
  });
  answering.add(answered);
}

port.on("message", (message: HostMessage) => {
  switch (message.type) {
    case "sync":
      // Every record made before this message arrived goes out before the answer.
      send({
        type: "synced",
        id: message.id,
        throttled: { ...(throttle?.counts ?? { requests: 0, items: 0 }) },
        heldBack: heldBack(),
        usage: { ...dynamodb.usage },
      });
      break;
    case "stream-credit":
      windows.get(message.table)!.grant(message.records);
      break;
    case "calls":
      // A call's stream records are in the outbox already when it is answered: they go out first.
      for (const call of message.calls)
        answer(
          dynamodb
            .call(call.operation, call.body)
            .then((reply) => ({ type: "reply", id: call.id, status: reply.status, body: JSON.stringify(reply.body) })),
        );
      break;
    case "advance-ttl-clock":
      answer(dynamodb.advanceTtlClock(message.ms).then((deleted) => ({ type: "ttl-swept", id: message.id, deleted })));
      break;
    case "stop-throttle":
      throttle?.stop();
      break;
    case "close":
      heap.stop();
      void Promise.all(answering)
        .then(() => {
          flush();
          return Promise.all([...servers].reverse().map((server) => server.close()));
        })
        .then(() => {
          post({ type: "closed" });
          port.close();
        });
      break;
  }
});

post({
  type: "ready",
  dynamodbEndpoint: dynamodb.endpoint,
  kinesisEndpoint: proxy?.endpoint ?? kinesalite.endpoint,
  streamArns: Object.fromEntries([...dynamodb.streams].map(([table, log]) => [table, log.arn])),
});
