/**
 * Throttling for fault runs: which emulator calls answer ProvisionedThroughputExceededException.
 * Seeded, so a fault run can be repeated.
 */
import { mulberry32 } from "./generate/prng.js";

export interface ThrottleOptions {
  /** Fraction of data-plane requests answered with ProvisionedThroughputExceededException (or, for batch writes, partly unprocessed). */
  rate: number;
  seed: number;
}

/**
 * Decides which requests an emulator "throttles". Batch writes are throttled either whole or
 * item by item (as the real services do under partition pressure), so both the SDK's retry and
 * the callers' unprocessed-items retry are exercised.
 */
export class Throttle {
  private readonly random: () => number;
  private enabled = true;
  /** Requests answered with a throttling error, and batch items left unprocessed. */
  readonly counts = { requests: 0, items: 0 };

  constructor(private readonly options: ThrottleOptions) {
    this.random = mulberry32(options.seed);
  }

  /** Stops injecting (the local AWS does once the pipeline is drained, before the KPI job). */
  stop(): void {
    this.enabled = false;
  }

  /** "none", "request" (the whole call fails) or "items" (some items of a batch fail). */
  decide(batch: boolean): "none" | "request" | "items" {
    if (!this.enabled || this.random() >= this.options.rate) return "none";
    if (batch && this.random() < 0.5) return "items";
    this.counts.requests += 1;
    return "request";
  }

  /** Splits a batch's entries into kept and throttled; at least one of each when the batch has two or more. */
  split<T>(entries: readonly T[]): { kept: T[]; throttled: T[] } {
    const kept: T[] = [];
    const throttled: T[] = [];
    for (const entry of entries) (this.random() < 0.5 ? throttled : kept).push(entry);
    if (throttled.length === 0 && kept.length > 1) throttled.push(kept.pop()!);
    if (kept.length === 0 && throttled.length > 1) kept.push(throttled.shift()!);
    this.counts.items += throttled.length;
    return { kept, throttled };
  }
}
