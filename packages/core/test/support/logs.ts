/** A pino logger whose lines land in an array, for tests that assert what was logged. */
import pino from "pino";
import type { Logger } from "../../src/platform/logger.js";

export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: "debug", formatters: { level: (label) => ({ level: label }) } },
    { write: (line: string) => void lines.push(JSON.parse(line)) },
  );
  return { logger, lines };
}
