/**
 * The embedded Kinesis in a process of its own, for benchmarks: the emulator then gets its own
 * core instead of sharing the measured process's. Prints {"endpoint": URL} and serves until killed.
 */
import { startLocalKinesis } from "@trip-pipeline/local/kinesis";
import { parseCli, runWhenMain } from "./cli.js";
import { EXIT } from "./exit-codes.js";
import type { Help } from "./help.js";

const HELP: Help = {
  command: "node scripts/run.mjs local-kinesis-server",
  synopsis: [""],
  about:
    "The embedded Kinesis in a process of its own (for benchmarks): prints its endpoint as one JSON line and serves until killed.",
  options: [],
};

export const launch = runWhenMain(import.meta.url, HELP, async (argv) => {
  parseCli(argv, {});
  const server = await startLocalKinesis();
  process.stdout.write(`${JSON.stringify({ endpoint: server.endpoint })}\n`);
  process.on("SIGTERM", () => void server.close().then(() => process.exit(0)));
  return EXIT.done;
});
