/**
 * The embedded emulators in a thread of their own: storage work (dynalite, its stream capture,
 * kinesalite) runs on the second core while handler and SDK work runs here. Kinesis clients
 * reach kinesalite over loopback HTTP; DynamoDB calls cross as messages (dynamodb-transport.ts),
 * the calls made in one turn of this side's event loop in one message, the replies and captured
 * stream records of one turn of the thread's loop in one message back. The records go into a
 * copy of each ChangeLog on this side, which the pollers read.
 *
 * Exactness: records are made in the emulator thread under the item locks, in write order, and
 * arrive here in that order. `sync()` returns once every record made before the call is here,
 * so a poller that found the stream empty after a sync has seen every write completed before it.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { DynamoDBRecord } from "aws-lambda";
import { type CapturedTable, ChangeLog } from "./dynamo-streams.js";
import type { DynamoDbBehaviours, DynamoDbUsage } from "./embedded-dynamodb.js";
import type { ThrottleOptions } from "./throttle.js";

export interface EmulatorThreadOptions extends DynamoDbBehaviours {
  region: string;
  /** Tables whose changes are captured on a stream. */
  streams: readonly CapturedTable[];
  /** Stream shards per table. */
  streamShards: number;
  /** Throttling of both emulators' data-plane calls (fault runs), one seeded sequence. */
  throttle?: ThrottleOptions;
  /** Stream records per table sent ahead of what the pollers' side has read (the rest wait in the thread); default STREAM_WINDOW. */
  streamWindow?: number;
  /** The tables in a LevelDB folder here rather than in memory. */
  tableDir?: string;
  /** The Kinesis streams' records in a LevelDB folder here rather than in memory. */
  streamDir?: string;
}

/**
 * Ten pages of a poller's reads: enough that the pollers never wait on the thread, few enough
 * that the records a slow consumer has not read yet stay in the stream, as text.
 */
export const STREAM_WINDOW = 10_000;

export type ThrottleCounts = { requests: number; items: number };
/** A DynamoDB answer: HTTP status and the JSON body. */
export type DynamoDbReply = { status: number; body: string };

export type DynamoDbCall = { id: number; operation: string; body: string };
export type HostMessage =
  | { type: "sync"; id: number }
  | { type: "calls"; calls: DynamoDbCall[] }
  | { type: "advance-ttl-clock"; id: number; ms: number }
  | { type: "stream-credit"; table: string; records: number }
  | { type: "stop-throttle" }
  | { type: "close" };
/** What the thread sends, in the order it happened: a call's stream records come before its reply. */
export type ThreadOutput =
  | { type: "record"; table: string; shard: number; record: string }
  | { type: "reply"; id: number; status: number; body: string }
  | { type: "synced"; id: number; throttled: ThrottleCounts; heldBack: number; usage: DynamoDbUsage }
  | { type: "heap"; bytes: number }
  | { type: "ttl-swept"; id: number; deleted: number };
export type ThreadMessage =
  | { type: "ready"; dynamodbEndpoint: string; kinesisEndpoint: string; streamArns: Record<string, string> }
  | { type: "output"; items: ThreadOutput[]; heldBack: number }
  | { type: "closed" };

