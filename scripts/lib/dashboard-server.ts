/**
 * `pnpm start --serve`: the dashboard on 127.0.0.1, the page (the Vite build, made into the
 * run's folder) and the API routes answered by the same handler modules Lambda runs, given an
 * API Gateway (payload 2.0) event. No sign-in: it listens on loopback only. GET /api/run adds
 * what only a local run knows (pending and anomaly counts).
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, extname, join, normalize, sep } from "node:path";
import { promisify } from "node:util";
import type { RunStatusResponse } from "@trip-pipeline/core/dashboard/api";
import { DASHBOARD_ROUTES, type DashboardRoute } from "@trip-pipeline/core/dashboard/spec";
import type { Platform } from "@trip-pipeline/functions/environment";
import { importHandler } from "@trip-pipeline/local/lambda";
import type { APIGatewayProxyEventV2 } from "aws-lambda";

export const DEFAULT_PORT = 3000;
export const HOST = "127.0.0.1";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json; charset=utf-8",
};

type ApiHandler = (
  event: APIGatewayProxyEventV2,
  context: { awsRequestId: string },
) => Promise<{ statusCode: number; headers?: Record<string, string | number | boolean>; body?: string }>;

/** Builds packages/web into `outDir` with Vite, in a child process (the run keeps this one busy). */
export async function buildPage(repoRoot: string, outDir: string): Promise<void> {
  const webDir = join(repoRoot, "packages", "web");
  const vite = join(
    dirname(createRequire(join(webDir, "package.json")).resolve("vite/package.json")),
    "bin",
    "vite.js",
  );
  await promisify(execFile)(
    process.execPath,
    [vite, "build", "--logLevel", "error", "--outDir", outDir, "--emptyOutDir"],
    { cwd: webDir },
  );
}

export interface DashboardServer {
  /** http://127.0.0.1:PORT (the port actually bound: --port 0 picks a free one). */
  readonly url: string;
  close(): Promise<void>;
}

export interface DashboardServerOptions {
  repoRoot: string;
  port: number;
  /** The built page; until `pageReady` resolves, page requests answer 503. */
  pageDir: string;
  pageReady: Promise<void>;
  runStatus(): RunStatusResponse;
  /** What the API functions run on: the local AWS's DynamoDB transport and log files (default: the SDK's own, stderr). */
  platform?: Platform;
}

