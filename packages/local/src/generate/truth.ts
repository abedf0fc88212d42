/**
 * What the pipeline must make of generated files, derived from the trip model rather than by
 * reading the files back: end-to-end tests compare the pipeline's output with it.
 */
import type { ReasonCode } from "@trip-pipeline/core/domain/events";
import { type DailyKpi, DailyTotals } from "@trip-pipeline/core/kpi/daily-kpis";
import { type GeneratedRow, type GenerateOptions, generateTrips } from "./trips.js";

export interface FileTruth {
  rows: number;
  valid: number;
  rejected: number;
  reasons: Partial<Record<ReasonCode, number>>;
}

export interface GroundTruth {
  files: { start: FileTruth; end: FileTruth };
  /** Distinct trips by outcome: pending has a valid start or a valid end but not both. */
  trips: { completed: number; pending: number; anomalies: number };
  kpis: DailyKpi[];
}

function countRows(file: FileTruth, rows: readonly GeneratedRow[]): boolean {
  for (const { reason } of rows) {
    file.rows += 1;
    if (reason) {
      file.rejected += 1;
      file.reasons[reason] = (file.reasons[reason] ?? 0) + 1;
    } else file.valid += 1;
  }
  return rows.some((row) => !row.reason);
}

/** Folds each completed trip into its day as it is generated (each trip id once): a million trips fit. */
export function groundTruth(options: GenerateOptions): GroundTruth {
  const empty = (): FileTruth => ({ rows: 0, valid: 0, rejected: 0, reasons: {} });
  const truth: GroundTruth = {
    files: { start: empty(), end: empty() },
    trips: { completed: 0, pending: 0, anomalies: 0 },
    kpis: [],
  };
  const kpis = new DailyTotals();
  for (const trip of generateTrips(options)) {
    const started = countRows(truth.files.start, trip.start);
    const ended = countRows(truth.files.end, trip.end);
    if (started && ended) {
      if (trip.dropoff_datetime < trip.pickup_datetime) truth.trips.anomalies += 1;
      else {
        truth.trips.completed += 1;
        kpis.add({ ...trip.columns, ...trip });
      }
    } else if (started || ended) truth.trips.pending += 1;
  }
  truth.kpis = kpis.results();
  return truth;
}
