/**
 * Sets of stream sequence numbers kept as closed ranges: what the live KPI aggregator has applied
 * of one stream shard (see kpi-aggregator.ts). Sequence numbers are decimal text of up to ~40
 * digits, compared as big integers. Stored as text, `lo-hi,lo-hi` in ascending order, so an item
 * attribute holds a set of any size the item can.
 */
export type SequenceRange = readonly [lo: bigint, hi: bigint];

/** Parses the stored form; an empty or missing text is the empty set. Throws on anything else. */
export function parseRanges(text: string | undefined): SequenceRange[] {
  if (!text) return [];
  return text.split(",").map((part) => {
    const match = /^(\d+)-(\d+)$/.exec(part);
    if (!match) throw new Error(`not a sequence range: ${JSON.stringify(part)}`);
    const lo = BigInt(match[1]!);
    const hi = BigInt(match[2]!);
    if (lo > hi) throw new Error(`empty sequence range: ${part}`);
    return [lo, hi] as const;
  });
}

export function formatRanges(ranges: readonly SequenceRange[]): string {
  return ranges.map(([lo, hi]) => `${lo}-${hi}`).join(",");
}

export function covers(ranges: readonly SequenceRange[], sequence: bigint): boolean {
  return ranges.some(([lo, hi]) => lo <= sequence && sequence <= hi);
}

/** The union, ascending; overlapping ranges merge (sequence numbers are sparse: touching ones cannot be told apart from a gap). */
export function addRange(ranges: readonly SequenceRange[], added: SequenceRange): SequenceRange[] {
  // The sign of a bigint difference survives Number(), whatever its size.
  const sorted = [...ranges, added].sort(([a], [b]) => Number(a - b));
  const merged: [bigint, bigint][] = [];
  for (const [lo, hi] of sorted) {
    const last = merged.at(-1);
    if (!last || lo > last[1]) merged.push([lo, hi]);
    // Stryker disable next-line EqualityOperator: on equal ends either one is the end.
    else if (hi > last[1]) last[1] = hi;
  }
  return merged;
}

/** The smallest range holding every given sequence number. */
export function spanOf(sequences: readonly string[]): SequenceRange {
  if (sequences.length === 0) throw new Error("no sequence numbers");
  let lo = BigInt(sequences[0]!);
  let hi = lo;
  for (const text of sequences) {
    const value = BigInt(text);
    // Stryker disable next-line EqualityOperator: replacing a bound by an equal value changes nothing.
    if (value < lo) lo = value;
    // Stryker disable next-line EqualityOperator: replacing a bound by an equal value changes nothing.
    if (value > hi) hi = value;
  }
  return [lo, hi];
}
