/**
 * The embedded local AWS behind `pnpm start`: dynalite and kinesalite in a thread of their own
 * (emulator-host.ts), a folder for the bucket, the table and stream created from pipeline-spec
 * (the definition the stacks deploy), DynamoDB Streams captured in front of dynalite, and the
 * event-source mappings
 * of CONSUMERS invoking the same handler modules Lambda runs. Delivery behaves as AWS may:
 * optionally with a consumer's outage, shuffled re-deliveries and rolling shards, and its failed
 * batches replayed by redrive's library.
 */
import { mkdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { KinesisClient } from "@aws-sdk/client-kinesis";
import type { RecordSink } from "@trip-pipeline/core/ingest/sink";
import { APP_NAME, DEFAULT_REGION } from "@trip-pipeline/core/platform/app";
import {
  createDocumentClient,
  createDynamoDbClient,
  createKinesisClient,
  type DynamoDbTransport,
} from "@trip-pipeline/core/platform/aws-clients";
import { FUNCTION_ENV } from "@trip-pipeline/core/platform/config-names";
import { createLogger, type LogDestination, type Logger } from "@trip-pipeline/core/platform/logger";
import {
  CONSUMER_FUNCTION,
  CONSUMERS,
  FAILED_BATCH_PREFIX,
  streamShardCount,
  TRIP_STREAM,
  TRIP_TABLE,
} from "@trip-pipeline/core/platform/pipeline-spec";
import { FolderBlobStore } from "@trip-pipeline/core/store/blob-store";
import { type FunctionInvoker, type RedriveReport, redrive } from "@trip-pipeline/core/streams/redrive";
import type { Platform } from "@trip-pipeline/functions/environment";
import { createTripTable } from "./dynamo.js";
import type { ChangeLog } from "./dynamo-streams.js";
import { localDynamoDb } from "./dynamodb-transport.js";
import type { DynamoDbBehaviours, DynamoDbUsage } from "./embedded-dynamodb.js";
import { EmulatorThread } from "./emulator-host.js";
import { EventSourceMapping, type MappingStats } from "./event-source.js";
import { mulberry32, type Random, shuffled } from "./generate/prng.js";
import { createTripStream } from "./kinesis.js";
import { type CrashOptions, type HandlerFactory, importHandlerFactories, LocalFunction } from "./lambda.js";
import { changeLogSource, kinesisSource } from "./shard-readers.js";
import { withShardRollover } from "./shard-rollover.js";
import type { ThrottleOptions } from "./throttle.js";

export type ConsumerName = keyof typeof CONSUMERS;

/**
 * Table stream records waiting beyond the pollers' window above which the Kinesis consumers stop
 * reading: the events then wait in Kinesis (where AWS keeps them too) rather than as table
 * stream records ahead of a slower matcher, so a run's memory does not grow with its input.
 */
const TABLE_STREAM_BACKLOG = 20_000;
/**
 * Records the ingest put that a Kinesis consumer has not read yet, above which a paced ingest
 * (pacedSink) waits: a day's export then waits in its files instead of ageing in the stream,
 * where records older than the consumers' maxRecordAge (an hour) would go to the DLQ.
 */
const KINESIS_BACKLOG = 50_000;
export const CONSUMER_NAMES = Object.keys(CONSUMERS) as ConsumerName[];

/** The stage name the local AWS stands for. */
export const LOCAL_STAGE = "local";

/** Also the DynamoDB behaviours beyond dynalite's (GSI lag, TTL, torn Queries), each off by default. */
export interface LocalAwsOptions extends DynamoDbBehaviours {
  /** The run's folder: the bucket in `bucket/` (failed batches under bucket/aws/lambda/, as Lambda writes them). Emptied at start. */
  root: string;
  region?: string;
  /** Shards of the Kinesis stream; default as deployed for a non-prod stage (streamShardCount). */
  kinesisShards?: number;
  /** Shards of the table's stream; DynamoDB decides this in AWS, by table partitions. */
  streamShards?: number;
  /** Emulator throttling, for fault runs. */
  throttle?: ThrottleOptions;
  /** Every stream shard (Kinesis and the table's) closes after this many records; a child shard with a new id continues. */
  shardRollover?: number;
  /** The table and the Kinesis stream on disk (LevelDB folders `table/` and `stream/` in the run's folder) rather than in memory: for data sets that outgrow the memory. */
  onDisk?: boolean;
  logger?: Logger;
  /** Where its functions' loggers write (default stderr). */
  logDestination?: LogDestination;
}

/** A consumer that fails every invocation until `until()` holds and at least one of its batches went to the failed-batch store. */
export interface Outage {
  consumer: ConsumerName;
  until: () => boolean;
}

export interface ConsumerOptions {
  /** The repository root: the prebuilt handler bundles go under it. */
  repoRoot: string;
  /** Other handlers than the deployed ones (test doubles), built on the same platform. */
  handlers?: Partial<Record<ConsumerName, HandlerFactory>>;
  /** The deployed handler modules already loaded (loadConsumerHandlers, e.g. while the emulators started); else loaded here. */
  loaded?: ConsumerHandlers;
  /** Replaces the deployed batching window (1 s); batch sizes and filters stay as deployed. */
  batchingWindowMs?: number;
  /** Per-consumer batching windows, over batchingWindowMs (e.g. the aggregator's deployed 5 s). */
  batchingWindows?: Partial<Record<ConsumerName, number>>;
  pollIntervalMs?: number;
  retryDelayMs?: number;
  timeoutMs?: number;
  crashes?: CrashOptions;
  outage?: Outage;
  /** Batches delivered again after a failure (retries, bisected halves, redrive replays) come shuffled, seeded. */
  reorder?: { seed: number };
}

export interface LocalAwsStats {
  consumers: Record<string, MappingStats & LocalFunction["stats"]>;
  /** Records captured on the table's stream. */
  streamRecords: number;
  /** Changes captured on the table's stream by kind of sort key (RAW, COMPLETED, SHARD, EXTREMES). */
  changesByKind: Record<string, number>;
  /** Items deleted by TTL (REMOVE records carrying the TTL service identity). */
  ttlDeletes: number;
  throttled: { requests: number; items: number };
  /** The emulator thread's live heap after its full collections: the latest and the largest. */
  emulatorHeapAfterGc: { latest: number; peak: number };
  /** The DynamoDB calls of every client so far (as of the last drain or sync). */
  dynamodb: DynamoDbUsage;
}

export type ConsumerHandlers = Record<ConsumerName, HandlerFactory>;

/** Every consumer's handler module, loaded together (see importHandlerFactories). */
export async function loadConsumerHandlers(repoRoot: string): Promise<ConsumerHandlers> {
  const loaded = await importHandlerFactories(
    repoRoot,
    CONSUMER_NAMES.map((consumer) => CONSUMERS[consumer].handler),
  );
  return Object.fromEntries(CONSUMER_NAMES.map((consumer, i) => [consumer, loaded[i]!])) as ConsumerHandlers;
}

export class LocalAws {
  readonly tableName = TRIP_TABLE.name;
  readonly streamName = TRIP_STREAM.name;
  readonly bucketName = `${APP_NAME}-${LOCAL_STAGE}-analyticsbucket`;
  readonly bucketDir: string;
  readonly dlqDir: string;
  /** A client for the runner's own reads and writes (captured like every client's). */
  readonly db;
  readonly kinesis: KinesisClient;
  /** What the local AWS gives its functions besides their environment: DynamoDB without HTTP, its log files. */
  readonly platform: Platform;
  private readonly mappings: EventSourceMapping[] = [];
  private readonly functions: LocalFunction[] = [];
  /** Shuffles redrive's replays (consumers' reorder option). */
  private replayOrder: Random | undefined;

  private constructor(
    readonly root: string,
    readonly region: string,
    /** DynamoDB as every client sees it (writes captured on the table's stream). */
    readonly dynamodbEndpoint: string,
    readonly kinesisEndpoint: string,
    /** The table's stream (the matcher's event source). */
    readonly changes: ChangeLog,
    private readonly emulators: EmulatorThread,
    readonly logger: Logger,
    private readonly shardRollover: number | undefined,
    private readonly behaviours: DynamoDbBehaviours,
    transport: DynamoDbTransport,
    logDestination: LogDestination | undefined,
  ) {
    ({ bucketDir: this.bucketDir, dlqDir: this.dlqDir } = runFolders(root));
    this.platform = { dynamoDbTransport: transport, logDestination };
    this.db = createDocumentClient(
      createDynamoDbClient({ endpoint: dynamodbEndpoint, region, maxAttempts: 10, transport }),
    );
    this.kinesis = createKinesisClient({ endpoint: kinesisEndpoint, region, maxAttempts: 10 });
  }

  static async start(options: LocalAwsOptions): Promise<LocalAws> {
    const root = resolve(options.root);
    const region = options.region ?? DEFAULT_REGION;
    const logger = options.logger ?? createLogger("local-aws");
    const { bucketDir, dlqDir, tableDir, streamDir } = runFolders(root);
    await Promise.all(
      [bucketDir, dlqDir, tableDir, streamDir].map((folder) => rm(folder, { recursive: true, force: true })),
    );
    await mkdir(bucketDir, { recursive: true });
    const behaviours: DynamoDbBehaviours = {
      gsiLagMs: options.gsiLagMs,
      ttl: options.ttl,
      tornReads: options.tornReads,
    };

    const emulators = await EmulatorThread.start({
      region,
      streamShards: options.streamShards ?? 4,
      streams: [
        {
          name: TRIP_TABLE.name,
          partitionKey: TRIP_TABLE.partitionKey,
          sortKey: TRIP_TABLE.sortKey,
          viewType: TRIP_TABLE.streamView,
          ttlAttribute: TRIP_TABLE.ttlAttribute,
        },
      ],
      throttle: options.throttle,
      ...(options.onDisk && { tableDir, streamDir }),
      ...behaviours,
    });
    // The DynamoDB clients of this local AWS (the handlers', the runner's) skip HTTP.
    const transport = localDynamoDb(emulators);
    // Setup calls are control-plane calls, never throttled.
    const setup = createDynamoDbClient({ endpoint: emulators.dynamodbEndpoint, region, transport });
    const kinesisSetup = createKinesisClient({ endpoint: emulators.kinesisEndpoint, region });
    try {
      await createTripTable(setup, TRIP_TABLE.name);
      await createTripStream(kinesisSetup, options.kinesisShards ?? streamShardCount(LOCAL_STAGE), TRIP_STREAM.name);
      return new LocalAws(
        root,
        region,
        emulators.dynamodbEndpoint,
        emulators.kinesisEndpoint,
        emulators.streams.get(TRIP_TABLE.name)!,
        emulators,
        logger,
        options.shardRollover,
        behaviours,
        transport,
        options.logDestination,
      );
    } catch (error) {
      // The emulator thread would keep the process alive after the error.
      await emulators.close();
      throw error;
    } finally {
      setup.destroy();
      kinesisSetup.destroy();
    }
  }

  /** The deployed functions' environment, pointed at this local AWS (see @trip-pipeline/functions/config). */
  handlerEnvironment(): Record<string, string> {
    return {
      [FUNCTION_ENV.tripTable]: this.tableName,
      [FUNCTION_ENV.analyticsBucket]: this.bucketName,
      [FUNCTION_ENV.localBucketDir]: this.bucketDir,
      AWS_ENDPOINT_URL_DYNAMODB: this.dynamodbEndpoint,
      AWS_ENDPOINT_URL_KINESIS: this.kinesisEndpoint,
      AWS_REGION: this.region,
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
    };
  }

  /**
   * Sets the functions' environment in this process (handlers read it on their first call),
   * builds the handlers on this local AWS's platform and starts one event-source mapping per consumer, polling from
   * the start of each stream.
   */
  async startConsumers(options: ConsumerOptions): Promise<void> {
    Object.assign(process.env, this.handlerEnvironment());
    // The on-failure destination is the bucket, as deployed (Pipeline.ts).
    const dlq = new FolderBlobStore(this.bucketDir);
    this.replayOrder = options.reorder && mulberry32(options.reorder.seed + CONSUMER_NAMES.length);
    const handlers = options.loaded ?? (await loadConsumerHandlers(options.repoRoot));
    const sources = await Promise.all(
      CONSUMER_NAMES.map((consumer) =>
        CONSUMERS[consumer].source === "kinesis"
          ? kinesisSource(this.kinesis, this.streamName, this.region)
          : changeLogSource(this.changes),
      ),
    );
    for (const [index, consumer] of CONSUMER_NAMES.entries()) {
      const spec = CONSUMERS[consumer];
      const handler = (options.handlers?.[consumer] ?? handlers[consumer])(this.platform);
      const source = sources[index]!;
      const fn = new LocalFunction(`${APP_NAME}-${LOCAL_STAGE}-${consumer}`, handler, {
        region: this.region,
        timeoutMs: options.timeoutMs ?? CONSUMER_FUNCTION.timeoutSeconds * 1000,
        memoryMb: CONSUMER_FUNCTION.memoryMb,
        logName: consumer,
        // Each function crashes on its own seeded schedule.
        ...(options.crashes && { crashes: { ...options.crashes, seed: options.crashes.seed + index } }),
        ...(options.outage?.consumer === consumer && {
          down: outageUntil(options.outage, () => mapping.stats.toDlq > 0),
        }),
      });
      const mapping: EventSourceMapping = new EventSourceMapping({
        consumer,
        source: this.shardRollover === undefined ? source : withShardRollover(source, this.shardRollover),
        settings: spec,
        filters: spec.filters,
        fn,
        dlq,
        logger: this.logger,
        batchingWindowMs: options.batchingWindows?.[consumer] ?? options.batchingWindowMs,
        pollIntervalMs: options.pollIntervalMs,
        retryDelayMs: options.retryDelayMs,
        ...(options.reorder && { reorder: { seed: options.reorder.seed + index } }),
        ...(spec.source === "kinesis" && { holdWhile: () => this.emulators.heldBack > TABLE_STREAM_BACKLOG }),
      });
      this.mappings.push(mapping);
      this.functions.push(fn);
      mapping.start();
    }
  }

  /**
   * Resolves when every stream is drained and every consumer idle: all shards came up empty
   * with nothing in flight, and nothing was read or written to the table's stream meanwhile.
   * Call it once the producers are done.
   *
   * A consumer waiting out its batching window (the live KPI aggregator: 5 s as deployed) is
   * then flushed: once nothing moves anywhere no record can join its batch, so waiting out the
   * window would only add idle seconds to every run. Its batches stay as large as deployed.
   */
  async drain(): Promise<void> {
    for (;;) {
      // Every write already answered has its stream record here before activity is counted.
      await this.emulators.sync();
      const before = this.activity();
      const partial = await Promise.all(this.mappings.map((mapping) => mapping.nextIdle()));
      await this.emulators.sync();
      // Records still waiting in the stream for the pollers' window are work not yet done.
      if (this.activity() !== before || this.emulators.heldBack > 0) continue;
      if (!partial.some(Boolean)) break;
      for (const mapping of this.mappings) mapping.flush();
    }
    // What comes next (the KPI job, the report) is the batch side, outside the fault run.
    this.emulators.stopThrottle();
  }

  /**
   * `pnpm redrive` on this local AWS: the same library replays the failed batches in the bucket
   * through the functions named in them (shuffled under reorder, as a re-delivery); with
   * `dryRun`, lists what is left. Call drain() after a replay: its writes flow on downstream.
   */
  redrive(options: { dryRun?: boolean } = {}): Promise<RedriveReport> {
    return redrive({
      store: new FolderBlobStore(this.bucketDir),
      invoker: this.invoker(),
      logger: this.logger,
      dryRun: options.dryRun,
    });
  }

  private invoker(): FunctionInvoker {
    return {
      invoke: (functionArn, event) => {
        const fn = this.functions.find((candidate) => candidate.arn === functionArn);
        if (!fn) return Promise.reject(new Error(`ResourceNotFoundException: Function not found: ${functionArn}`));
        return fn.invoke(this.replayOrder ? { ...event, Records: shuffled(event.Records, this.replayOrder) } : event);
      },
    };
  }

  /**
   * `sink` (the ingest's, into this local Kinesis) waiting before each put while more than
   * KINESIS_BACKLOG of the records it put are unread by some Kinesis consumer: however large the
   * export, the stream holds a bounded backlog and no record outlives maxRecordAge waiting in it.
   */
  pacedSink(sink: RecordSink): RecordSink {
    let accepted = 0;
    const kinesisMappings = () => this.mappings.filter((mapping) => mapping.options.source.kind === "kinesis");
    const unread = () => accepted - Math.min(...kinesisMappings().map((mapping) => mapping.stats.read));
    return {
      shardCount: () => sink.shardCount(),
      put: async (records) => {
        while (kinesisMappings().length > 0 && unread() > KINESIS_BACKLOG)
          await new Promise((resolve) => setTimeout(resolve, 20));
        const outcomes = await sink.put(records);
        accepted += outcomes.filter((outcome) => outcome.ok).length;
        return outcomes;
      },
    };
  }

  /** Resolves once every write made before the call shows on the indexes (at once without gsiLagMs). */
  async indexesCaughtUp(): Promise<void> {
    if (this.behaviours.gsiLagMs) await new Promise((resolve) => setTimeout(resolve, this.behaviours.gsiLagMs));
  }

  /**
   * Moves the TTL clock forward by `ms` and sweeps at once (needs the ttl option): items whose
   * expiry the clock passed are deleted, their REMOVE records on `changes` when this resolves,
   * with the number of items deleted. The clock stays moved; later sweeps use it.
   */
  advanceTtlClock(ms: number): Promise<number> {
    if (!this.behaviours.ttl) throw new Error("advanceTtlClock needs the ttl option");
    return this.emulators.advanceTtlClock(ms);
  }

  private activity(): number {
    return this.mappings.reduce((sum, mapping) => sum + mapping.stats.read, this.changes.size);
  }

  stats(): LocalAwsStats {
    return {
      consumers: Object.fromEntries(
        this.mappings.map((mapping, i) => [
          mapping.options.consumer,
          { ...mapping.stats, ...this.functions[i]!.stats },
        ]),
      ),
      streamRecords: this.changes.size,
      changesByKind: { ...this.changes.byKind },
      ttlDeletes: this.changes.serviceRemoves,
      throttled: { ...this.emulators.throttled },
      emulatorHeapAfterGc: { ...this.emulators.heapAfterGc },
      dynamodb: { ...this.emulators.usage },
    };
  }

  async close(options: { keepData?: boolean } = {}): Promise<void> {
    await Promise.all(this.mappings.map((mapping) => mapping.stop()));
    this.db.destroy();
    this.kinesis.destroy();
    await this.emulators.close();
    if (!options.keepData)
      await Promise.all(
        Object.values(runFolders(this.root)).map((folder) => rm(folder, { recursive: true, force: true })),
      );
  }
}

/** An outage's `down` test: down until its end condition and `recorded()` both hold, then up for good. */
function outageUntil(outage: Outage, recorded: () => boolean): () => boolean {
  let over = false;
  return () => {
    if (!over) over = outage.until() && recorded();
    return !over;
  };
}

/** The run's folders: the bucket, inside it where the consumers' failed batches land, and the table and stream when they are on disk. */
export function runFolders(root: string) {
  const bucketDir = join(root, "bucket");
  return {
    bucketDir,
    dlqDir: join(bucketDir, ...FAILED_BATCH_PREFIX.split("/").filter(Boolean)),
    tableDir: join(root, "table"),
    streamDir: join(root, "stream"),
  };
}
