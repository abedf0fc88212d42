/**
 * The local CloudWatch: every log line of a function goes to `<dir>/<function>.jsonl`, as
 * CloudWatch keeps a log group per function; lines logged outside any invocation (the runner's
 * own) go to `<dir>/<logger name>.jsonl`. Warnings and errors are counted per file, and with
 * `pretty` every line is also written to stderr in a readable form.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { LogDestination } from "@trip-pipeline/core/platform/logger";
import pino, { type DestinationStream } from "pino";
import { currentFunction } from "./lambda.js";

export interface LocalLogsOptions {
  dir: string;
  /** Also write every line, pretty-printed, to this stream (the terminal's stderr). */
  pretty?: NodeJS.WritableStream;
}

/** pino's numeric-free level labels (createLogger formats levels as labels). */
const WARNING = /"level":"(warn|error|fatal)"/;

export class LocalLogs {
  /** Warnings and errors logged, by log name. */
  readonly warnings = new Map<string, number>();
  private readonly files = new Map<string, ReturnType<typeof pino.destination>>();

  constructor(private readonly options: LocalLogsOptions) {
    rmSync(options.dir, { recursive: true, force: true });
    mkdirSync(options.dir, { recursive: true });
  }

  /**
   * Where a logger given this destination writes: the file of the function whose invocation
   * creates it (handlers create theirs on their first call), else of its own name.
   */
  readonly destination: LogDestination = (loggerName) => this.file(currentFunction() ?? loggerName);

  /** Writes out what is buffered; call when the run ends. */
  flush(): void {
    for (const file of this.files.values()) file.flushSync();
  }

  pathOf(logName: string): string {
    return join(this.options.dir, `${logName}.jsonl`);
  }

  /** Names that logged something, with their warning counts (0 for none). */
  summary(): { name: string; warnings: number; path: string }[] {
    return [...this.files.keys()].map((name) => ({
      name,
      warnings: this.warnings.get(name) ?? 0,
      path: this.pathOf(name),
    }));
  }

  private file(logName: string): DestinationStream {
    let file = this.files.get(logName);
    if (!file) {
      // Buffered: a line costs a memory copy, not a system call; flushed when the run ends.
      file = pino.destination({ dest: this.pathOf(logName), sync: true, minLength: 4096 });
      this.files.set(logName, file);
      this.warnings.set(logName, 0);
    }
    const target = file;
    const pretty = this.options.pretty;
    return {
      write: (line: string) => {
        if (WARNING.test(line)) this.warnings.set(logName, (this.warnings.get(logName) ?? 0) + 1);
        if (pretty) pretty.write(prettyLine(logName, line));
        target.write(line);
      },
    };
  }
}

const HIDDEN = new Set(["level", "time", "service", "name", "msg", "hostname", "pid"]);

/** `10:37:02.123 WARN  matcher  anomaly trailed; raw items kept  trip_id=61fc… reason=…` */
export function prettyLine(logName: string, line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith("\n") ? line : `${line}\n`;
  }
  const time = typeof entry.time === "string" ? entry.time.slice(11, 23) : "";
  const level = String(entry.level ?? "")
    .toUpperCase()
    .padEnd(5);
  const fields = Object.entries(entry)
    .filter(([key]) => !HIDDEN.has(key))
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");
  return `${time} ${level} ${logName}  ${String(entry.msg ?? "")}${fields ? `  ${fields}` : ""}\n`;
}
