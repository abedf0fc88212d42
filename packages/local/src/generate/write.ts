/** Writes generated trips as trip_start.csv / trip_end.csv, streaming with backpressure. */
import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { END_COLUMNS, type GenerateOptions, generateTrips, START_COLUMNS } from "./trips.js";

export interface WrittenFiles {
  startFile: string;
  endFile: string;
  startRows: number;
  endRows: number;
}

/** RFC 4180 quoting, only where a cell needs it (as the real exports do). */
export function csvLine(cells: readonly string[]): string {
  return `${cells.map((cell) => (/[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell)).join(",")}\n`;
}

/** Gathers lines into ~64 KB writes and waits for the disk when the stream's buffer is full. */
class CsvFile {
  private readonly stream: WriteStream;
  private chunk = "";
  rows = 0;

  constructor(
    readonly path: string,
    header: readonly string[],
  ) {
    this.stream = createWriteStream(path);
    this.chunk = csvLine(header);
  }

  async add(cells: readonly string[]): Promise<void> {
    this.chunk += csvLine(cells);
    this.rows += 1;
    if (this.chunk.length >= 65_536) await this.flush();
  }

  private async flush(): Promise<void> {
    const chunk = this.chunk;
    this.chunk = "";
    if (!this.stream.write(chunk)) await once(this.stream, "drain");
  }

  async close(): Promise<void> {
    await this.flush();
    this.stream.end();
    await finished(this.stream);
  }
}

/** The names of the two files, as the real exports are named. */
export const TRIP_FILE_NAMES = { start: "trip_start.csv", end: "trip_end.csv" } as const;

export async function writeTripFiles(options: GenerateOptions & { outDir: string }): Promise<WrittenFiles> {
  await mkdir(options.outDir, { recursive: true });
  const files = {
    start: new CsvFile(join(options.outDir, TRIP_FILE_NAMES.start), START_COLUMNS),
    end: new CsvFile(join(options.outDir, TRIP_FILE_NAMES.end), END_COLUMNS),
  };
  // Duplicate copies land a few trips after the original: a small queue, whatever the file size.
  let copies: { due: number; file: CsvFile; cells: string[] }[] = [];
  try {
    for (const trip of generateTrips(options)) {
      for (const kind of ["start", "end"] as const) {
        const [first, ...rest] = trip[kind];
        if (first) await files[kind].add(first.cells);
        for (const copy of rest)
          copies.push({ due: trip.index + trip.duplicateLag, file: files[kind], cells: copy.cells });
      }
      const due = copies.filter((copy) => copy.due <= trip.index);
      if (due.length > 0) {
        copies = copies.filter((copy) => copy.due > trip.index);
        for (const copy of due) await copy.file.add(copy.cells);
      }
    }
    for (const copy of copies) await copy.file.add(copy.cells);
  } finally {
    await Promise.all([files.start.close(), files.end.close()]);
  }
  return { startFile: files.start.path, endFile: files.end.path, startRows: files.start.rows, endRows: files.end.rows };
}
