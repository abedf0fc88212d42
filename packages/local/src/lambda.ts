/**
 * Lambda functions in this process: the deployed handler modules, invoked with a realistic
 * context and a timeout, optionally crashing (fault runs).
 *
 * An invocation that crashes or times out must stop touching AWS, as a killed Lambda sandbox
 * does. Each invocation runs in its own async context, and every HTTP request started from a
 * dead invocation is destroyed before it is written: node hands each new request to its
 * http.Agent (`addRequest`) before any byte goes out, and the SDK's requests all take that path.
 * Requests already written may still land, exactly as on AWS.
 *
 * Crash injection: a chosen invocation dies as its k-th AWS request starts (k uniform in
 * 0..maxRequests, before that request is sent), or after its work but before its reply when it
 * makes fewer requests. Handlers run in one process here (they are invoked one batch per shard
 * at a time, like Lambda), so worker threads would only add cross-thread latency to every
 * emulator call on a small machine.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import http, { type ClientRequest } from "node:http";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Platform } from "@trip-pipeline/functions/environment";
import type { Context } from "aws-lambda";
import { mulberry32 } from "./generate/prng.js";
import { prebuild } from "./prebuilt.mjs";

export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

/** What an event-source mapping invokes. */
export interface LambdaFunction {
  readonly arn: string;
  invoke(event: unknown): Promise<unknown>;
}

export interface CrashOptions {
  /** Fraction of invocations that crash. */
  rate: number;
  seed: number;
  maxRequests?: number;
}

export class FunctionError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

interface Invocation {
  /** The function's log name: where its log lines go (see logs.ts). */
  logName: string;
  requestId: string;
  alive: boolean;
  requests: number;
  crashAt: number | undefined;
  die(error: FunctionError): void;
}

const invocations = new AsyncLocalStorage<Invocation>();
let guarding = false;

/** The log name of the function whose invocation is running here, if any. */
export function currentFunction(): string | undefined {
  return invocations.getStore()?.logName;
}

/** Installs the request guard once per process (only requests made inside an invocation are affected). */
function guardRequests(): void {
  if (guarding) return;
  guarding = true;
  const agent = http.Agent.prototype as unknown as { addRequest(request: ClientRequest, ...rest: unknown[]): void };
  const addRequest = agent.addRequest;
  agent.addRequest = function (this: unknown, request: ClientRequest, ...rest: unknown[]) {
    const refused = admitRequest();
    // A destroyed request still goes to the agent: that is where it reports its error, unwritten.
    if (refused) request.destroy(refused);
    addRequest.call(this, request, ...rest);
  };
}

/**
 * Every AWS request a function makes passes here before anything is sent (HTTP requests through
 * the agent hook above, the local DynamoDB transport by calling it): the crash point may end the
 * invocation now, and a dead invocation's request is refused with the error returned.
 */
export function admitRequest(): Error | undefined {
  const invocation = invocations.getStore();
  if (!invocation) return undefined;
  if (invocation.alive && invocation.crashAt !== undefined && invocation.requests >= invocation.crashAt)
    invocation.die(
      new FunctionError(
        "Runtime.ExitError",
        `injected crash at AWS request ${invocation.requests + 1}: Runtime exited with error: exit status 70`,
      ),
    );
  if (!invocation.alive) return new Error(`Lambda invocation ${invocation.requestId} has ended`);
  invocation.requests += 1;
  return undefined;
}

export interface FunctionOptions {
  region: string;
  timeoutMs: number;
  memoryMb?: number;
  crashes?: CrashOptions;
  /** An outage: while this answers true every invocation fails at once, as when a dependency is down. */
  down?: () => boolean;
  /** Its log group's short name (default: the function name). */
  logName?: string;
  /** How long a dead invocation's code may take to unwind before the next attempt starts. */
  unwindMs?: number;
}

const DEFAULT_MAX_CRASH_REQUESTS = 40;

export class LocalFunction implements LambdaFunction {
  readonly stats = { invocations: 0, errors: 0, crashes: 0, timeouts: 0 };
  private readonly random: (() => number) | undefined;

  constructor(
    readonly name: string,
    private readonly handler: LambdaHandler,
    private readonly options: FunctionOptions,
  ) {
    this.random = options.crashes && mulberry32(options.crashes.seed);
    guardRequests();
  }

  get arn(): string {
    return `arn:aws:lambda:${this.options.region}:000000000000:function:${this.name}`;
  }

