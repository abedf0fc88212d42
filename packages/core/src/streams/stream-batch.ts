/**
 * What Lambda hands a stream consumer beyond its records, and how it reads the answer: one
 * definition for the local event-source mappings and for redrive, which must both behave as
 * Lambda does.
 */

/** The fields Lambda adds to the event of a stream mapping with a tumbling window. */
export interface TumblingWindowFields {
  shardId: string;
  eventSourceARN: string;
  window: { start: string; end: string };
  state: Record<string, string>;
  isFinalInvokeForWindow: boolean;
  isWindowTerminatedEarly: boolean;
}

/** A batch's window fields as an ordinary (not closing) invocation carries them. */
export function windowFields(shardId: string, eventSourceARN: string, start: Date, end: Date): TumblingWindowFields {
  return {
    shardId,
    eventSourceARN,
    window: { start: start.toISOString(), end: end.toISOString() },
    state: {},
    isFinalInvokeForWindow: false,
    isWindowTerminatedEarly: false,
  };
}

/**
 * Lambda's reading of a response under ReportBatchItemFailures: `ok` when the batch went
 * through (no failures, an empty or null list); otherwise `retryFrom`, the lowest reported
 * sequence number, or undefined when the whole batch failed (an empty, unknown or missing
 * itemIdentifier).
 */
const DECIMAL = /^\d+$/;

export type BatchVerdict = { ok: true } | { ok: false; retryFrom: bigint | undefined };

export function batchVerdict(response: unknown, sequenceNumbers: readonly (string | undefined)[]): BatchVerdict {
  const failures = (response as { batchItemFailures?: unknown } | null | undefined)?.batchItemFailures;
  if (failures === undefined || failures === null || (Array.isArray(failures) && failures.length === 0))
    return { ok: true };
  const known = new Set(sequenceNumbers);
  const reported = Array.isArray(failures)
    ? failures.map((failure) => (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier)
    : [undefined];
  if (reported.some((id) => typeof id !== "string" || !known.has(id) || !DECIMAL.test(id)))
    return { ok: false, retryFrom: undefined };
  // biome-ignore lint/complexity/useMathMinMax: bigints, which Math.min does not take
  return { ok: false, retryFrom: (reported as string[]).map(BigInt).reduce((min, n) => (n < min ? n : min)) };
}

/**
 * The records Lambda delivers again after a failure: those at or after `retryFrom` by sequence
 * number (records processed more than once may come in another order, so array position says
 * nothing); every record when the whole batch failed.
 */
export function retriedRecords<T>(
  records: readonly T[],
  sequenceNumberOf: (record: T) => string | undefined,
  retryFrom: bigint | undefined,
): T[] {
  if (retryFrom === undefined) return [...records];
  return records.filter((record) => {
    const sequenceNumber = sequenceNumberOf(record);
    // A record whose sequence number cannot be read is kept: losing it would be silent.
    return sequenceNumber === undefined || !DECIMAL.test(sequenceNumber) || BigInt(sequenceNumber) >= retryFrom;
  });
}

/** Sequence numbers are decimal strings of up to ~40 digits: compared as integers, never as text or doubles. */
export function compareSequenceNumbers(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
