/** One JSON line per event on stderr-safe pino; the level comes from LOG_LEVEL (default info). */
import pino, { type Logger } from "pino";
import { APP_NAME } from "./app.js";

export type { Logger };

export function createLogger(name: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    name,
    level: process.env.LOG_LEVEL ?? "info",
    base: { service: APP_NAME, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, pino.destination({ fd: 2, sync: true }));
}
