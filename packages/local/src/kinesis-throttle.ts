/**
 * Throttling for the embedded Kinesis (fault runs): an HTTP proxy in front of kinesalite that
 * answers some data-plane calls with ProvisionedThroughputExceededException, or fails some
 * records of a PutRecords call with that error code, as Kinesis does when a shard is over its
 * limit. Producers and pollers then take their real retry paths.
 */
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http";
import { type LocalServer, listen } from "./dynamo.js";
import type { Throttle } from "./throttle.js";

interface Reply {
  status: number;
  headers: OutgoingHttpHeaders;
  body: Buffer | string;
}

type PutResult = { SequenceNumber?: string; ShardId?: string; ErrorCode?: string; ErrorMessage?: string };

const CONTENT_TYPE = "application/x-amz-json-1.1";
const THROTTLED = "ProvisionedThroughputExceededException";
const MESSAGE = "Rate exceeded for shard in stream under account 000000000000.";
const DATA_OPERATIONS = new Set(["PutRecord", "PutRecords", "GetRecords", "GetShardIterator"]);
// Connection-scoped headers describe one hop, not the reply this proxy sends.
const HOP_HEADERS = ["connection", "keep-alive", "transfer-encoding", "content-length"];

export async function startKinesisThrottle(target: string, throttle: Throttle): Promise<LocalServer> {
  const { hostname, port } = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  const forward = (req: http.IncomingMessage, body: Buffer | string): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const upstream = http.request(
        {
          hostname,
          port,
          method: req.method,
          path: req.url,
          agent,
          headers: { ...withoutHop(req.headers), "content-length": Buffer.byteLength(body) },
        },
        (response) => {
          const parts: Buffer[] = [];
          response.on("data", (part: Buffer) => parts.push(part));
          response.on("error", reject);
          response.on("end", () =>
            resolve({
              status: response.statusCode ?? 502,
              headers: withoutHop(response.headers),
              body: Buffer.concat(parts),
            }),
          );
        },
      );
      upstream.on("error", reject);
      upstream.end(body);
    });

  const handle = async (req: http.IncomingMessage, body: Buffer): Promise<Reply> => {
    const operation =
      String(req.headers["x-amz-target"] ?? "")
        .split(".")
        .pop() ?? "";
    const fault = DATA_OPERATIONS.has(operation) ? throttle.decide(operation === "PutRecords") : "none";
    if (fault === "none") return forward(req, body);
    if (fault === "request") return json(400, { __type: THROTTLED, message: MESSAGE });

    // Some records of the call fail; the others are written, results stay in call order.
    const request = JSON.parse(body.toString()) as { Records: unknown[] };
    const { kept, throttled } = throttle.split(request.Records.map((entry, index) => ({ entry, index })));
    const results: PutResult[] = new Array(request.Records.length);
    for (const { index } of throttled) results[index] = { ErrorCode: THROTTLED, ErrorMessage: MESSAGE };
    if (kept.length === 0) return json(200, { FailedRecordCount: throttled.length, Records: results });
    const reply = await forward(req, JSON.stringify({ ...request, Records: kept.map(({ entry }) => entry) }));
    if (reply.status !== 200) return reply;
    const sent = JSON.parse(reply.body.toString()) as { FailedRecordCount?: number; Records: PutResult[] };
    kept.forEach(({ index }, i) => {
      results[index] = sent.Records[i]!;
    });
    return json(200, {
      ...sent,
      FailedRecordCount: (sent.FailedRecordCount ?? 0) + throttled.length,
      Records: results,
    });
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      handle(req, Buffer.concat(chunks))
        .catch((error: unknown) => json(500, { __type: "InternalFailure", message: String(error) }))
        .then((reply) => {
          res.writeHead(reply.status, { ...reply.headers, "content-length": Buffer.byteLength(reply.body) });
          res.end(reply.body);
        });
    });
  });
  const local = await listen(server);
  return {
    endpoint: local.endpoint,
    close: async () => {
      await local.close();
      agent.destroy();
    },
  };
}

function json(status: number, data: unknown): Reply {
  return { status, headers: { "content-type": CONTENT_TYPE }, body: JSON.stringify(data) };
}

function withoutHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const copy: OutgoingHttpHeaders = { ...headers };
  for (const name of HOP_HEADERS) delete copy[name];
  return copy;
}
