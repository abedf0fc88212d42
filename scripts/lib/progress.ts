/** One-line progress on a terminal (a bar with percent, rows/s, ETA, or a status text); silent anywhere else. */
export interface ProgressFigures {
  rows: number;
  bytesRead: number;
  totalBytes: number;
}

export interface ProgressBar {
  update(figures: ProgressFigures): void;
  done(): void;
}

const WIDTH = 24;
const REDRAW_MS = 100;

export function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function formatProgress({ rows, bytesRead, totalBytes }: ProgressFigures, elapsedMs: number): string {
  const fraction = totalBytes > 0 ? Math.min(1, bytesRead / totalBytes) : 1;
  const seconds = elapsedMs / 1000;
  const filled = Math.round(fraction * WIDTH);
  const eta = fraction > 0 ? (seconds / fraction) * (1 - fraction) : Number.NaN;
  const rate = seconds > 0 ? Math.round(rows / seconds) : 0;
  return `[${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}] ${(fraction * 100).toFixed(1)}% ${rows.toLocaleString("en-US")} rows ${rate.toLocaleString("en-US")} rows/s ETA ${clock(eta)}`;
}

export interface StatusLine {
  show(text: string): void;
  done(): void;
}

/** One line redrawn in place. */
export function createStatusLine(out: NodeJS.WriteStream, enabled: boolean): StatusLine {
  if (!enabled) return { show: () => {}, done: () => {} };
  return {
    // Back to column 0 after drawing: a log line written meanwhile overwrites the line instead of
    // trailing it. Cut to the terminal's width: a wrapped line could not be redrawn in place.
    show: (text) => out.write(`\x1b[2K${text.slice(0, (out.columns || 120) - 1)}\r`),
    done: () => out.write("\x1b[2K\r"),
  };
}

export function createProgressBar(
  out: NodeJS.WriteStream,
  enabled: boolean,
  now: () => number = Date.now,
): ProgressBar {
  if (!enabled) return { update: () => {}, done: () => {} };
  const line = createStatusLine(out, true);
  const started = now();
  let drawn = Number.NEGATIVE_INFINITY;
  return {
    update(figures) {
      const time = now();
      if (time - drawn < REDRAW_MS && figures.bytesRead < figures.totalBytes) return;
      drawn = time;
      line.show(formatProgress(figures, time - started));
    },
    done: line.done,
  };
}