  /** Runs the handler once: its response, or its error (or the crash or timeout that ended it). */
  async invoke(event: unknown): Promise<unknown> {
    this.stats.invocations += 1;
    if (this.options.down?.()) {
      this.stats.errors += 1;
      throw new FunctionError("Error", "injected outage: the function fails every invocation");
    }
    let die!: (error: FunctionError) => void;
    const death = new Promise<never>((_, reject) => (die = reject));
    const invocation: Invocation = {
      logName: this.options.logName ?? this.name,
      requestId: randomUUID(),
      alive: true,
      requests: 0,
      crashAt: this.crashPoint(),
      die: (error) => {
        invocation.alive = false;
        die(error);
      },
    };
    const deadline = Date.now() + this.options.timeoutMs;
    const timer = setTimeout(
      () =>
        invocation.die(
          new FunctionError(
            "Sandbox.Timedout",
            `Task timed out after ${(this.options.timeoutMs / 1000).toFixed(2)} seconds`,
          ),
        ),
      this.options.timeoutMs,
    );
    const run = invocations.run(invocation, () => this.handler(event, this.context(invocation.requestId, deadline)));
    try {
      const response = await Promise.race([run, death]);
      if (invocation.crashAt !== undefined)
        throw new FunctionError("Runtime.ExitError", "injected crash after the handler's work, before its reply");
      return response;
    } catch (error) {
      this.stats.errors += 1;
      if ((error as Error).name === "Runtime.ExitError") this.stats.crashes += 1;
      if ((error as Error).name === "Sandbox.Timedout") this.stats.timeouts += 1;
      // The dead invocation's requests now fail at once; let its code unwind so two attempts never overlap.
      await Promise.race([
        run.catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, this.options.unwindMs ?? 10_000).unref()),
      ]);
      throw error;
    } finally {
      clearTimeout(timer);
      // After its reply a sandbox is frozen: stray background work cannot reach AWS either.
      invocation.alive = false;
    }
  }

  private crashPoint(): number | undefined {
    const crashes = this.options.crashes;
    if (!crashes || !this.random || this.random() >= crashes.rate) return undefined;
    return Math.floor(this.random() * ((crashes.maxRequests ?? DEFAULT_MAX_CRASH_REQUESTS) + 1));
  }

  private context(awsRequestId: string, deadline: number): Context {
    const unsupported = () => {
      throw new Error("callback-style completion is not supported: return a promise");
    };
    return {
      callbackWaitsForEmptyEventLoop: true,
      functionName: this.name,
      functionVersion: "$LATEST",
      invokedFunctionArn: this.arn,
      memoryLimitInMB: String(this.options.memoryMb ?? 1024),
      awsRequestId,
      logGroupName: `/aws/lambda/${this.name}`,
      logStreamName: `${new Date().toISOString().slice(0, 10).replaceAll("-", "/")}/[$LATEST]${awsRequestId.replaceAll("-", "")}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: unsupported,
      fail: unsupported,
      succeed: unsupported,
    };
  }
}

/** Where the deployed handler modules are: the functions package's declared entries. */
const FUNCTIONS_SOURCE = "packages/functions/src/";
const FUNCTIONS_PACKAGE = "@trip-pipeline/functions";

/** A handler module's factory: the handler on a given platform (its default `handler` is Lambda's). */
export type HandlerFactory = (platform: Platform) => LambdaHandler;

/** Said once a process, on stderr (stdout may carry a --json document): the first run after a change builds every handler. */
let announced = false;
function announceBuild(): void {
  if (!announced) process.stderr.write("building functions (first run, or sources changed): a few seconds\n");
  announced = true;
}

/**
 * The handler factories of the modules the stacks name ("packages/functions/src/trip-begin.handler"):
 * each module is the functions package's declared entry of that name, and its `handlerFor`
 * builds the handler for a platform (each call a new container, its dependencies made from the
 * environment on its first invocation). From TypeScript sources (tsx, tests) the modules load as
 * they are; a prebuilt runtime loads them bundled from those entries, as SST bundles each for
 * Lambda, but built together: the code they share (the SDK, core) sits in chunks compiled once.
 */
export async function importHandlerFactories(
  repoRoot: string,
  handlerPaths: readonly string[],
): Promise<HandlerFactory[]> {
  const names = handlerPaths.map((handlerPath) => {
    const dot = handlerPath.lastIndexOf(".");
    if (!handlerPath.startsWith(FUNCTIONS_SOURCE) || dot < 0)
      throw new Error(`${handlerPath} is not a handler of ${FUNCTIONS_SOURCE}`);
    return handlerPath.slice(FUNCTIONS_SOURCE.length, dot);
  });
  const unique = [...new Set(names)].sort();
  const entryOf = (name: string) => `${FUNCTIONS_PACKAGE}/${name}`;
  const files = import.meta.url.endsWith(".ts")
    ? undefined
    : await prebuild(
        `functions/${unique.join("+")}`,
        Object.fromEntries(unique.map((name) => [name, fileURLToPath(import.meta.resolve(entryOf(name)))])),
        repoRoot,
        { splitting: true, onBuild: announceBuild },
      );
  return Promise.all(
    names.map(async (name) => {
      const module = (await (files ? import(pathToFileURL(files[name]!).href) : import(entryOf(name)))) as Record<
        string,
        unknown
      >;
      const factory = module.handlerFor;
      if (typeof factory !== "function") throw new Error(`${entryOf(name)} does not export handlerFor(platform)`);
      return factory as HandlerFactory;
    }),
  );
}

/** One handler, built for `platform`: importHandlerFactories with one path. */
export async function importHandler(repoRoot: string, handlerPath: string, platform: Platform): Promise<LambdaHandler> {
  return (await importHandlerFactories(repoRoot, [handlerPath]))[0]!(platform);
}
