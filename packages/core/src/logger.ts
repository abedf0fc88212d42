/** One JSON line per event on stderr-safe pino; the level comes from LOG_LEVEL (default info). */
import pino, { type DestinationStream, type Logger } from "pino";
import { APP_NAME } from "./app.js";

export type { Logger };

/**
 * Where a process routes its log lines instead of stderr (the local runtime: one file per
 * function, as CloudWatch keeps one log group per function). A global symbol, so that every copy
 * of this module sees it: bundled handlers carry their own.
 */
const DESTINATION = Symbol.for("trip-pipeline.log-destination");
export type LogDestination = (loggerName: string) => DestinationStream | undefined;

export function setLogDestination(destination: LogDestination | undefined): void {
  (globalThis as Record<symbol, unknown>)[DESTINATION] = destination;
}

export function createLogger(name: string, bindings: Record<string, unknown> = {}): Logger {
  const routed = ((globalThis as Record<symbol, unknown>)[DESTINATION] as LogDestination | undefined)?.(name);
  return pino({
    name,
    level: process.env.LOG_LEVEL ?? "info",
    base: { service: APP_NAME, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, routed ?? pino.destination({ fd: 2, sync: true }));
}