export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const handlers = new Map<string, ApiHandler>();
  for (const [route, spec] of Object.entries(DASHBOARD_ROUTES) as [
    DashboardRoute,
    (typeof DASHBOARD_ROUTES)[DashboardRoute],
  ][]) {
    handlers.set(
      route,
      (await importHandler(options.repoRoot, spec.handler, options.platform ?? {})) as unknown as ApiHandler,
    );
  }
  let pageError: string | undefined;
  let pageBuilt = false;
  options.pageReady.then(
    () => (pageBuilt = true),
    (error: unknown) =>
      (pageError = `the page could not be built: ${error instanceof Error ? error.message : String(error)}`),
  );
  let requests = 0;

  let hosts: ReadonlySet<string> = new Set();
  const server = createServer((request, response) => {
    answer(request, response).catch((error: unknown) => {
      process.stderr.write(
        `dashboard: ${request.method} ${JSON.stringify(request.url)} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      send(response, 500, { error: "internal_error", detail: "the local server failed; see the terminal" });
    });
  });

  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // DNS rebinding: a page from another site whose name resolves to 127.0.0.1 sends its own
    // Host. Only the addresses this server prints are served.
    if (!hosts.has(request.headers.host ?? ""))
      return send(response, 421, {
        error: "misdirected_request",
        detail: `this server answers only ${[...hosts].join(" and ")}`,
      });
    const url = new URL(request.url ?? "/", `http://${HOST}`);
    if (url.pathname === "/api/run" && request.method === "GET") return send(response, 200, options.runStatus());
    if (url.pathname.startsWith("/api/")) {
      const route = `${request.method} ${url.pathname}`;
      const handler = handlers.get(route);
      if (!handler) return send(response, 404, { error: "not_found", detail: `no route ${route}` });
      const result = await handler(apiEvent(route, url, request), { awsRequestId: `local-${++requests}` });
      response.writeHead(
        result.statusCode,
        Object.fromEntries(Object.entries(result.headers ?? {}).map(([name, value]) => [name, String(value)])),
      );
      response.end(result.body ?? "");
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD")
      return send(response, 405, { error: "method_not_allowed", detail: `${request.method} is not served` });
    if (pageError) return send(response, 500, { error: "page_unavailable", detail: pageError });
    if (!pageBuilt) {
      response.writeHead(503, { "content-type": "text/plain; charset=utf-8", "retry-after": "2" });
      response.end("The page is being built; reload in a few seconds.\n");
      return;
    }
    // Only files inside the build folder; "/" is the page.
    let path: string;
    try {
      path = url.pathname === "/" ? "index.html" : decodeURIComponent(url.pathname);
    } catch {
      process.stderr.write(`dashboard: 400 malformed path ${JSON.stringify(request.url)}\n`);
      return send(response, 400, { error: "bad_request", detail: "malformed percent-encoding in the path" });
    }
    const file = normalize(join(options.pageDir, path));
    if (!file.startsWith(options.pageDir + sep))
      return send(response, 404, { error: "not_found", detail: url.pathname });
    const body = await readFile(file).catch(() => undefined);
    if (!body) return send(response, 404, { error: "not_found", detail: url.pathname });
    response.writeHead(200, {
      "content-type": CONTENT_TYPES[extname(file)] ?? "application/octet-stream",
      "cache-control": "no-cache",
    });
    response.end(request.method === "HEAD" ? undefined : body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, HOST, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  hosts = new Set([`${HOST}:${port}`, `localhost:${port}`]);
  return {
    url: `http://${HOST}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  response.end(JSON.stringify(body));
}

/** The event API Gateway's HTTP API gives a Lambda integration (payload 2.0): repeated parameters joined by commas. */
function apiEvent(routeKey: string, url: URL, request: IncomingMessage): APIGatewayProxyEventV2 {
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([name, value]) => [
      name,
      Array.isArray(value) ? value.join(",") : (value ?? ""),
    ]),
  );
  const now = new Date();
  return {
    version: "2.0",
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(url.searchParams.size > 0 && { queryStringParameters: query }),
    requestContext: {
      accountId: "local",
      apiId: "local",
      domainName: url.host,
      domainPrefix: "local",
      http: {
        method: request.method ?? "GET",
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? "",
        userAgent: request.headers["user-agent"] ?? "",
      },
      requestId: "local",
      routeKey,
      stage: "$default",
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
}

/** What `pnpm start --serve` adds to a run: the server from the start, the run's outcome at the end, serving until a signal. */
export class LocalDashboard {
  private server: DashboardServer | undefined;
  private status: RunStatusResponse = { done: false, pending: null, anomalies: null, latest_day: null };
  private closeRun: (() => Promise<void>) | undefined;

  constructor(
    private readonly repoRoot: string,
    private readonly port: number,
  ) {}

  /** Serves the run's local AWS: call once its consumers run, so the figures move while it ingests. */
  async attach(aws: { root: string; platform: Platform; handlerEnvironment(): Record<string, string> }): Promise<void> {
    // The API functions' environment (see packages/functions/src/config.ts), pointed at this local AWS.
    Object.assign(process.env, aws.handlerEnvironment());
    const pageDir = join(aws.root, "web");
    this.server = await startDashboardServer({
      repoRoot: this.repoRoot,
      port: this.port,
      pageDir,
      pageReady: buildPage(this.repoRoot, pageDir),
      runStatus: () => this.status,
      platform: aws.platform,
    });
    process.stderr.write(`Dashboard: ${this.server.url}/ (figures update while the run ingests)\n`);
  }

  /** The run is over; `closeRun` releases its local AWS once serving stops. */
  finished(
    outcome: { kpis: readonly { pickup_date: string }[]; pending: number; anomalies: number },
    closeRun: () => Promise<void>,
  ): void {
    const latest =
      outcome.kpis
        .map((kpi) => kpi.pickup_date)
        .sort()
        .at(-1) ?? null;
    this.status = { done: true, pending: outcome.pending, anomalies: outcome.anomalies, latest_day: latest };
    this.closeRun = closeRun;
  }

  /** The page's base address: without a query it opens on the latest day with data (sample data is rarely from today). */
  viewUrl(): string {
    return `${this.server?.url}/`;
  }

  /** Keeps serving until Ctrl-C (SIGINT) or SIGTERM, then stops the server and the run's local AWS. */
  async untilInterrupted(): Promise<void> {
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await this.close();
  }

  async close(): Promise<void> {
    await this.server?.close();
    await this.closeRun?.();
  }
}
