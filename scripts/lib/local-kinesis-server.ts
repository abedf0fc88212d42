/**
 * The embedded Kinesis in a process of its own, for benchmarks: the emulator then gets its own
 * core instead of sharing the measured process's. Prints {"endpoint": URL} and serves until killed.
 */
import { startLocalKinesis } from "@trip-pipeline/local/kinesis";
import { runWhenMain } from "./cli.js";

export const launch = runWhenMain(import.meta.url, "usage: node scripts/run.mjs local-kinesis-server", async () => {
  const server = await startLocalKinesis();
  process.stdout.write(`${JSON.stringify({ endpoint: server.endpoint })}\n`);
  process.on("SIGTERM", () => void server.close().then(() => process.exit(0)));
  return 0;
});