export class EmulatorThread {
  /** Throttled calls and items so far (as of the last sync). */
  throttled: ThrottleCounts = { requests: 0, items: 0 };
  /** Stream records waiting in the thread for room on this side (as of the thread's last message). */
  heldBack = 0;
  /** The DynamoDB clients' calls (as of the last sync). */
  usage: DynamoDbUsage = { queries: 0, writes: 0 };
  /** The thread's live heap after its full collections: the latest and the largest. */
  readonly heapAfterGc = { latest: 0, peak: 0 };
  /** Syncs and calls waiting for their answer, by id. */
  private readonly waiting = new Map<
    number,
    { resolve(reply?: DynamoDbReply | number): void; reject(error: Error): void }
  >();
  private nextId = 0;
  /** Calls made in this turn of the event loop: they cross to the thread as one message. */
  private outbox: DynamoDbCall[] = [];
  private failure: Error | undefined;
  private closing: (() => void) | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly dynamodbEndpoint: string,
    readonly kinesisEndpoint: string,
    /** Each captured table's stream, as the pollers read it. */
    readonly streams: Map<string, ChangeLog>,
  ) {}

  static async start(options: EmulatorThreadOptions): Promise<EmulatorThread> {
    const worker = spawn(options);
    const listeners: {
      error: (error: Error) => void;
      exit: (code: number) => void;
      message: (message: ThreadMessage) => void;
    } = {
      error: () => {},
      exit: () => {},
      message: () => {},
    };
    const ready = await new Promise<Extract<ThreadMessage, { type: "ready" }>>((resolve, reject) => {
      listeners.error = reject;
      listeners.exit = (code: number) =>
        reject(new Error(`the emulator thread exited with code ${code} before it was ready`));
      listeners.message = (message: ThreadMessage) =>
        message.type === "ready"
          ? resolve(message)
          : reject(new Error(`unexpected ${message.type} from the emulator thread`));
      for (const [event, listener] of Object.entries(listeners)) worker.once(event, listener);
    }).finally(() => {
      // Only these: the worker's own listeners wire its message port.
      for (const [event, listener] of Object.entries(listeners)) worker.off(event, listener);
    });
    let thread: EmulatorThread | undefined;
    const acknowledge = (table: string) => (records: number) => {
      if (thread && !thread.failure) thread.post({ type: "stream-credit", table, records });
    };
    const streams = new Map(
      options.streams.map((table) => [
        table.name,
        new ChangeLog(table, options.region, options.streamShards, {
          arn: ready.streamArns[table.name],
          acknowledge: acknowledge(table.name),
        }),
      ]),
    );
    thread = new EmulatorThread(worker, ready.dynamodbEndpoint, ready.kinesisEndpoint, streams);
    worker.on("message", (message: ThreadMessage) => thread.receive(message));
    worker.on("error", (error) => thread.fail(error));
    worker.on("exit", (code) => {
      // Nothing is answered after this: whatever still waits fails rather than hangs.
      thread.fail(
        new Error(thread.closing ? "the emulator thread was closed" : `the emulator thread exited with code ${code}`),
      );
      thread.closing?.();
    });
    return thread;
  }

  /** Resolves once every stream record made before this call is in `streams`. */
  async sync(): Promise<void> {
    await this.ask((id) => this.post({ type: "sync", id }));
  }

  /**
   * Moves the TTL clock forward and sweeps once (the thread needs the ttl option); resolves with
   * the items deleted, once their stream records are in `streams`.
   */
  async advanceTtlClock(ms: number): Promise<number> {
    return (await this.ask((id) => this.post({ type: "advance-ttl-clock", id, ms }))) as number;
  }

  /**
   * One DynamoDB call, handed to the emulator without HTTP: no sockets, no request parsing on
   * either side. Its stream records arrive before its answer.
   */
  async callDynamoDb(operation: string, body: string): Promise<DynamoDbReply> {
    return (await this.ask((id) => {
      // A message costs tens of microseconds on each side: the calls of one turn share one.
      if (this.outbox.length === 0) queueMicrotask(() => this.sendCalls());
      this.outbox.push({ id, operation, body });
    })) as DynamoDbReply;
  }

  private sendCalls(): void {
    const calls = this.outbox;
    this.outbox = [];
    if (calls.length > 0 && !this.failure) this.worker.postMessage({ type: "calls", calls } satisfies HostMessage);
  }

  /** A control message goes after the calls already made: the thread sees everything in the order it was asked. */
  private post(message: Exclude<HostMessage, { type: "calls" }>): void {
    this.sendCalls();
    this.worker.postMessage(message);
  }

  private ask(send: (id: number) => void): Promise<DynamoDbReply | number | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      send(id);
    });
  }

  stopThrottle(): void {
    this.post({ type: "stop-throttle" });
  }

  async close(): Promise<void> {
    if (this.failure) return;
    await new Promise<void>((resolve) => {
      this.closing = resolve;
      this.post({ type: "close" });
    });
  }

  private receive(message: ThreadMessage): void {
    if (message.type === "closed") void this.worker.terminate();
    if (message.type !== "output") return;
    this.heldBack = message.heldBack;
    for (const item of message.items) {
      switch (item.type) {
        case "record":
          this.streams.get(item.table)!.receive(item.shard, [JSON.parse(item.record) as DynamoDBRecord]);
          break;
        case "reply":
          this.answer(item.id, { status: item.status, body: item.body });
          break;
        case "synced":
          this.throttled = item.throttled;
          this.heldBack = item.heldBack;
          this.usage = item.usage;
          this.answer(item.id);
          break;
        case "heap":
          this.heapAfterGc.latest = item.bytes;
          this.heapAfterGc.peak = Math.max(this.heapAfterGc.peak, item.bytes);
          break;
        case "ttl-swept":
          this.answer(item.id, item.deleted);
          break;
      }
    }
  }

  private answer(id: number, reply?: DynamoDbReply | number): void {
    this.waiting.get(id)?.resolve(reply);
    this.waiting.delete(id);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    // Pending syncs would wait forever; sync() rejects from now on.
    for (const { reject } of this.waiting.values()) reject(error);
    this.waiting.clear();
  }
}

/**
 * Prebuilt, the thread runs the bundle next to this one; from TypeScript sources (tests, tsx)
 * it loads tsx first, since a worker does not inherit the parent's module hooks.
 */
function spawn(options: EmulatorThreadOptions): Worker {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new Worker(new URL("./emulator-thread.mjs", here), { workerData: options });
  const tsx = pathToFileURL(esmEntry(createRequire(here).resolve("tsx/package.json"), "./esm/api")).href;
  const entry = new URL("./emulator-thread.ts", here).href;
  return new Worker(
    `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`,
    { eval: true, workerData: options },
  );
}

/** A package's ESM file for a subpath, from its exports map (require.resolve gives the CommonJS one). */
function esmEntry(packageJson: string, subpath: string): string {
  const { exports } = JSON.parse(readFileSync(packageJson, "utf8")) as {
    exports: Record<string, { import: { default: string } }>;
  };
  return join(dirname(packageJson), exports[subpath]!.import.default);
}
