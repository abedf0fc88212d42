/** One JSON line per event on stderr-safe pino; the level comes from LOG_LEVEL (default info). */
import pino, { type DestinationStream, type Logger } from "pino";
import { APP_NAME } from "./app.js";

export type { DestinationStream, Logger };

/**
 * Where a runtime routes a logger's lines instead of stderr (the local runtime: one file per
 * function, as CloudWatch keeps one log group per function); undefined keeps stderr.
 */
export type LogDestination = (loggerName: string) => DestinationStream | undefined;

export function createLogger(
  name: string,
  bindings: Record<string, unknown> = {},
  destination?: LogDestination,
): Logger {
  return pino(
    {
      name,
      level: process.env.LOG_LEVEL ?? "info",
      base: { service: APP_NAME, ...bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination?.(name) ?? pino.destination({ fd: 2, sync: true }),
  );
}
