/**
 * Live KPI freshness: how long an end event takes from its PutRecord to the live KPIs, on the
 * local AWS with every consumer's deployed batching window (Kinesis 1 s, matcher 1 s,
 * aggregator 5 s). All starts go in first; then one end every 200 ms, and the day's live
 * trip_count is polled every 25 ms: the i-th end is fresh when the count reaches i (trips
 * complete in send order here, one end each, so the count names the trip).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { encodeWireEvent } from "@trip-pipeline/core/domain/events";
import { KinesisRecordSink } from "@trip-pipeline/core/ingest/sink";
import { tripCount } from "@trip-pipeline/core/kpi/registry";
import { isExpired, liveKpis } from "@trip-pipeline/core/live/live-kpis";
import { LocalAws } from "@trip-pipeline/local/runtime";
import { REPO_ROOT } from "../lib/cli.js";

const TRIPS = 60;
const END_EVERY_MS = 200;
const POLL_MS = 25;

export interface FreshnessBench {
  name: "live-kpis-freshness";
  trips: number;
  p50Seconds: number;
  p99Seconds: number;
  maxSeconds: number;
  summary: string;
}

export async function benchFreshness(): Promise<FreshnessBench> {
  const work = await mkdtemp(join(tmpdir(), "trip-fresh-"));
  process.env.LOG_LEVEL ??= "warn";
  const aws = await LocalAws.start({ root: work });
  try {
    await aws.startConsumers({ repoRoot: REPO_ROOT });
    const sink = new KinesisRecordSink(aws.kinesis, aws.streamName);
    const put = async (event: Parameters<typeof encodeWireEvent>[0]) => {
      const [outcome] = await sink.put([{ partitionKey: event.trip_id, data: Buffer.from(encodeWireEvent(event)) }]);
      if (!outcome?.ok) throw new Error(`put failed: ${outcome?.reason}`);
    };
    const pickup = (i: number) =>
      `2024-05-25 ${String(10 + Math.floor(i / 60)).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}:00`;
    for (let i = 0; i < TRIPS; i += 1)
      await put({
        event_type: "start",
        trip_id: `fresh-${i}`,
        pickup_datetime: pickup(i),
        estimated_fare_amount: "10",
      });
    await aws.drain();

    const sentAt: number[] = [];
    const freshAt: number[] = [];
    let sending = true;
    const poller = (async () => {
      while (sending || freshAt.length < TRIPS) {
        const kpi = await liveKpis(aws.db, aws.tableName, "2024-05-25", new Date());
        const now = performance.now();
        while (freshAt.length < Math.min(kpi && !isExpired(kpi) ? tripCount(kpi) : 0, sentAt.length)) freshAt.push(now);
        await sleep(POLL_MS);
      }
    })();
    for (let i = 0; i < TRIPS; i += 1) {
      sentAt.push(performance.now());
      await put({
        event_type: "end",
        trip_id: `fresh-${i}`,
        dropoff_datetime: "2024-05-25 23:00:00",
        fare_amount: `${i + 1}`,
      });
      await sleep(END_EVERY_MS);
    }
    sending = false;
    await poller;
    const latencies = freshAt.map((at, i) => (at - sentAt[i]!) / 1000).sort((a, b) => a - b);
    const quantile = (q: number) =>
      Math.round(latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)]! * 100) / 100;
    const result = { p50Seconds: quantile(0.5), p99Seconds: quantile(0.99), maxSeconds: quantile(1) };
    return {
      name: "live-kpis-freshness",
      trips: TRIPS,
      ...result,
      summary: `live KPI freshness (end event put -> live KPIs, deployed batching windows, ${TRIPS} trips, one end per ${END_EVERY_MS} ms): p50 ${result.p50Seconds} s, p99 ${result.p99Seconds} s`,
    };
  } finally {
    await aws.close();
    await rm(work, { recursive: true, force: true });
  }
}
